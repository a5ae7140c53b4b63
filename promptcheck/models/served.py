"""The served backend: score choices through an OpenAI-compatible ``/v1/completions`` server.

A model too big for one machine is gated through the engine a team already runs (vLLM),
not through a home-made cluster. Each (context, continuation) becomes one request for
``context + continuation`` with ``echo=True, logprobs=0, max_tokens=0``: the server
tokenizes the text and returns the log-probability of every prompt token, and the
continuation's score is the sum over its tokens. vLLM answers this; so does
llama-cpp-python's server (with ``max_tokens=1``: it reads 0 as "no limit");
llama.cpp's own ``llama-server`` does not return prompt log-probabilities and is refused
with a message that says so.

Token boundaries follow the in-process backend's rule (the tail after the longest common
prefix with the context's own tokens) by characters: a continuation's tokens are the
echoed prompt tokens that end after the context's last character, so a token merging the
context's last character with the answer belongs to the answer, as in
:mod:`promptcheck.models.hf`.

The chat template is rendered here, not by the server (``/v1/completions`` takes raw text):
from a local tokenizer named by ``tokenizer`` (a folder, a hub id or ``default``), exactly
as the in-process backend renders it. Without one, prompts are raw text.

Free-form answers (:meth:`ServedScorer.generate`) go through the same endpoint: one request
per distinct :class:`~promptcheck.models.base.GenerationRequest`, ``prompt`` = its context,
``max_tokens``, ``stop`` and ``temperature: 0`` (greedy), on the same queue, concurrency and
retries as scoring.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from promptcheck.errors import ModelLoadError, ScoringError
from promptcheck.models.base import (
    ChoiceScores,
    Generation,
    GenerationRequest,
    ModelIdentity,
    ProgressCallback,
    first_stop,
)
from promptcheck.models.served_client import Endpoint, RequestFailed, RetryPolicy, get_json, run_requests, run_sync
from promptcheck.prompts.rendering import Prompt

#: Keys of a ``/v1/models`` entry that describe the model rather than this moment (vLLM's
#: ``created`` and ``permission`` ids change on every call; llama.cpp's ``meta`` holds sizes).
_STABLE_MODEL_KEYS = ("id", "root", "parent", "owned_by", "max_model_len", "meta")


def is_url(name: str) -> bool:
    """True when ``--model`` names served endpoints (``http://host:port/v1[,http://...]``)."""
    return name.strip().lower().startswith(("http://", "https://"))


def parse_endpoints(spec: str) -> list[str]:
    """``URL1,URL2`` -> URLs ending in ``/v1`` (added when missing), duplicates dropped in order."""
    urls: list[str] = []
    for part in spec.split(","):
        url = part.strip().rstrip("/")
        if not url:
            continue
        if not is_url(url):
            raise ModelLoadError(f"not an http(s) URL: {url!r}", field="model")
        if not url.endswith("/v1"):
            url += "/v1"
        if url not in urls:
            urls.append(url)
    if not urls:
        raise ModelLoadError("no endpoint URL given", field="model")
    return urls


@dataclass(frozen=True)
class _Request:
    """One distinct text to echo and which (prompt, choice) cells it scores."""

    context: str
    continuation: str
    cells: tuple[tuple[int, int], ...]


def continuation_logprob(body: dict[str, Any], context: str, continuation: str, url: str) -> tuple[float, int]:
    """Sum the echoed prompt-token log-probabilities that belong to ``continuation``.

    A prompt token belongs to the continuation when it ends after ``len(context)``, counting
    token text back from the end of ``context + continuation``. Raises :class:`ScoringError` when the answer has no prompt
    log-probabilities (the server ignores ``echo``) or they are unusable.
    """
    try:
        choice = body["choices"][0]
        lp = choice.get("logprobs") or {}
        tokens: list[str] = lp.get("tokens") or []
        values: list[float | None] = lp.get("token_logprobs") or []
    except (KeyError, IndexError, TypeError, AttributeError):
        raise ScoringError(f"{url} sent a completion without choices/logprobs", field="model") from None
    text = context + continuation
    n_prompt = _prompt_token_count(body, tokens, values, text)
    if n_prompt is None:
        raise ScoringError(
            f"{url} does not return prompt log-probabilities (echo=true with logprobs on "
            "/v1/completions); vLLM and llama-cpp-python's server do, llama.cpp's llama-server "
            "does not",
            field="model",
        )
    tokens, values = tokens[:n_prompt], values[:n_prompt]
    # Count token text back from the end: a BOS the server adds (and offsets that count it)
    # cannot shift the boundary, and only the continuation's own characters need to match.
    ends, pos = [0] * n_prompt, len(text)
    for i in range(n_prompt - 1, -1, -1):
        ends[i] = pos
        pos -= len(tokens[i])
    cut = len(context)
    picked = [i for i in range(n_prompt) if ends[i] > cut]
    if not picked:
        raise ScoringError(f"{continuation!r} adds no tokens after the prompt", field="prompt")
    total = 0.0
    for i in picked:
        value = values[i]
        if value is None:
            raise ScoringError("empty prompt: the first token has no log-probability", field="prompt")
        if not math.isfinite(value):
            raise ScoringError(f"non-finite log-probability ({value}) from {url}: {text[-80:]!r}", field="prompt")
        total += float(value)
    return total, len(picked)


def completion_generation(body: dict[str, Any], request: GenerationRequest, url: str) -> Generation:
    """A ``/v1/completions`` answer as a :class:`Generation`.

    ``finish_reason`` "length" is "length". "stop" means a stop string *or* the end-of-sequence
    token in the OpenAI API; vLLM's ``stop_reason`` tells them apart (the stop string; None or a
    token id for EOS). A server that sends no ``stop_reason`` gets "stop" when the request had
    stop strings and "eos" otherwise. A stop string still in the text (a server that ignored
    ``stop``) is cut here, so every backend's text ends before its earliest stop.
    """
    try:
        choice = body["choices"][0]
        text = choice["text"]
        reason = choice.get("finish_reason")
    except (KeyError, IndexError, TypeError, AttributeError):
        raise ScoringError(f"{url} sent a completion without choices/text", field="model") from None
    if not isinstance(text, str):
        raise ScoringError(f"{url} sent a completion whose text is {type(text).__name__}", field="model")
    cut = first_stop(text, request.stop)
    if cut is not None:
        return Generation(text[:cut], "stop")
    if reason == "length":
        return Generation(text, "length")
    if reason == "stop":
        if "stop_reason" in choice:
            return Generation(text, "stop" if isinstance(choice["stop_reason"], str) else "eos")
        return Generation(text, "stop" if request.stop else "eos")
    raise ScoringError(f"{url} ended a completion with finish_reason {reason!r}", field="model")


def _prompt_token_count(body: dict[str, Any], tokens: list[str], values: list, text: str) -> int | None:
    """How many logprob entries are the prompt's, or None when the server returned none of them."""
    if not tokens or len(values) != len(tokens):
        return None
    usage = body.get("usage") or {}
    n = usage.get("prompt_tokens")
    if isinstance(n, int) and 0 < n <= len(tokens):
        return n
    # No usage: the echoed tokens are the prompt's when their text covers it.
    covered = 0
    for i, tok in enumerate(tokens):
        covered += len(tok)
        if covered >= len(text):
            return i + 1
    return None


class ServedScorer:
    """A model behind one or more OpenAI-compatible servers, as a :class:`~promptcheck.models.base.Scorer`.

    ``endpoints`` are data-parallel replicas of one model; ``max_concurrency`` requests are in
    flight per endpoint; ``chat_template`` (a callable from a local tokenizer) renders the
    prompt text. Scores equal the in-process backend's up to the server's arithmetic (tests:
    1e-3 absolute per choice on vLLM's CPU build serving the same weights).

    >>> scorer = load_model("http://127.0.0.1:8000/v1", served_model="llama-70b")  # doctest: +SKIP
    """

    def __init__(
        self,
        urls: Sequence[str],
        *,
        served_model: str | None = None,
        api_key: str | None = None,
        max_concurrency: int = 8,
        policy: RetryPolicy | None = None,
        chat_template: Callable[[str], str] | None = None,
        transport: Any = None,
    ) -> None:
        self.endpoints = [Endpoint(u, {"Authorization": f"Bearer {api_key}"} if api_key else {}) for u in urls]
        self.max_concurrency = max(1, int(max_concurrency))
        # The score cache stores every this many prompts: enough to keep every connection busy,
        # few enough that a server dying mid-run loses little.
        self.cache_chunk = 4 * self.max_concurrency * len(self.endpoints)
        self.policy = policy or RetryPolicy()
        self._chat = chat_template
        self.use_chat_template = chat_template is not None
        self._transport = transport
        entries = run_sync(lambda: self._models())
        self.served_model, entry = self._pick_model(entries, served_model)
        # vLLM echoes the prompt alone with max_tokens=0; llama-cpp-python reads 0 as "until the
        # context is full", so other servers generate one token, which is not counted.
        self.max_tokens = 0 if entry.get("owned_by") == "vllm" else 1
        self.identity = self._identity(entry)

    # -- start-up ------------------------------------------------------------------------------
    async def _models(self) -> list[list[dict[str, Any]]]:
        import httpx

        quick = RetryPolicy(retries=0, timeout=min(self.policy.timeout, 30.0))
        found = []
        async with httpx.AsyncClient(transport=self._transport, trust_env=False) as client:
            for e in self.endpoints:
                try:
                    body = await get_json(client, e, "models", quick)
                except RequestFailed as exc:
                    raise ModelLoadError(f"{e.url}/models answered {exc.status}: {exc.detail}", field="model") from None
                except httpx.TransportError as exc:
                    what = "connection refused" if isinstance(exc, httpx.ConnectError) else type(exc).__name__
                    raise ModelLoadError(f"cannot reach the model server at {e.url} ({what})", field="model") from None
                data = body.get("data") if isinstance(body, dict) else None
                if not isinstance(data, list) or not data:
                    raise ModelLoadError(f"{e.url}/models lists no model", field="model")
                found.append([d for d in data if isinstance(d, dict)])
        return found

    def _pick_model(self, entries: list[list[dict[str, Any]]], wanted: str | None) -> tuple[str, dict[str, Any]]:
        chosen: list[dict[str, Any]] = []
        for e, models in zip(self.endpoints, entries):
            ids = [str(m.get("id")) for m in models]
            if wanted is None:
                if len(ids) != 1:
                    raise ModelLoadError(
                        f"{e.url} serves {len(ids)} models ({', '.join(ids)}); pick one with --served-model",
                        field="served_model",
                    )
                pick = models[0]
            else:
                matches = [m for m in models if str(m.get("id")) == wanted]
                if not matches:
                    raise ModelLoadError(
                        f"{e.url} does not serve {wanted!r} (it serves {', '.join(ids)})", field="served_model"
                    )
                pick = matches[0]
            chosen.append({k: pick.get(k) for k in _STABLE_MODEL_KEYS if pick.get(k) is not None})
        first = chosen[0]
        for e, c in zip(self.endpoints[1:], chosen[1:]):
            if c != first:
                raise ModelLoadError(
                    f"{e.url} serves a different model than {self.endpoints[0].url} "
                    f"({json.dumps(c, sort_keys=True)} vs {json.dumps(first, sort_keys=True)})",
                    field="model",
                )
        return str(first["id"]), first

    def _identity(self, entry: dict[str, Any]) -> ModelIdentity:
        """What the server says it serves, hashed; endpoint URLs are left out on purpose.

        Replicas, and the same deployment after a restart on another port, share one identity,
        so a score cache keyed on it resumes across them.
        """
        fingerprint = hashlib.sha256(json.dumps(entry, sort_keys=True).encode()).hexdigest()
        return ModelIdentity(
            id=self.served_model,
            revision=None,
            weights_hash=fingerprint,  # a fingerprint of /v1/models, not of weight files: the server holds those
            dtype="served",
            device="served",
            architecture=f"served:{entry.get('owned_by') or 'openai-compatible'}",
        )

    # -- Scorer protocol -----------------------------------------------------------------------
    def chat_formatter(self) -> Callable[[str], str] | None:
        return self._chat

    def _requests(self, prompts: Sequence[Prompt]) -> list[_Request]:
        cells: dict[tuple[str, str], list[tuple[int, int]]] = {}
        for p, prompt in enumerate(prompts):
            for k, cont in enumerate(prompt.continuations):
                cells.setdefault((prompt.context, cont), []).append((p, k))
        return [_Request(ctx, cont, tuple(c)) for (ctx, cont), c in cells.items()]

    def _payload(self, req: _Request) -> dict[str, Any]:
        return {
            "model": self.served_model,
            "prompt": req.context + req.continuation,
            "echo": True,
            "logprobs": 0,
            "max_tokens": self.max_tokens,
            "temperature": 0.0,
        }

    def score(self, prompts: Sequence[Prompt], *, progress: ProgressCallback | None = None) -> list[ChoiceScores]:
        """Score every continuation; one request per distinct context + continuation text."""
        requests = self._requests(prompts)
        logprobs = [[math.nan] * len(p.continuations) for p in prompts]
        ntokens = [[0] * len(p.continuations) for p in prompts]
        remaining = [len(p.continuations) for p in prompts]

        def on_result(i: int, body: dict[str, Any], url: str) -> None:
            req = requests[i]
            try:
                value, n = continuation_logprob(body, req.context, req.continuation, url)
            except ScoringError as exc:
                if exc.field == "prompt":  # evaluate() turns "prompt N" into the item's id and file
                    exc.field = f"prompt {req.cells[0][0]}"
                raise
            done = 0
            for p, k in req.cells:
                logprobs[p][k], ntokens[p][k] = value, n
                remaining[p] -= 1
                done += remaining[p] == 0
            if progress is not None and done:
                progress(done)

        payloads = [self._payload(r) for r in requests]
        run_sync(
            lambda: run_requests(
                payloads,
                self.endpoints,
                path="completions",
                on_result=on_result,
                max_concurrency=self.max_concurrency,
                policy=self.policy,
                transport=self._transport,
            )
        )
        return [
            ChoiceScores(logprobs=tuple(lp), n_tokens=tuple(nt), n_chars=tuple(len(c.strip()) for c in p.continuations))
            for lp, nt, p in zip(logprobs, ntokens, prompts)
        ]

    # -- Generates capability ------------------------------------------------------------------
    def _generation_payload(self, request: GenerationRequest) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "model": self.served_model,
            "prompt": request.context,
            "max_tokens": request.max_new_tokens,
            "temperature": 0.0,
        }
        if request.stop:
            payload["stop"] = list(request.stop)
        return payload

    def generate(
        self, requests: Sequence[GenerationRequest], *, progress: ProgressCallback | None = None
    ) -> list[Generation]:
        """Greedy answers through ``/v1/completions``, in request order; each distinct request is sent once."""
        requests = list(requests)
        first: dict[GenerationRequest, int] = {}
        copies: dict[GenerationRequest, int] = {}
        for i, r in enumerate(requests):
            if not isinstance(r, GenerationRequest):
                raise ScoringError(f"expected a GenerationRequest, not {type(r).__name__}", field=f"request {i}")
            first.setdefault(r, i)
            copies[r] = copies.get(r, 0) + 1
        distinct = list(first)
        answers: dict[GenerationRequest, Generation] = {}

        def on_result(i: int, body: dict[str, Any], url: str) -> None:
            request = distinct[i]
            answers[request] = completion_generation(body, request, url)
            if progress is not None:
                progress(copies[request])

        payloads = [self._generation_payload(r) for r in distinct]
        run_sync(
            lambda: run_requests(
                payloads,
                self.endpoints,
                path="completions",
                on_result=on_result,
                max_concurrency=self.max_concurrency,
                policy=self.policy,
                transport=self._transport,
            )
        )
        return [answers[r] for r in requests]
