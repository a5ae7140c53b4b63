"""The on-disk score cache: warm runs return the cold run's numbers, never another model's,
survive damage and concurrent writers, and let an interrupted run continue."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
import warnings

import pytest

import promptcheck as pc
from promptcheck.models.cache import CachedScorer, CacheWarning, model_fingerprint
from promptcheck.models.loading import load_model


class Counting:
    """Wraps a scorer and counts the prompts it is asked to score (optionally stopping after some calls)."""

    def __init__(self, inner, stop_after_calls: int | None = None):
        self.inner = inner
        self.identity = inner.identity
        self.prompts = 0
        self.calls = 0
        self.stop_after_calls = stop_after_calls

    def chat_formatter(self):
        return self.inner.chat_formatter()

    def fingerprint(self):
        return self.inner.fingerprint()

    def score(self, prompts, *, progress=None):
        if self.stop_after_calls is not None and self.calls >= self.stop_after_calls:
            raise KeyboardInterrupt
        self.calls += 1
        self.prompts += len(prompts)
        return self.inner.score(prompts, progress=progress)


@pytest.fixture(scope="module")
def tiny(tiny_causal_dir):
    return load_model(str(tiny_causal_dir))


@pytest.fixture(scope="module")
def capitals(examples_dir):
    return pc.load_task(examples_dir / "capitals.yaml")


def _numbers(result):
    return [(r.predictions, r.logprobs) for r in result.instructions]


def _same_up_to_batching(result, other):
    """Same answers; log-probs equal to float noise (a prompt scored in another batch moves ~1e-6)."""
    import numpy as np

    assert [r.predictions for r in result.instructions] == [r.predictions for r in other.instructions]
    for got, want in zip(result.instructions, other.instructions):
        np.testing.assert_allclose(np.array(got.logprobs), np.array(want.logprobs), atol=1e-4, rtol=0)


def test_warm_run_returns_the_cold_numbers_without_scoring(tiny, capitals, tmp_path):
    cold_inner = Counting(tiny)
    cold = pc.evaluate(CachedScorer(cold_inner, tmp_path / "s.sqlite"), capitals)
    total = len(capitals.items) * len(capitals.instructions())
    assert cold_inner.prompts == total
    warm_inner = Counting(tiny)
    warm_scorer = CachedScorer(warm_inner, tmp_path / "s.sqlite")
    warm = pc.evaluate(warm_scorer, capitals)
    assert warm_inner.prompts == 0 and warm_scorer.stats.hits == total
    assert _numbers(warm) == _numbers(cold)  # exactly: floats round-trip through the cache
    assert _numbers(cold) == _numbers(pc.evaluate(tiny, capitals))


def test_a_different_model_or_adapter_never_reads_the_cache(tiny_causal_dir, tiny, capitals, tmp_path):
    from tiny_models import save, tiny_causal

    path = tmp_path / "s.sqlite"
    pc.evaluate(CachedScorer(tiny, path), capitals)
    other_dir = save(*tiny_causal(seed=1), tmp_path / "other")
    other = Counting(load_model(str(other_dir)))
    assert model_fingerprint(other) != model_fingerprint(tiny)
    pc.evaluate(CachedScorer(other, path), capitals)
    assert other.prompts == len(capitals.items) * len(capitals.instructions())
    # Same weights in another dtype, or an adapter on top: different numbers, different keys.
    half = load_model(str(tiny_causal_dir), dtype="bfloat16")
    assert model_fingerprint(half) != model_fingerprint(tiny)
    from dataclasses import replace

    tiny_with_adapter = Counting(tiny)
    tiny_with_adapter.identity = replace(tiny.identity, adapter="x", adapter_hash="0" * 64)
    assert model_fingerprint(tiny_with_adapter) != model_fingerprint(tiny)


def test_a_damaged_cache_file_is_rebuilt_not_trusted(tiny, capitals, tmp_path):
    path = tmp_path / "s.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.warns(CacheWarning, match="damaged"):
        scorer = CachedScorer(tiny, path)
    assert scorer.store.rebuilt
    assert list(tmp_path.glob("s.sqlite.corrupt-*"))  # kept for a post-mortem
    assert _numbers(pc.evaluate(scorer, capitals)) == _numbers(pc.evaluate(tiny, capitals))


def test_a_tampered_row_is_dropped_and_rescored(tiny, capitals, tmp_path):
    path = tmp_path / "s.sqlite"
    first = CachedScorer(tiny, path)
    expected = pc.evaluate(first, capitals)
    first.close()
    with sqlite3.connect(path) as conn:
        key, value = conn.execute("SELECT key, value FROM scores LIMIT 1").fetchone()
        forged = json.loads(value)
        forged["lp"] = [0.0 for _ in forged["lp"]]
        conn.execute("UPDATE scores SET value = ? WHERE key = ?", (json.dumps(forged), key))
    inner = Counting(tiny)
    second = CachedScorer(inner, path)
    _same_up_to_batching(pc.evaluate(second, capitals), expected)  # the forged zeros are gone
    assert inner.prompts == 1 and second.store.dropped_rows == 1


def _score_in_process(args):
    model_dir, suite, path = args
    import promptcheck as pc
    from promptcheck.models.cache import CachedScorer
    from promptcheck.models.loading import load_model

    scorer = CachedScorer(load_model(model_dir), path, chunk=16)
    result = pc.evaluate(scorer, pc.load_task(suite))
    return [(r.predictions, [list(x) for x in r.logprobs]) for r in result.instructions]


def test_concurrent_processes_share_one_cache(tiny_causal_dir, examples_dir, tmp_path):
    path = tmp_path / "s.sqlite"
    args = (str(tiny_causal_dir), str(examples_dir / "capitals.yaml"), str(path))
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        a, b = pool.map(_score_in_process, [args, args])
    assert a == b
    task = pc.load_task(examples_dir / "capitals.yaml")
    with sqlite3.connect(path) as conn:  # each prompt stored once, none lost
        assert conn.execute("SELECT COUNT(*) FROM scores").fetchone()[0] == len(task.items) * len(task.instructions())


def test_an_interrupted_run_continues_from_the_cache(tiny, capitals, tmp_path):
    path = tmp_path / "s.sqlite"
    stopping = Counting(tiny, stop_after_calls=3)
    with pytest.raises(KeyboardInterrupt):
        pc.evaluate(CachedScorer(stopping, path, chunk=16), capitals)
    stored = stopping.prompts  # three chunks (16 + 16 + 8: the first instruction's 40 items)
    assert stored == 40
    resumed = Counting(tiny)
    result = pc.evaluate(CachedScorer(resumed, path, chunk=16), capitals)
    total = len(capitals.items) * len(capitals.instructions())
    assert resumed.prompts == total - stored
    _same_up_to_batching(result, pc.evaluate(tiny, capitals))


def test_an_unwritable_cache_only_warns(tiny, capitals, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scorer = pc.cached(tiny, blocker / "sub" / "s.sqlite")
    assert scorer is tiny and any(issubclass(w.category, CacheWarning) for w in caught)


def test_cli_second_run_reads_the_cache_and_writes_identical_json(tiny_causal_dir, examples_dir, tmp_path):
    from typer.testing import CliRunner

    from promptcheck.cli.main import app

    docs = []
    outputs = []
    for name in ("cold.json", "warm.json"):
        res = CliRunner().invoke(
            app,
            ["run", str(examples_dir / "yesno.yaml"), "--model", str(tiny_causal_dir), "--json", str(tmp_path / name)],
        )
        assert res.exit_code == 0, res.output
        outputs.append(res.output)
        doc = json.loads((tmp_path / name).read_text())
        doc.pop("created")
        for t in doc["tasks"]:
            t.pop("seconds")
        docs.append(doc)
    assert "from the score cache" not in outputs[0]
    assert "(416 from the score cache)" in outputs[1]
    assert docs[0] == docs[1]
