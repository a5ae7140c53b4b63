"""benchmarks/replay_designs.py: incomplete designs replayed on a fully scored run (issue #24 item 5).

A small run-like document (reference, observed and unobserved instructions, every cell scored)
goes through the script's own reading and replay: each K's counts add up to the seeds, no replay
reaches the opposite decision, and K = m (every cell kept) is the full matrix's judgment.
"""

from __future__ import annotations

import importlib.util
import sys

import numpy as np
from conftest import ROOT

from promptcheck.stats import judge

SCRIPT = ROOT / "benchmarks" / "replay_designs.py"


def load_script():
    spec = importlib.util.spec_from_file_location("replay_designs", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def run_doc(n=60, m=4, seed=0):
    """A run document of one fully scored 2-choice task: reference, 2 observed, ``m`` unobserved."""
    rng = np.random.default_rng(seed)
    kinds = ["reference", "observed", "observed"] + ["unobserved"] * m
    accuracy = [0.9, 0.85, 0.85] + [0.6 + 0.05 * j for j in range(m)]
    answers = rng.integers(0, 2, n)
    right = rng.random((len(kinds), n)) < np.asarray(accuracy)[:, None]
    items = [
        {
            "id": f"i{i}",
            "answer": int(answers[i]),
            "n_choices": 2,
            "predictions": [int(answers[i] if right[j, i] else 1 - answers[i]) for j in range(len(kinds))],
        }
        for i in range(n)
    ]
    return {
        "kind": "run",
        "schema_version": 2,
        "seed": 0,
        "model": {"id": "tiny (test)"},
        "statistics": {"threshold": 0.05, "confidence": 0.95, "n_boot": 2000},
        "tasks": [
            {
                "name": "toy",
                "n_items": n,
                "instructions": [{"index": j, "text": f"instruction {j}", "kind": k} for j, k in enumerate(kinds)],
                "items": items,
                "robustness": {"threshold": 0.05, "confidence": 0.95},
            }
        ],
    }, right


def test_replay_counts_add_up_and_the_full_design_is_the_full_verdict():
    replay = load_script()
    doc, right = run_doc()
    m, seeds = 4, range(6)
    tasks, skipped = replay.replay_document(doc, "toy.json", seeds=seeds, ks=range(1, m + 1))
    assert skipped == [] and len(tasks) == 1
    t = tasks[0]
    # The unobserved rows only (the observed ones are not compared), judged as `run` judges them.
    expected = judge(right[0], right[3:], claim="phrasings", chance=[0.5] * right.shape[1])
    assert (t.full.verdict, t.full.drop, t.full.interval) == (expected.verdict, expected.drop, expected.interval)
    assert t.options["claim"] == "phrasings" and t.full.instructions == m
    assert [r.k for r in t.replays] == [1, 2, 3, 4]
    for r in t.replays:
        assert sum(r.counts.values()) == sum(r.verdicts.values()) == len(seeds)
        assert set(r.counts) <= set(replay.OUTCOMES) and r.counts["opposite"] == 0
        assert r.prompts_share == (1 + r.k) / (1 + m)
    full_k = t.replays[-1]
    assert full_k.counts["same"] == len(seeds) and set(full_k.drops) == {t.full.drop}
    total = replay.totals(tasks)
    assert total["replays"] == 4 * len(seeds) == sum(total[name] for name in replay.OUTCOMES)
    assert total["opposite"] == 0 and total["opposite_at"] == []
    assert "| tiny / toy | 60 | 4 | 1 |" in replay.markdown(tasks)


def test_outcome_names_every_pair_of_verdicts():
    replay = load_script()
    assert replay.outcome("pass", "pass") == "same"
    assert replay.outcome("fail", "inconclusive") == "inconclusive_where_full_decides"
    assert replay.outcome("inconclusive", "fail") == "decided_where_full_inconclusive"
    assert replay.outcome("pass", "fail") == replay.outcome("fail", "pass") == "opposite"
