"""Statistics: interval helpers against scipy, and the verdict rule's error rates by simulation."""

from __future__ import annotations

import numpy as np
import pytest

import promptcheck as pc
from promptcheck.evaluation.results import InstructionResult, TaskResult
from promptcheck.models.base import ModelIdentity
from promptcheck.stats.robustness import (
    bootstrap_drop,
    consistency,
    mcnemar_exact,
    mean_kl,
    verdict_for,
    wilson,
)
from promptcheck.stats.simulate import simulate_gate


def test_wilson_interval_matches_the_formula():
    ci = wilson(80, 100, 0.95)
    z = 1.959963984540054
    p, n = 0.8, 100
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    assert (ci.low, ci.high) == pytest.approx((centre - half, centre + half), abs=1e-9)


def test_mcnemar_counts_only_discordant_pairs():
    ref = np.array([1, 1, 1, 1, 1, 1, 0, 0], dtype=bool)
    para = np.array([0, 0, 0, 0, 0, 1, 0, 1], dtype=bool)
    # 5 ref-only correct, 1 para-only: two-sided binomial p for 1 of 6.
    assert mcnemar_exact(ref, para) == pytest.approx(0.21875)
    assert mcnemar_exact(ref, ref) == 1.0


def test_consistency_and_kl():
    preds = np.array([[0, 1, 1], [0, 1, 0], [0, 1, 1]])
    assert consistency(preds) == pytest.approx(2 / 3)
    same = [[-0.1, -2.0], [-3.0, -0.2]]
    assert mean_kl([same], same) == pytest.approx(0.0, abs=1e-12)
    assert mean_kl([[[-2.0, -0.1], [-3.0, -0.2]]], same) > 0.5


def test_two_way_interval_is_wider_than_fixed_instructions():
    rng = np.random.default_rng(1)
    u = rng.random(100)
    ref = u < 0.8
    para = u[None, :] < (0.7 + rng.normal(0, 0.08, 8))[:, None]
    fixed = bootstrap_drop(ref, para, claim="instructions", seed=3)
    general = bootstrap_drop(ref, para, claim="phrasings", seed=3)
    assert general.high - general.low > fixed.high - fixed.low
    assert bootstrap_drop(ref, para, claim="phrasings", seed=3) == general, "seeded: same interval twice"


def test_verdict_rule():
    from promptcheck.stats.robustness import Interval

    assert verdict_for(Interval(0.06, 0.2, 0.95), 0.05) == "fail"
    assert verdict_for(Interval(-0.1, 0.04, 0.95), 0.05) == "pass"
    assert verdict_for(Interval(0.0, 0.1, 0.95), 0.05) == "inconclusive"


def test_no_drop_rarely_fails_a_five_point_gate():
    """400 seeded trials, true drop 0, instruction sd 0.05: 'fail' in at most ~5% (docs/statistics.md)."""
    res = simulate_gate(true_drop=0.0, items=200, trials=400)
    assert res.fail_rate <= 0.05


def test_a_ten_point_drop_fails_the_gate_in_most_trials_at_200_items():
    res = simulate_gate(true_drop=0.10, items=200, trials=400)
    assert res.fail_rate > 0.5


def _result(correct: list[list[bool]], kinds: list[str]) -> TaskResult:
    n = len(correct[0])
    items = tuple(pc.MCItem(f"i{k}", f"q{k}", ("a", "b"), 0) for k in range(n))
    task = pc.Task(name="t", items=items, reference_instruction="ref")
    rows = tuple(
        InstructionResult(pc.Instruction("ref" if kind == "reference" else f"p{j}", kind),
                          tuple(0 if c else 1 for c in row), tuple(row), tuple((-0.1, -2.0) if c else (-2.0, -0.1)
                                                                                for c in row))
        for j, (row, kind) in enumerate(zip(correct, kinds))
    )
    return TaskResult(task=task, model=ModelIdentity(id="synthetic"), instructions=rows, prompts_scored=n * len(rows))


def test_assert_robust_fails_with_a_message_that_carries_the_evidence():
    rng = np.random.default_rng(0)
    u = rng.random(300)
    ref = list(u < 0.9)
    paras = [list(u < p) for p in (0.5, 0.55, 0.6, 0.45)]
    result = _result([ref] + paras, ["reference", "unobserved", "unobserved", "observed", "unobserved"])
    with pytest.raises(pc.RobustnessError) as info:
        pc.assert_robust(result, max_accuracy_drop=0.05)
    v = info.value.verdict
    assert isinstance(info.value, AssertionError)
    assert v.verdict == "fail" and v.claim == "phrasings" and v.interval.low > 0.05
    msg = str(info.value)
    for part in ("FAIL", "interval", "threshold 5.0", "worst instructions", "'p4'", "300 items x 4", "seed 0",
                 "synthetic"):
        assert part in msg, part
    assert len(v.worst) == 3 and v.worst[0][0] == "p4"


def test_inconclusive_fails_by_default_and_passes_on_request():
    rng = np.random.default_rng(1)
    rows = [list(rng.random(20) < p) for p in (0.7, 0.65, 0.7)]  # unpaired noise, 20 items: cannot decide
    result = _result(rows, ["reference", "unobserved", "unobserved"])
    with pytest.raises(pc.RobustnessError, match="add items"):
        pc.assert_robust(result)
    assert pc.assert_robust(result, on_inconclusive="pass").verdict == "inconclusive"


def test_sequential_evaluation_stops_early_when_the_interval_decides(examples_dir):
    """A model whose answers collapse under any paraphrase: decided at the first look."""

    from tiny_models import RuleModel

    collapsing = RuleModel("collapsing", lambda ctx: ctx.startswith("Classify the sentiment of the following review"))

    task = pc.load_task(examples_dir / "sentiment.yaml")
    task = pc.Task(**{**task.__dict__, "items": tuple(i for i in task.items if i.answer == 0)})
    with pytest.raises(pc.RobustnessError) as info:
        pc.assert_robust(collapsing, task, sequential=True, looks=(0.25, 0.5, 1.0))
    v = info.value.verdict
    assert v.verdict == "fail" and v.looks_used == 1 and v.looks_planned == 3
    assert v.prompts_scored < len(task.items) * 13
    assert "1/3 looks" in str(info.value)
