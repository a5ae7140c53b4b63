"""A score cache on disk around any :class:`~promptcheck.models.base.Scorer`.

Re-running a suite after editing one instruction, re-running a CI gate on the same model, or
resuming a run that was interrupted should cost only the prompts never scored before, and the
free-form answers never generated before (a backend that generates gets its answers cached
too, in the same file under keys of their own). Like lm-evaluation-harness's ``CachingLM``
this wraps a backend without knowing what it is; unlike it, results are keyed by a
fingerprint of the model (weights, config, tokenizer, adapter, dtype, device), so a changed
model never reads another model's numbers.

Storage is one SQLite file in WAL mode: pytest-xdist workers and parallel CLI runs share it
safely (``INSERT OR IGNORE``: a prompt scored twice at the same time is stored once). Every row
carries a checksum; a row that fails it is dropped and re-scored, and a file that is not a
sound database is moved aside and rebuilt, never trusted.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sqlite3
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from promptcheck.models.base import (
    FINISH_REASONS,
    ChoiceScores,
    Fingerprinted,
    Generates,
    Generation,
    GenerationRequest,
    ModelIdentity,
    ProgressCallback,
    Scorer,
    StoresInChunks,
)
from promptcheck.prompts.rendering import Prompt

#: Bumped when a change to scoring would change stored numbers; old rows are then never read.
CACHE_FORMAT = 1

#: The decoding settings a stored generation was made with (greedy, no sampling, no repetition
#: penalty; stop strings cut before). Changed when a backend's decoding changes: old rows are
#: then never read. Generation keys start with ``gen:``, so they never meet a score's key.
GENERATION_FORMAT = "greedy-1"

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS scores (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    checksum TEXT NOT NULL
) WITHOUT ROWID;
"""


class CacheWarning(UserWarning):
    """The cache could not be used as is (rebuilt, or disabled); results are still computed."""


def default_cache_path() -> Path:
    from promptcheck.settings import score_cache_path

    return score_cache_path()


def model_fingerprint(scorer: Scorer) -> str:
    """What makes two scorers give the same numbers: identity plus whatever the backend adds.

    The adapter's *path* is left out (moving a folder changes nothing); its hash stays in.
    """
    ident: ModelIdentity = scorer.identity
    data = ident.to_json()
    data.pop("adapter", None)
    data["device"] = str(data.get("device", "")).split(":")[0]  # cuda:0 and cuda:1 compute alike
    data["backend"] = scorer.fingerprint() if isinstance(scorer, Fingerprinted) else type(scorer).__name__
    data["cache_format"] = CACHE_FORMAT
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def _prompt_key(fingerprint: str, prompt: Prompt) -> str:
    h = hashlib.sha256()
    h.update(fingerprint.encode())
    h.update(b"\0")
    h.update(prompt.context.encode("utf-8", "surrogatepass"))
    for cont in prompt.continuations:
        h.update(b"\x1f")
        h.update(cont.encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def _generation_key(fingerprint: str, request: GenerationRequest) -> str:
    """Everything that decides a generation: model, decoding settings, context, limit, stop strings."""
    # json with ensure_ascii: an unambiguous, ASCII encoding of the text and the stop list
    what = ["generate", GENERATION_FORMAT, fingerprint, request.context, request.max_new_tokens, list(request.stop)]
    return "gen:" + hashlib.sha256(json.dumps(what).encode()).hexdigest()


def _encode_generation(generation: Generation) -> str:
    return json.dumps({"text": generation.text, "finish": generation.finish}, separators=(",", ":"))


def _decode_generation(value: str) -> Generation | None:
    try:
        data = json.loads(value)
        text, finish = data["text"], data["finish"]
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(text, str) or finish not in FINISH_REASONS:
        return None
    return Generation(text=text, finish=finish)


def _checksum(key: str, value: str) -> str:
    return hashlib.sha256(f"{key}\0{value}".encode()).hexdigest()[:20]


def _encode(scores: ChoiceScores) -> str:
    # repr-exact floats: a warm run returns the very numbers the cold run computed.
    return json.dumps(
        {"lp": list(scores.logprobs), "nt": list(scores.n_tokens), "nc": list(scores.n_chars)}, separators=(",", ":")
    )


def _decode(value: str, n_choices: int) -> ChoiceScores | None:
    try:
        data = json.loads(value)
        lp = tuple(float(x) for x in data["lp"])
        nt = tuple(int(x) for x in data["nt"])
        nc = tuple(int(x) for x in data["nc"])
    except (ValueError, KeyError, TypeError):
        return None
    if len(lp) != n_choices or not all(math.isfinite(x) for x in lp):
        return None
    return ChoiceScores(logprobs=lp, n_tokens=nt, n_chars=nc)


class ScoreStore:
    """The SQLite file: get and put scores by key; detects and survives a damaged file."""

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 60.0) -> None:
        self.path = Path(path)
        self.timeout = timeout
        self.rebuilt = False
        self.dropped_rows = 0
        self._conn: sqlite3.Connection | None = None
        self._open()

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: durable across process kills
        conn.executescript(_SCHEMA)
        row = conn.execute("PRAGMA quick_check").fetchone()
        if not row or row[0] != "ok":
            conn.close()
            raise sqlite3.DatabaseError(f"integrity check failed: {row[0] if row else 'no answer'}")
        return conn

    def _open(self) -> None:
        try:
            self._conn = self._connect()
        except sqlite3.DatabaseError as exc:  # not a database, or damaged pages
            aside = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}")
            for suffix in ("", "-wal", "-shm"):
                src = Path(str(self.path) + suffix)
                if src.exists():
                    os.replace(src, Path(str(aside) + suffix))
            warnings.warn(
                f"{self.path}: score cache was damaged ({exc}); moved to {aside.name} and rebuilt",
                CacheWarning,
                stacklevel=3,
            )
            self.rebuilt = True
            self._conn = self._connect()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def get_many(self, keys: Sequence[str]) -> dict[str, str]:
        assert self._conn is not None
        found: dict[str, str] = {}
        bad: list[str] = []
        for start in range(0, len(keys), 500):  # SQLite's bound-parameter limit
            chunk = list(keys[start : start + 500])
            marks = ",".join("?" * len(chunk))
            for key, value, checksum in self._conn.execute(
                f"SELECT key, value, checksum FROM scores WHERE key IN ({marks})", chunk
            ):
                if checksum == _checksum(key, value):
                    found[key] = value
                else:
                    bad.append(key)
        if bad:
            self.drop(bad)
        return found

    def drop(self, keys: Iterable[str]) -> None:
        assert self._conn is not None
        keys = list(keys)
        self.dropped_rows += len(keys)
        with self._conn:
            self._conn.executemany("DELETE FROM scores WHERE key = ?", [(k,) for k in keys])

    def put_many(self, rows: Iterable[tuple[str, str]]) -> None:
        assert self._conn is not None
        data = [(k, v, _checksum(k, v)) for k, v in rows]
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            self._conn.executemany("INSERT OR IGNORE INTO scores (key, value, checksum) VALUES (?, ?, ?)", data)
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise

    def __len__(self) -> int:
        assert self._conn is not None
        return int(self._conn.execute("SELECT COUNT(*) FROM scores").fetchone()[0])


@dataclass
class CacheStats:
    """Since the scorer was made: requests answered from the cache (prompts to score and
    generations), prompts the model scored and generations it wrote."""

    hits: int = 0
    scored: int = 0
    generated: int = 0


class CachedScorer:
    """A scorer that looks each prompt up on disk first and stores what it scores.

    New scores are stored every ``chunk`` prompts (default 128, or the backend's ``cache_chunk``),
    so an interrupted run (Ctrl-C, a killed CI job, a server that went away) keeps what it
    finished, and the re-run continues from there.

    It is a :class:`~promptcheck.models.base.Wrapper`: the wrapped backend is ``inner``, and
    :func:`~promptcheck.models.base.capability` answers for it (a cached scorer counts tokens
    exactly when its backend does). It forwards nothing else implicitly. A backend that
    generates (:class:`~promptcheck.models.base.Generates`) makes a :class:`CachedGenerator`,
    which caches its answers as well.

    >>> model = CachedScorer(load_model("default"))  # doctest: +SKIP
    """

    def __new__(cls, inner: Scorer | None = None, *args: Any, **kwargs: Any) -> CachedScorer:
        # A backend that generates gets a cache that generates (and caches its answers) too.
        # (``inner`` is None when copy or pickle rebuild an instance: its class is then already set.)
        if cls is CachedScorer and isinstance(inner, Generates):
            cls = CachedGenerator
        return super().__new__(cls)

    def __init__(self, inner: Scorer, path: str | os.PathLike[str] | None = None, *, chunk: int | None = None) -> None:
        self.inner = inner
        self.identity = inner.identity
        self.path = Path(path) if path is not None else default_cache_path()
        # A backend may say how often to store (a served model: a few requests per connection).
        backend_chunk = inner.cache_chunk if isinstance(inner, StoresInChunks) else None
        self.chunk = max(1, int(chunk or backend_chunk or 128))
        self.stats = CacheStats()
        self.fingerprint_hex = model_fingerprint(inner)
        self.store = ScoreStore(self.path)

    @property
    def use_chat_template(self) -> bool:
        """Whether prompts go through a chat template: the wrapped scorer's (it formats them)."""
        return self.inner.chat_formatter() is not None

    def chat_formatter(self) -> Callable[[str], str] | None:
        return self.inner.chat_formatter()

    def score(self, prompts: Sequence[Prompt], *, progress: ProgressCallback | None = None) -> list[ChoiceScores]:
        def run(part: list[int]) -> list[ChoiceScores]:
            scores = self.inner.score([prompts[i] for i in part], progress=progress)
            self.stats.scored += len(part)
            return scores

        return self._through_store(
            [_prompt_key(self.fingerprint_hex, p) for p in prompts],
            lambda i, value: _decode(value, len(prompts[i].continuations)),
            _encode,
            run,
            progress,
            "scorer returned no score for prompt",
        )

    def _through_store(
        self,
        keys: list[str],
        decode: Callable[[int, str], T | None],
        encode: Callable[[T], str],
        run: Callable[[list[int]], list[T]],
        progress: ProgressCallback | None,
        missing_message: str,
    ) -> list[T]:
        """Read what is stored; ``run`` the rest (each distinct key once) in chunks, storing each chunk.

        ``decode(i, value)`` returns None for a stored value that cannot be request ``i``'s answer;
        that row is dropped and recomputed.
        """
        results: list[Any] = [None] * len(keys)
        stored = self.store.get_many(sorted(set(keys)))
        bad: list[str] = []
        for i, key in enumerate(keys):
            if key in stored:
                decoded = decode(i, stored[key])
                if decoded is None:
                    bad.append(key)
                else:
                    results[i] = decoded
        if bad:
            self.store.drop(set(bad))
        hits = sum(r is not None for r in results)
        self.stats.hits += hits
        if progress is not None and hits:
            progress(hits)
        # Each distinct missing request is computed once, even if the caller repeats it.
        first_index: dict[str, int] = {}
        for i, key in enumerate(keys):
            if results[i] is None and key not in first_index:
                first_index[key] = i
        todo = list(first_index.values())
        repeats = sum(1 for r in results if r is None) - len(todo)
        for start in range(0, len(todo), self.chunk):
            part = todo[start : start + self.chunk]
            answers = run(part)
            self.store.put_many((keys[i], encode(a)) for i, a in zip(part, answers))
            for i, a in zip(part, answers):
                results[i] = a
        if repeats:
            for i, key in enumerate(keys):
                if results[i] is None:
                    results[i] = results[first_index[key]]
            if progress is not None:
                progress(repeats)
        missing = [i for i, r in enumerate(results) if r is None]
        if missing:  # a backend that returned fewer answers than requests
            raise RuntimeError(f"{missing_message} {missing[0]}")
        return results

    def close(self) -> None:
        self.store.close()


class CachedGenerator(CachedScorer):
    """A :class:`CachedScorer` whose backend also generates: its answers are cached too.

    ``CachedScorer(backend)`` makes one of these exactly when the backend has the
    :class:`~promptcheck.models.base.Generates` capability, so ``capability(cached, Generates)``
    answers as the backend would. A generation is keyed by the model's fingerprint, the
    decoding settings (:data:`GENERATION_FORMAT`), the context text, ``max_new_tokens`` and the
    stop strings; new ones are stored every ``chunk`` requests, as scores are.
    """

    inner: Any  # a Scorer that also Generates

    def generate(
        self, requests: Sequence[GenerationRequest], *, progress: ProgressCallback | None = None
    ) -> list[Generation]:
        def run(part: list[int]) -> list[Generation]:
            answers = self.inner.generate([requests[i] for i in part], progress=progress)
            self.stats.generated += len(part)
            return list(answers)

        return self._through_store(
            [_generation_key(self.fingerprint_hex, r) for r in requests],
            lambda i, value: _decode_generation(value),
            _encode_generation,
            run,
            progress,
            "model returned no generation for request",
        )


def cached(scorer: Scorer, path: str | os.PathLike[str] | None = None) -> Scorer:
    """``scorer`` with the on-disk score cache in front of it (at ``path``, else the default file).

    When the cache cannot be opened (a read-only folder, say), a :class:`CacheWarning` is
    issued and the scorer is returned unwrapped: a cache saves time, it is never required.
    """
    if isinstance(scorer, CachedScorer):
        return scorer
    try:
        return CachedScorer(scorer, path)
    except (OSError, sqlite3.Error) as exc:
        warnings.warn(f"score cache disabled: {exc}", CacheWarning, stacklevel=2)
        return scorer
