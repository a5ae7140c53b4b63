"""A score cache on disk around any :class:`~promptcheck.models.base.Scorer`.

Re-running a suite after editing one instruction, re-running a CI gate on the same model, or
resuming a run that was interrupted should cost only the prompts never scored before. Like
lm-evaluation-harness's ``CachingLM`` this wraps a backend without knowing what it is; unlike
it, results are keyed by a fingerprint of the model (weights, config, tokenizer, adapter,
dtype, device), so a changed model never reads another model's numbers.

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

from promptcheck.models.base import (
    ChoiceScores,
    Fingerprinted,
    ModelIdentity,
    ProgressCallback,
    Scorer,
    StoresInChunks,
)
from promptcheck.prompts.rendering import Prompt

#: Bumped when a change to scoring would change stored numbers; old rows are then never read.
CACHE_FORMAT = 1

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
    """Prompts answered from the cache and prompts the model scored, since the scorer was made."""

    hits: int = 0
    scored: int = 0


class CachedScorer:
    """A scorer that looks each prompt up on disk first and stores what it scores.

    New scores are stored every ``chunk`` prompts (default 128, or the backend's ``cache_chunk``),
    so an interrupted run (Ctrl-C, a killed CI job, a server that went away) keeps what it
    finished, and the re-run continues from there.

    It is a :class:`~promptcheck.models.base.Wrapper`: the wrapped backend is ``inner``, and
    :func:`~promptcheck.models.base.capability` answers for it (a cached scorer counts tokens
    exactly when its backend does). It forwards nothing else implicitly.

    >>> model = CachedScorer(load_model("default"))  # doctest: +SKIP
    """

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
        keys = [_prompt_key(self.fingerprint_hex, p) for p in prompts]
        results: list[ChoiceScores | None] = [None] * len(prompts)
        stored = self.store.get_many(sorted(set(keys)))
        bad: list[str] = []
        for i, key in enumerate(keys):
            if key in stored:
                decoded = _decode(stored[key], len(prompts[i].continuations))
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
        # Each distinct missing prompt is scored once, even if the caller repeats it.
        first_index: dict[str, int] = {}
        for i, key in enumerate(keys):
            if results[i] is None and key not in first_index:
                first_index[key] = i
        todo = list(first_index.values())
        repeats = sum(1 for r in results if r is None) - len(todo)
        for start in range(0, len(todo), self.chunk):
            part = todo[start : start + self.chunk]
            scores = self.inner.score([prompts[i] for i in part], progress=progress)
            self.store.put_many((keys[i], _encode(s)) for i, s in zip(part, scores))
            self.stats.scored += len(part)
            for i, s in zip(part, scores):
                results[i] = s
        if repeats:
            for i, key in enumerate(keys):
                if results[i] is None:
                    results[i] = results[first_index[key]]
            if progress is not None:
                progress(repeats)
        missing = [i for i, r in enumerate(results) if r is None]
        if missing:  # a backend that returned fewer scores than prompts
            raise RuntimeError(f"scorer returned no score for prompt {missing[0]}")
        return results  # type: ignore[return-value]

    def close(self) -> None:
        self.store.close()


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
