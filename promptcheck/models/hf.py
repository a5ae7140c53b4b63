"""The transformers backend: batched log-probabilities of answer continuations, and greedy answers.

Causal LMs score ``context + continuation`` in one sequence; seq2seq models (T5 family)
encode the context and score the continuation on the decoder side. When every choice is a
single token after the same context (answer letters), one forward pass gives all of them.
Free-form answers (:meth:`HFScorer.generate`) are greedy ``model.generate`` calls on
left-padded batches, tokenized as scoring tokenizes a context.

Which sequences run in which pass (token boundaries, units, batches, context groups) is
decided without torch in :mod:`promptcheck.models.planning`; this module runs the passes.
"""

from __future__ import annotations

import copy
import inspect
import math
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from promptcheck.errors import ScoringError
from promptcheck.models import planning
from promptcheck.models.base import (
    ChoiceScores,
    Generation,
    GenerationRequest,
    ModelIdentity,
    ProgressCallback,
    first_stop,
)
from promptcheck.models.memory import DEFAULT_BUDGET, bytes_per_token, is_out_of_memory
from promptcheck.models.planning import Group, Span, Unit
from promptcheck.prompts.rendering import Prompt, chat_template_text


@dataclass
class Prefix:
    """Keys/values of the tokens every unit of a call starts with, computed once."""

    length: int  # prompt tokens covered
    cache: Any
    cached_tokens: int  # length plus any soft-prompt virtual tokens in front


#: Sequences per forward pass unless the caller says otherwise (see docs/performance.md).
AUTO_BATCH_ROWS = 16

#: Seed set (in a forked RNG, the caller's state untouched) around every ``generate`` call.
#: Greedy decoding draws no random numbers; the seed only makes that a guarantee.
GENERATION_SEED = 0


class _StopWhen:
    """A transformers stopping criterion, per row: its own ``max_new_tokens`` and stop strings.

    Rows of one batch may ask for different limits and stops; ``generate`` runs to the largest
    limit and pads the rows this marks done. A row is done once its generated text (decoded as
    the final answer is) holds one of its stop strings, or it has its ``max_new_tokens``.
    """

    def __init__(
        self, decode: Callable[[list[int]], str], start: int, limits: list[int], stops: list[tuple[str, ...]]
    ) -> None:
        self.decode, self.start, self.limits, self.stops = decode, start, limits, stops
        self.stopped = [False] * len(limits)

    def __call__(self, input_ids: torch.Tensor, scores: Any, **kwargs: Any) -> torch.Tensor:
        made = input_ids.shape[1] - self.start
        for row, (limit, stop) in enumerate(zip(self.limits, self.stops)):
            if stop and not self.stopped[row] and made <= limit:
                text = self.decode(input_ids[row, self.start :].tolist())
                self.stopped[row] = first_stop(text, stop) is not None
        done = [s or made >= limit for s, limit in zip(self.stopped, self.limits)]
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)


class HFScorer:
    """A transformers model and tokenizer behind the :class:`~promptcheck.models.base.Scorer` protocol.

    ``use_chat_template``: ``None`` uses the tokenizer's chat template when it has one.
    ``batch_size`` caps sequences per forward pass (default :data:`AUTO_BATCH_ROWS`);
    ``batch_tokens`` caps padded tokens per pass and defaults to what fits ``max_memory``
    bytes (default 2 GiB, fixed so batches repeat exactly) by :func:`~promptcheck.models.memory.bytes_per_token`.
    Neither changes results (padding never changes a score; tests check batch sizes 1 and
    many agree to 1e-4). Running out of memory anyway halves the batch and retries.

    Besides ``Scorer`` it has every optional capability of :mod:`promptcheck.models.base`
    (token counts, fingerprint, batch settings, hidden states); the planning seams
    (:meth:`units`, :meth:`batches`, :meth:`context_groups`, :meth:`shared_prefix`) are public
    so tests and benchmarks can check a plan without reaching inside.
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        identity: ModelIdentity,
        *,
        use_chat_template: bool | None = None,
        batch_size: int | None = None,
        batch_tokens: int | None = None,
        max_memory: int | None = None,
        share_prefix: bool = True,
        min_prefix: int = 4,
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.identity = identity
        self.is_seq2seq = bool(getattr(model.config, "is_encoder_decoder", False))
        has_template = bool(getattr(tokenizer, "chat_template", None))
        self.use_chat_template = has_template if use_chat_template is None else use_chat_template
        if self.use_chat_template and not has_template:
            raise ScoringError(f"the tokenizer of {identity.id} has no chat template", field="chat_template")
        self.device = next(model.parameters()).device
        # Memory sets the padded tokens per pass; rows are capped too, since on a CPU very wide
        # batches stop paying off and on a GPU they are bounded by the tokens anyway.
        self.max_memory = max_memory or DEFAULT_BUDGET
        dtype_bytes = next(model.parameters()).element_size()
        per_token = bytes_per_token(model.config, dtype_bytes)
        self.batch_size = max(1, int(batch_size or AUTO_BATCH_ROWS))
        self.batch_tokens = max(1, int(batch_tokens or min(self.max_memory // per_token, 1 << 16)))
        self.oom_halvings = 0
        self.share_prefix = share_prefix
        self.min_prefix = min_prefix
        get_base = getattr(model, "get_base_model", None)
        # A peft model prepends its soft prompt on every call; the suffix after a cached prefix
        # (which already holds the soft prompt) must go straight to the base model.
        self._base = get_base() if callable(get_base) else model
        # transformers 5.x renamed past_key_values to cache; older releases only know the old name.
        self._cache_kw = "cache" if "cache" in inspect.signature(self._base.forward).parameters else "past_key_values"
        self.max_length = self._max_length()
        self._virtual_tokens = self._prompt_learning_tokens()
        if tokenizer.pad_token_id is None:
            # Padding is masked out, so any id will do; prefer EOS so decoded text stays clean.
            tokenizer.pad_token = tokenizer.eos_token or tokenizer.convert_ids_to_tokens(0)

    # -- prompt text ---------------------------------------------------------------------------
    def chat_formatter(self) -> Callable[[str], str] | None:
        if not self.use_chat_template:
            return None

        def fmt(user_text: str, system: str | None = None) -> str:
            return chat_template_text(self.tokenizer, user_text, system)

        return fmt

    def fingerprint(self) -> dict[str, str]:
        """What besides the weights decides this scorer's numbers: config and tokenizer (for the score cache)."""
        import hashlib

        config = self.model.config.to_json_string(use_diff=False)
        backend = getattr(self.tokenizer, "backend_tokenizer", None)
        vocab = backend.to_str() if backend is not None else repr(sorted(self.tokenizer.get_vocab().items()))
        return {
            "class": type(self).__name__,
            "config": hashlib.sha256(config.encode()).hexdigest(),
            "tokenizer": hashlib.sha256(vocab.encode()).hexdigest(),
            "special_tokens": repr(sorted(self.tokenizer.special_tokens_map.items())),
        }

    def _prompt_learning_tokens(self) -> int:
        """Virtual tokens a peft prompt-tuning adapter prepends to a causal model's logits."""
        peft_config = getattr(self.model, "peft_config", None)
        if not peft_config or self.is_seq2seq:
            return 0
        cfg = peft_config[getattr(self.model, "active_adapter", "default")]
        return int(cfg.num_virtual_tokens) if getattr(cfg, "is_prompt_learning", False) else 0

    def _max_length(self) -> int | None:
        for attr in ("max_position_embeddings", "n_positions", "max_sequence_length"):
            value = getattr(self.model.config, attr, None)
            if isinstance(value, int) and value > 0:
                return value
        return None

    def prompt_lengths(self, prompts: Sequence[Prompt]) -> list[int]:
        """Tokens each prompt needs in the model's context (the longest choice for causal models)."""
        if self.is_seq2seq:
            return [len(self._encode(p.context, special=True)) for p in prompts]
        return [max(len(self._encode(p.context + c, special=self._special)) for c in p.continuations) for p in prompts]

    def _encode(self, text: str, special: bool) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=special)["input_ids"])

    @property
    def _special(self) -> bool:
        """Whether a causal context gets the tokenizer's special tokens: not after a chat template,
        whose text already holds them. Encoder inputs always get them."""
        return self.is_seq2seq or not self.use_chat_template

    # -- planning (torch-free rules in promptcheck.models.planning) ------------------------------
    def units(self, prompts: Sequence[Prompt]) -> list[Unit]:
        """The distinct model inputs of a request and the continuation spans read from each."""
        if self.is_seq2seq:
            start = self.model.config.decoder_start_token_id
            return planning.seq2seq_units(
                prompts,
                self._encode,
                max_length=self.max_length,
                decoder_start=start if start is not None else self.tokenizer.pad_token_id,
            )
        return planning.causal_units(
            prompts, self._encode, special=self._special, bos=self.tokenizer.bos_token_id, max_length=self.max_length
        )

    def batches(self, units: list[Unit]) -> list[list[Unit]]:
        """Units in forward passes within this scorer's row and token budget (longest first)."""
        return planning.batches(units, batch_size=self.batch_size, batch_tokens=self.batch_tokens)

    def context_groups(self, units: list[Unit], offset: int) -> tuple[list[Group], list[Unit]]:
        """Units whose prompt's context can run once (see :func:`planning.context_groups`), and the rest."""
        return planning.context_groups(units, offset)

    def shared_prefix(self, units: list[Unit]) -> Prefix | None:
        """Run the tokens every unit starts with once (chat header + instruction) and keep its cache.

        Only positions before every span's first scored position can be shared, since the
        logits of a cached position are not recomputed.
        """
        if self.is_seq2seq or len(units) < 2 or not self.share_prefix:
            return None
        length = planning.shared_prefix_length(units)
        if length < self.min_prefix:
            return None
        ids = torch.tensor([units[0].ids[:length]], dtype=torch.long, device=self.device)
        out = self.model(input_ids=ids, attention_mask=torch.ones_like(ids), use_cache=True)
        cache = out["cache"] if "cache" in out else out["past_key_values"]
        return Prefix(length=length, cache=cache, cached_tokens=length + self._virtual_tokens)

    # -- forward passes ------------------------------------------------------------------------
    @staticmethod
    def _pad(rows: list[tuple[int, ...]], pad: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        width = max(len(r) for r in rows)
        ids = torch.full((len(rows), width), pad, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, r in enumerate(rows):
            ids[i, : len(r)] = torch.tensor(r, dtype=torch.long)
            mask[i, : len(r)] = 1
        return ids.to(device), mask.to(device)

    def _forward(self, batch: list[Unit], prefix: Prefix | None) -> tuple[torch.Tensor, dict[int, int]]:
        """Logits for the positions the batch's spans read, and a map position -> logits column.

        With a shared prefix, its cached keys/values are repeated over the batch and only the
        suffixes run; positions stay absolute (the map hides the offset).
        """
        pad = self.tokenizer.pad_token_id
        offset = prefix.length if prefix is not None else 0
        needed = sorted({span.start + i - offset for u in batch for span in u.spans for i in range(len(span.targets))})
        ids, mask = self._pad([u.ids[offset:] for u in batch], pad, self.device)
        if self.is_seq2seq:
            dec, dec_mask = self._pad([u.decoder_ids for u in batch], pad, self.device)
            out = self.model(
                input_ids=ids,
                attention_mask=mask,
                decoder_input_ids=dec,
                decoder_attention_mask=dec_mask,
                use_cache=False,
            )
            return out.logits, {p: p for p in range(out.logits.shape[1])}
        keep = torch.tensor(needed, dtype=torch.long, device=self.device)
        if prefix is not None:
            cache = copy.deepcopy(prefix.cache)
            cache.batch_repeat_interleave(len(batch))
            full_mask = torch.cat(
                [torch.ones((len(batch), prefix.cached_tokens), dtype=mask.dtype, device=self.device), mask], dim=1
            )
            # Right padding: real tokens come first, so causal attention never sees the padding.
            out = self._base(
                input_ids=ids, attention_mask=full_mask, use_cache=True, logits_to_keep=keep, **{self._cache_kw: cache}
            )
            return out.logits, {p + offset: j for j, p in enumerate(needed)}
        if self._virtual_tokens:
            out = self.model(input_ids=ids, attention_mask=mask, use_cache=False)
            logits = out.logits[:, self._virtual_tokens :]
            return logits, {p: p for p in range(logits.shape[1])}
        out = self.model(input_ids=ids, attention_mask=mask, use_cache=False, logits_to_keep=keep)
        return out.logits, {p: j for j, p in enumerate(needed)}

    def _passes(self, units: list[Unit]) -> Iterator[tuple[list[Unit], torch.Tensor, Any]]:
        """Every forward pass of a score() call: (units, logits, position -> column map).

        Two levels of reuse for causal models: the prefix every unit shares (chat header and
        instruction) runs once per call; then each prompt whose K answer choices are separate
        units (multi-token answers) runs its own context once and only the K short
        continuations run on top of it.
        """
        prefix = self.shared_prefix(units)
        rest = units
        if not self.is_seq2seq and self.share_prefix:
            groups, rest = self.context_groups(units, prefix.length if prefix is not None else 0)
            for stage in planning.group_batches(groups, batch_size=self.batch_size, batch_tokens=self.batch_tokens):
                yield from self._guarded(lambda b: self._two_stage_forward(b, prefix), stage)
        for batch in self.batches(rest):
            yield from self._guarded(lambda b: (b, *self._forward(b, prefix)), batch)

    def _guarded(self, run: Callable[[list], tuple], batch: list) -> Iterator[tuple]:
        """``run(batch)``; out of memory, run each half instead (and keep later batches smaller)."""
        try:
            result = run(batch)
        except (RuntimeError, torch.OutOfMemoryError) as exc:
            if not is_out_of_memory(exc):
                raise
            if self.device.type == "cuda":
                torch.cuda.empty_cache()
            units = [u for item in batch for u in (item.units if isinstance(item, Group) else [item])]
            if len(batch) == 1:
                span = units[0].spans[0]
                raise ScoringError(
                    f"out of memory on a single prompt ({len(units[0].ids)} tokens); "
                    "lower --max-memory, use --dtype bfloat16 or a larger device",
                    field=f"prompt {span.prompt}",
                ) from None
            self.oom_halvings += 1
            self.batch_size = max(1, len(batch) // 2)
            self.batch_tokens = max(1, self.batch_tokens // 2)
            warnings.warn(
                f"out of memory with {len(batch)} sequences in a pass: retrying in halves and "
                f"keeping passes to {self.batch_size} sequences / {self.batch_tokens} tokens",
                RuntimeWarning,
                stacklevel=2,
            )
            mid = len(batch) // 2
            yield from self._guarded(run, batch[:mid])
            yield from self._guarded(run, batch[mid:])
            return
        yield result

    def _two_stage_forward(
        self, groups: list[Group], prefix: Prefix | None
    ) -> tuple[list[Unit], torch.Tensor, list[dict[int, int]]]:
        """Run each prompt's context once (stage 1), then all its continuations on top of it (stage 2).

        Stage 1 rows are right-padded, so stage 2 sees holes in the cache: the attention mask
        hides them and explicit position ids continue each row from its real length, which
        makes the result equal to running every unit in full (a test checks 1e-4).
        """
        pad = self.tokenizer.pad_token_id
        offset = prefix.length if prefix is not None else 0
        ids, mask = self._pad([g.units[0].ids[offset : g.context] for g in groups], pad, self.device)
        # Cached positions in front of the contexts: the call's prefix, else a soft prompt, if any.
        base = prefix.cached_tokens if prefix is not None else self._virtual_tokens
        full = torch.cat([torch.ones((len(groups), base), dtype=mask.dtype, device=self.device), mask], dim=1)
        if prefix is not None:
            cache = copy.deepcopy(prefix.cache)
            cache.batch_repeat_interleave(len(groups))
            out = self._base(
                input_ids=ids, attention_mask=full, use_cache=True, logits_to_keep=1, **{self._cache_kw: cache}
            )
        else:  # the peft model (if any) prepends its soft prompt and extends the mask itself
            out = self.model(input_ids=ids, attention_mask=mask, use_cache=True, logits_to_keep=1)
        cache = out["cache"] if "cache" in out else out["past_key_values"]
        units = [u for g in groups for u in g.units]
        owner = [gi for gi, g in enumerate(groups) for _ in g.units]
        index = torch.tensor(owner, dtype=torch.long, device=self.device)
        cache.batch_select_indices(index)
        starts = [groups[gi].context for gi in owner]
        ids2, mask2 = self._pad([u.ids[c:] for u, c in zip(units, starts)], pad, self.device)
        real = mask.sum(dim=1)[index]  # stage-1 tokens of each row's prompt
        positions = base + real.unsqueeze(1) + torch.arange(ids2.shape[1], device=self.device).unsqueeze(0)
        needed = sorted(
            {span.start + i - c for u, c in zip(units, starts) for span in u.spans for i in range(len(span.targets))}
        )
        keep = torch.tensor(needed, dtype=torch.long, device=self.device)
        out2 = self._base(
            input_ids=ids2,
            attention_mask=torch.cat([full[index], mask2], dim=1),
            position_ids=positions,
            use_cache=True,
            logits_to_keep=keep,
            **{self._cache_kw: cache},
        )
        columns = [{rel + c: j for j, rel in enumerate(needed)} for c in starts]
        return units, out2.logits, columns

    @staticmethod
    def _span_logprob(
        logits: torch.Tensor, column: dict[int, int] | list[dict[int, int]], row: int, span: Span
    ) -> torch.Tensor:
        """Summed log-probability of a span's target tokens (a 0-d tensor; differentiable when logits are).

        ``column`` maps a position to its logits column, for the whole batch or per row.
        """
        if isinstance(column, list):
            column = column[row]
        n = len(span.targets)
        lp = torch.log_softmax(logits[row, [column[span.start + i] for i in range(n)]].float(), dim=-1)
        targets = torch.tensor(span.targets, device=lp.device)
        return lp[torch.arange(n, device=lp.device), targets].sum()

    def score(self, prompts: Sequence[Prompt], *, progress: ProgressCallback | None = None) -> list[ChoiceScores]:
        units = self.units(prompts)
        logprobs = [[math.nan] * len(p.continuations) for p in prompts]
        ntokens = [[0] * len(p.continuations) for p in prompts]
        remaining = [len(p.continuations) for p in prompts]
        with torch.inference_mode():
            for batch, logits, column in self._passes(units):
                done = 0
                for row, unit in enumerate(batch):
                    for span in unit.spans:
                        value = float(self._span_logprob(logits, column, row, span))
                        if not math.isfinite(value):
                            raise ScoringError(
                                f"non-finite log-probability ({value}) for choice {span.choice}: "
                                f"{prompts[span.prompt].context[-80:]!r}",
                                field=f"prompt {span.prompt}",
                            )
                        logprobs[span.prompt][span.choice] = value
                        ntokens[span.prompt][span.choice] = len(span.targets)
                        remaining[span.prompt] -= 1
                        if remaining[span.prompt] == 0:
                            done += 1
                if progress is not None and done:
                    progress(done)
        return [
            ChoiceScores(
                logprobs=tuple(lp),
                n_tokens=tuple(nt),
                n_chars=tuple(len(c.strip()) for c in p.continuations),
            )
            for lp, nt, p in zip(logprobs, ntokens, prompts)
        ]

    def choice_logprobs_tensor(self, prompts: Sequence[Prompt]) -> torch.Tensor:
        """Differentiable log-probabilities, shape (prompts, max choices), ``-inf`` where a prompt has fewer.

        The same token boundaries and units as :meth:`score`, without the inference-only
        shortcuts (no shared-prefix cache), so gradients reach a soft prompt. Used by
        ``promptcheck fix``; evaluation always goes through :meth:`score`.
        """
        units = self.units(prompts)
        width = max(len(p.continuations) for p in prompts)
        cells: dict[tuple[int, int], torch.Tensor] = {}
        for batch in self.batches(units):
            logits, column = self._forward(batch, None)
            for row, unit in enumerate(batch):
                for span in unit.spans:
                    cells[(span.prompt, span.choice)] = self._span_logprob(logits, column, row, span)
        neg_inf = torch.tensor(float("-inf"), device=self.device)
        return torch.stack(
            [torch.stack([cells.get((p, k), neg_inf) for k in range(width)]) for p in range(len(prompts))]
        )

    # -- hidden states (representation analysis) -----------------------------------------------
    def hidden_states(self, contexts: Sequence[str], *, batch_size: int = 16) -> np.ndarray:
        """Every layer's hidden state where the answer's first token is predicted, one row per context.

        Shape ``(states, contexts, hidden)``, float32; state 0 is the embeddings. A causal model
        is read at the last context token (after a soft prompt's virtual tokens, if any), an
        encoder-decoder model at the decoder's first step. Contexts are tokenized exactly as
        :meth:`score` tokenizes them; batching never changes the rows (right padding is masked).
        """
        pad = self.tokenizer.pad_token_id
        # Only hidden states are needed: no KV cache, and logits for one position where the model allows it.
        extra: dict[str, Any] = {"use_cache": False}
        if not self.is_seq2seq and "logits_to_keep" in inspect.signature(self.model.forward).parameters:
            extra["logits_to_keep"] = 1
        rows = [self._encode(text, self._special) for text in contexts]
        parts = []
        for start in range(0, len(rows), batch_size):
            chunk = [tuple(r) for r in rows[start : start + batch_size]]
            ids, mask = self._pad(chunk, pad, self.device)
            with torch.no_grad():
                if self.is_seq2seq:
                    first = self.model.config.decoder_start_token_id
                    dec = torch.full((len(chunk), 1), first if first is not None else pad, device=self.device)
                    out = self.model(
                        input_ids=ids, attention_mask=mask, decoder_input_ids=dec, output_hidden_states=True, **extra
                    )
                    picked = [s[:, 0, :] for s in out.decoder_hidden_states]
                else:
                    # Right padding: real tokens come first, so the last real token never sees padding.
                    out = self.model(input_ids=ids, attention_mask=mask, output_hidden_states=True, **extra)
                    last = torch.tensor([self._virtual_tokens + len(r) - 1 for r in chunk], device=self.device)
                    row = torch.arange(len(chunk), device=self.device)
                    picked = [s[row, last, :] for s in out.hidden_states]
            parts.append(torch.stack(picked).float().cpu().numpy())
        return np.concatenate(parts, axis=1)

    # -- generation (free-form answers) --------------------------------------------------------
    def generate(
        self, requests: Sequence[GenerationRequest], *, progress: ProgressCallback | None = None
    ) -> list[Generation]:
        """Greedy answers, one per request, in request order (the ``Generates`` capability).

        Each context is tokenized as :meth:`score` tokenizes a prompt's context (no special
        tokens after a chat template, whose text holds them; an encoder input gets them), so a
        prompt reads the same when scored and when answered. Decoding is plain greedy
        (``do_sample=False``, one beam; no repetition penalty, n-gram ban or minimum length, whatever
        the model's ``generation_config`` suggests; tokens it forces or suppresses still apply, as
        in ``model.generate``), ended by the model's end-of-sequence token(s), the request's
        ``max_new_tokens`` or one of its stop strings.

        Causal prompts are left-padded (built here: the tokenizer's ``padding_side``, and so
        scoring's right padding, is never touched), sorted by (``max_new_tokens``, length) and
        batched within ``batch_size`` rows and ``batch_tokens`` padded tokens counting the new
        tokens; rows of a batch may have different stops and limits (:class:`_StopWhen`). The
        tokens every prompt of a batch starts with (chat header + instruction, when a caller
        sends one instruction's prompts together, as ``evaluate`` does) run once and their
        keys/values are repeated over the batch, as scoring's shared prefix is (``share_prefix``;
        not for seq2seq models). Under a prompt-tuning adapter each prompt runs alone (peft
        ignores the position ids left padding needs). A batched row equals the same
        prompt generated alone except where two tokens tie to float rounding (tests check the
        tiny models token for token against ``model.generate``). Identical requests run once.
        Running out of memory halves the batch, as scoring does.
        """
        requests = list(requests)
        for i, r in enumerate(requests):
            if not isinstance(r, GenerationRequest):
                raise ScoringError(f"expected a GenerationRequest, not {type(r).__name__}", field=f"request {i}")
        first: dict[GenerationRequest, int] = {}  # each distinct request -> its first index
        copies: dict[GenerationRequest, int] = {}
        for i, r in enumerate(requests):
            first.setdefault(r, i)
            copies[r] = copies.get(r, 0) + 1
        distinct = list(first)
        rows = [self._generation_ids(r, first[r]) for r in distinct]
        answers: dict[GenerationRequest, Generation] = {}
        with torch.inference_mode(), torch.random.fork_rng(devices=[]):
            torch.manual_seed(GENERATION_SEED)
            for batch in self._generation_batches(distinct, rows):
                for done, generations in self._generate_guarded(distinct, rows, batch, first):
                    for i, g in zip(done, generations):
                        answers[distinct[i]] = g
                    if progress is not None:
                        progress(sum(copies[distinct[i]] for i in done))
        return [answers[r] for r in requests]

    def _generation_ids(self, request: GenerationRequest, index: int) -> tuple[int, ...]:
        """The model input of a request: its context tokenized as :meth:`units` tokenizes a context."""
        if self.is_seq2seq:
            ids = self._encode(request.context, True)
            need = len(ids)
        else:
            ids = self._encode(request.context, self._special)
            if not ids:
                bos = self.tokenizer.bos_token_id
                if bos is None:
                    raise ScoringError("empty prompt and the tokenizer has no BOS token", field=f"request {index}")
                ids = [bos]
            need = len(ids) + request.max_new_tokens
        if self.max_length is not None and need > self.max_length:
            extra = "" if self.is_seq2seq else f" with {request.max_new_tokens} new"
            raise ScoringError(
                f"prompt is {len(ids)} tokens{extra}, longer than the model's context ({self.max_length})",
                field=f"request {index}",
            )
        return tuple(ids)

    def _generation_batches(self, requests: list[GenerationRequest], rows: list[tuple[int, ...]]) -> list[list[int]]:
        """Request indices per ``generate`` call: similar limits and lengths together, largest first.

        One row per call under a prompt-tuning adapter: peft ignores position ids, so a left-padded
        row would read its prompt at shifted positions.
        """
        order = sorted(range(len(rows)), key=lambda i: (requests[i].max_new_tokens, len(rows[i])), reverse=True)
        batch_size = 1 if self._virtual_tokens else self.batch_size
        out: list[list[int]] = []
        current: list[int] = []
        for i in order:
            if current:
                width = max(len(rows[j]) + requests[j].max_new_tokens for j in [*current, i])
                if len(current) >= batch_size or (len(current) + 1) * width > self.batch_tokens:
                    out.append(current)
                    current = []
            current.append(i)
        if current:
            out.append(current)
        return out

    def _generate_guarded(
        self,
        requests: list[GenerationRequest],
        rows: list[tuple[int, ...]],
        batch: list[int],
        first: dict[GenerationRequest, int],
    ) -> Iterator[tuple[list[int], list[Generation]]]:
        """``(batch, its generations)``; out of memory, each half instead (and later batches smaller)."""
        try:
            result = self._generate_batch(requests, rows, batch)
        except (RuntimeError, torch.OutOfMemoryError) as exc:
            if not is_out_of_memory(exc):
                raise
            if self.device.type == "cuda":
                torch.cuda.empty_cache()
            if len(batch) == 1:
                raise ScoringError(
                    f"out of memory generating for a single prompt ({len(rows[batch[0]])} tokens); "
                    "lower --max-memory, use --dtype bfloat16 or a larger device",
                    field=f"request {first[requests[batch[0]]]}",
                ) from None
            self.oom_halvings += 1
            self.batch_size = max(1, len(batch) // 2)
            self.batch_tokens = max(1, self.batch_tokens // 2)
            warnings.warn(
                f"out of memory generating {len(batch)} sequences at once: retrying in halves and "
                f"keeping passes to {self.batch_size} sequences / {self.batch_tokens} tokens",
                RuntimeWarning,
                stacklevel=2,
            )
            mid = len(batch) // 2
            yield from self._generate_guarded(requests, rows, batch[:mid], first)
            yield from self._generate_guarded(requests, rows, batch[mid:], first)
            return
        yield batch, result

    def _eos_ids(self) -> list[int]:
        """The token ids that end an answer: the model's generation config's, else the tokenizer's EOS."""
        config = getattr(self._base, "generation_config", None)
        eos = getattr(config, "eos_token_id", None)
        ids = list(eos) if isinstance(eos, (list, tuple)) else [] if eos is None else [eos]
        if not ids and self.tokenizer.eos_token_id is not None:
            ids = [self.tokenizer.eos_token_id]
        return [int(i) for i in ids]

    def _decode(self, tokens: list[int]) -> str:
        return str(self.tokenizer.decode(tokens, skip_special_tokens=True))

    def _generate_batch(
        self, requests: list[GenerationRequest], rows: list[tuple[int, ...]], batch: list[int]
    ) -> list[Generation]:
        from transformers import GenerationConfig

        pad = self.tokenizer.pad_token_id
        inputs = [rows[i] for i in batch]
        extra: dict[str, Any] = {}
        if self.is_seq2seq:
            ids, mask = self._pad(inputs, pad, self.device)  # the encoder's input, padded as scoring pads it
            start = 1  # the output starts with the decoder start token
        else:
            shared = self._generation_prefix(inputs)
            ids, mask = self._left_pad([r[shared:] for r in inputs], pad, self.device)
            if shared:
                # [prefix | left padding | rest]: the padding is a hole the mask hides, and
                # generate's position ids (the mask's running count) continue past it.
                head = torch.tensor([inputs[0][:shared]] * len(inputs), dtype=torch.long, device=self.device)
                ids, mask = torch.cat([head, ids], dim=1), torch.cat([torch.ones_like(head), mask], dim=1)
                extra[self._cache_kw] = self._prefix_cache(inputs[0][:shared], len(inputs))
            start = ids.shape[1]
        limits = [requests[i].max_new_tokens for i in batch]
        stops = [requests[i].stop for i in batch]
        eos = self._eos_ids()
        config = GenerationConfig(
            max_new_tokens=max(limits),
            do_sample=False,
            num_beams=1,
            repetition_penalty=1.0,
            no_repeat_ngram_size=0,
            min_new_tokens=0,  # takes precedence over a model's min_length
            eos_token_id=eos or None,
            pad_token_id=pad,
            return_dict_in_generate=False,
        )
        if self._virtual_tokens and not self.is_seq2seq:
            # A prompt-tuning adapter: peft's generate reads every token after the first at shifted
            # positions. The soft prompt goes in front of the prompt's embeddings instead, and the
            # base model generates from those (its output then holds only the new tokens).
            emb = self._base.get_input_embeddings()(ids)
            soft = self.model.get_prompt(batch_size=len(batch)).to(emb.dtype)
            virtual = torch.ones((len(batch), self._virtual_tokens), dtype=mask.dtype, device=self.device)
            out = self._base.generate(
                inputs_embeds=torch.cat([soft, emb], dim=1),
                attention_mask=torch.cat([virtual, mask], dim=1),
                generation_config=config,
                stopping_criteria=[_StopWhen(self._decode, 0, limits, stops)],
            )
            new = out.tolist()
        else:
            out = self.model.generate(
                input_ids=ids,
                attention_mask=mask,
                generation_config=config,
                stopping_criteria=[_StopWhen(self._decode, start, limits, stops)],
                **extra,
            )
            new = out[:, start:].tolist()
        return [self._finish(tokens[:limit], stop, set(eos)) for tokens, limit, stop in zip(new, limits, stops)]

    def _generation_prefix(self, inputs: list[tuple[int, ...]]) -> int:
        """Tokens every prompt of a batch starts with (chat header + instruction), run once; 0 for none.

        Every row keeps at least one token of its own, which ``generate`` runs for its first logits.
        """
        if len(inputs) < 2 or not self.share_prefix or self._virtual_tokens:
            return 0
        length = min(min(planning.common_prefix(inputs[0], r) for r in inputs[1:]), min(len(r) for r in inputs) - 1)
        return length if length >= self.min_prefix else 0

    def _prefix_cache(self, prefix: tuple[int, ...], rows: int) -> Any:
        """Keys/values of ``prefix``, computed once and repeated for ``rows`` rows."""
        ids = torch.tensor([prefix], dtype=torch.long, device=self.device)
        out = self.model(input_ids=ids, attention_mask=torch.ones_like(ids), use_cache=True, logits_to_keep=1)
        cache = out["cache"] if "cache" in out else out["past_key_values"]
        cache.batch_repeat_interleave(rows)
        return cache

    def _finish(self, tokens: list[int], stop: tuple[str, ...], eos: set[int]) -> Generation:
        """The answer of one row: cut at its first EOS token, then before its earliest stop string."""
        end = next((j for j, t in enumerate(tokens) if t in eos), None)
        text = self._decode(tokens if end is None else tokens[:end])
        cut = first_stop(text, stop)
        if cut is not None:
            return Generation(text[:cut], "stop")
        return Generation(text, "length" if end is None else "eos")

    @staticmethod
    def _left_pad(rows: list[tuple[int, ...]], pad: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """Rows padded on the left (generation continues every row from its last column)."""
        width = max(len(r) for r in rows)
        ids = torch.full((len(rows), width), pad, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, r in enumerate(rows):
            ids[i, width - len(r) :] = torch.tensor(r, dtype=torch.long)
            mask[i, width - len(r) :] = 1
        return ids.to(device), mask.to(device)
