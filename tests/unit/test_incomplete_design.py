"""Incomplete items x instructions designs (issue #24): each item scored under some instructions.

The drop's variance estimator against its exact value on small designs, the judge on matrices
with cells not scored (and unchanged on complete ones), balanced assignment, and the simulation
of incomplete designs. The error-rate grid is benchmarks/simulate_verdicts.py --incomplete.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from promptcheck.errors import InputError
from promptcheck.stats.design import balanced_design, mask_matrix
from promptcheck.stats.simulate import Scenario, generate, simulate
from promptcheck.stats.verdicts import (
    components,
    design_sizes,
    incomplete_components,
    incomplete_moments,
    judge,
    judge_change,
    plan_sizes,
)


def _cells(ref: np.ndarray, para: np.ndarray) -> np.ndarray:
    """The complete design's cell differences d[j, i] = reference[i] - paraphrase[j, i]."""
    return ref[None, :].astype(float) - para.astype(float)


def _suite(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The random complete suites whose judgments were recorded before incomplete designs existed."""
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(20, 400)), int(rng.integers(2, 15))
    acc = rng.uniform(0.4, 0.95)
    u = rng.random(n)
    return u < acc, (u[None, :] + rng.normal(0, 0.3, (m, n))) < acc - rng.uniform(0, 0.15)


SEQUENTIAL = (0.25, 0.5, 1.0)
# judge() on _suite(seed) at the commit before this change (494e3e3): verdict, drop, bounds,
# minimum detectable drop, items and instructions needed. The minimum detectable drops were
# re-recorded on 2026-12-07, when the power calculation started predicting the variance and the
# logit bound at the alternative (docs/statistics.md, "Power you can see"); the rest is as recorded.
RECORDED = [
    (1, {}, ("fail", 0.08856783919597999, 0.05832216715946859, 0.11950434336262661, 0.0948828843887087, 310, 60)),
    (
        1,
        {"looks": SEQUENTIAL},
        ("fail", 0.08856783919597999, 0.05727714631657262, 0.12059753234351114, 0.095996697237053, 326, 154),
    ),
    (
        1,
        {"claim": "instructions", "relative": True, "chance": 0.25, "max_accuracy_drop": 0.1},
        ("inconclusive", 0.12935779816513773, 0.09099283796650177, 0.1659235130493782, 0.1639356843774884, 873, None),
    ),
    (
        3,
        {"looks": SEQUENTIAL},
        ("fail", 0.12195121951219512, 0.07724207545102693, 0.1657068088347753, 0.113328904532386, 417, 4),
    ),
]


@pytest.mark.parametrize(("seed", "options", "expected"), RECORDED)
def test_a_complete_matrix_is_judged_as_before(seed, options, expected):
    ref, para = _suite(seed)
    j = judge(ref, para, seed=seed, **options)
    assert j.verdict == expected[0]
    got = (j.drop, j.interval.low, j.interval.high, j.minimum_detectable_drop)
    assert got == pytest.approx(expected[1:5], rel=1e-9)
    assert (j.items_needed, j.instructions_needed) == expected[5:]


@pytest.mark.parametrize("seed", [0, 2, 5])
@pytest.mark.parametrize(
    "options",
    [
        {},
        {"claim": "instructions"},
        {"looks": SEQUENTIAL},
        {"relative": True, "chance": 0.25, "max_accuracy_drop": 0.1},
        {"claim": "instructions", "looks": SEQUENTIAL, "planned_items": 500},
    ],
)
def test_a_complete_matrix_as_floats_or_masked_is_judged_exactly_as_bools(seed, options):
    ref, para = _suite(seed)
    options = {**options, "planned_items": max(options.get("planned_items", 0), ref.size)}
    as_bools = judge(ref, para, seed=seed, **options).to_json()
    assert judge(ref.astype(float), para.astype(float), seed=seed, **options).to_json() == as_bools
    assert judge(ref, np.ma.masked_array(para, mask=False), seed=seed, **options).to_json() == as_bools
    # An instruction with no cell scored is left out, as if it were not given.
    padded = np.vstack([para.astype(float), np.full((1, ref.size), np.nan)])
    assert judge(ref, padded, seed=seed, **options).to_json() == as_bools


def test_the_incomplete_estimator_on_a_complete_matrix_is_the_two_way_anova():
    ref, para = _suite(4)
    old = components(_cells(ref, para), "phrasings", para.mean(axis=1), 3, 0.25)
    new = incomplete_components(ref, para.astype(float), "phrasings", seed=3, chance=0.25)
    for field in ("mean", "variance", "df", "items", "instructions", "residual", "var_items", "var_instructions"):
        assert getattr(new, field) == pytest.approx(getattr(old, field), rel=1e-9, abs=1e-15), field
    assert new.skew_items == pytest.approx(old.skew_items, rel=1e-6, abs=1e-12)
    assert new.logit == pytest.approx(old.logit)


def _gaussian_check(mask: np.ndarray, trials: int, seed: int) -> tuple[float, float, float, float]:
    """(exact Var(D), Monte-Carlo Var(D), mean estimate, its standard error) under a Gaussian
    crossed model: reference u_i, paraphrase v_i + b_j + e_ij, (u, v) correlated."""
    su, sv, rho, sb, se = 1.0, 0.8, 0.6, 0.5, 0.7
    m, n = mask.shape
    rng = np.random.default_rng(seed)
    chol = np.linalg.cholesky(np.array([[su**2, rho * su * sv], [rho * su * sv, sv**2]]))
    drops, estimates = np.empty(trials), np.empty(trials)
    for t in range(trials):
        u, v = chol @ rng.standard_normal((2, n))
        para = v[None, :] + rng.normal(0, sb, (m, 1)) + rng.normal(0, se, (m, n))
        mo = incomplete_moments(u, np.where(mask, para, np.nan))
        drops[t], estimates[t] = mo.mean, mo.var_items + mo.instructions / m
    # D = mean(u) - (1/m) sum_j mean_{i in I_j}(v_i + b_j + e_ij): each term's variance, by hand.
    sizes = mask.sum(axis=1)
    w = (mask / sizes[:, None]).sum(axis=0) / m  # each item's weight in the paraphrases' mean
    exact = (
        su**2 / n
        - 2 * rho * su * sv / n
        + sv**2 * float(np.sum(w**2))
        + sb**2 / m
        + se**2 * float(np.sum(1.0 / sizes)) / m**2
    )
    return exact, float(drops.var(ddof=1)), float(estimates.mean()), float(estimates.std() / math.sqrt(trials))


@pytest.mark.parametrize(
    "design",
    ["unbalanced, one instruction with a single item", "balanced, 2 of 4 per item"],
)
def test_the_variance_estimate_is_unbiased_on_small_designs(design):
    if design.startswith("unbalanced"):
        mask = np.random.default_rng(5).random((5, 12)) < 0.45
        mask[0, :] = False
        mask[0, 3] = True  # its own variance cannot be estimated: the pooled one stands in
        mask[1, :2] = True
    else:
        mask = balanced_design(10, 4, 2, seed=0)
    exact, brute, mean, se = _gaussian_check(mask, trials=4000, seed=11)
    assert brute == pytest.approx(exact, rel=5 * math.sqrt(2 / 4000)), "the hand formula is the variance of D"
    assert abs(mean - exact) < 4 * se, (mean, exact, se)


def test_the_variance_estimate_is_unbiased_on_binary_answers():
    """The simulation's generator (difficulty, flips, guessing: cell variances differ by item)."""
    sc = Scenario(items=20, instructions=6, reference_accuracy=0.7, true_drop=0.05, instruction_sd=0.08)
    shifts, rng = sc.shifts(), np.random.default_rng(1)
    mask = balanced_design(20, 6, 2, seed=3)
    drops, estimates = [], []
    for _ in range(3000):
        ref, para = generate(sc, rng, shifts)
        mo = incomplete_moments(ref.astype(float), np.where(mask, para, np.nan))
        drops.append(mo.mean)
        estimates.append(mo.var_items + mo.instructions / 6)
    truth, mean = float(np.var(drops, ddof=1)), float(np.mean(estimates))
    tolerance = 4 * math.hypot(truth * math.sqrt(2 / 3000), float(np.std(estimates)) / math.sqrt(3000))
    assert abs(mean - truth) < tolerance, (mean, truth)


def test_an_incomplete_judgment_reports_its_drop_and_a_coherent_interval():
    rng = np.random.default_rng(2)
    n, m, k = 400, 24, 3
    u = rng.random(n)
    ref = u < 0.8
    para = (u[None, :] + rng.normal(0, 0.25, (m, n))) < 0.62
    mask = balanced_design(n, m, k, seed=1)
    cells = mask_matrix(para, mask)
    j = judge(ref, cells, seed=1)
    per_instruction = [para[row, mask[row]].mean() for row in range(m)]
    assert j.reference_accuracy == ref.mean() and j.mean_accuracy == pytest.approx(np.mean(per_instruction))
    assert j.drop == pytest.approx(ref.mean() - np.mean(per_instruction))
    assert j.interval.low < j.drop < j.interval.high and j.verdict == "fail"
    assert "incomplete design, 3 of 24 instructions per item" in j.method
    assert j.components.per_item == k and j.minimum_detectable_drop is not None
    assert judge(ref, np.ma.masked_array(para, mask=~mask), seed=1).to_json() == j.to_json()
    seq = judge(ref, cells, looks=SEQUENTIAL, seed=1)
    assert seq.verdict == "fail" and seq.items_used < n and seq.looks_used < 3
    rel = judge(ref, cells, relative=True, chance=0.25, max_accuracy_drop=0.1)
    assert rel.interval.low < rel.drop < rel.interval.high
    assert rel.drop == pytest.approx(j.drop / (ref.mean() - 0.25))
    # Scoring fewer cells costs precision: the same answers with every cell are judged tighter.
    assert judge(ref, para, seed=1).standard_error < j.standard_error


def test_the_floor_and_the_instruction_spread_still_bound_an_incomplete_design():
    """All right on 40 items does not prove a drop under 5 points; a spread of bad phrasings widens."""
    mask = balanced_design(40, 8, 2, seed=0)
    assert judge(np.ones(40, bool), mask_matrix(np.ones((8, 40), bool), mask)).verdict == "inconclusive"
    rng = np.random.default_rng(3)
    n, m = 600, 16
    ref = rng.random(n) < 0.9
    even = ref[None, :] & (rng.random((m, n)) < 0.96)
    spread = ref[None, :] & (rng.random((m, n)) < np.linspace(0.85, 1.0, m)[:, None])
    design = balanced_design(n, m, 4, seed=2)
    narrow, wide = judge(ref, mask_matrix(even, design)), judge(ref, mask_matrix(spread, design))
    assert wide.components.logit is not None and wide.components.logit[1] > narrow.components.logit[1]
    assert wide.components.var_instructions > narrow.components.var_instructions


def test_variance_at_predicts_a_balanced_design_and_design_sizes_plan_it():
    rng = np.random.default_rng(7)
    n, m, k = 900, 30, 3
    u = rng.random(n)
    ref = u < 0.75
    para = (u[None, :] + rng.normal(0, 0.3, (m, n)) + rng.normal(0, 0.05, (m, 1))) < 0.7
    comp = incomplete_components(ref, mask_matrix(para, balanced_design(n, m, k, seed=4)), "phrasings")
    assert comp.variance_at(n, m) == pytest.approx(comp.variance, rel=1e-3)
    assert comp.variance_at(n, m, m) < comp.variance_at(n, m) < comp.variance_at(n, m, 1)
    sizes = design_sizes(comp, variance=comp.variance_at(2 * n, m))
    assert sizes[k] == pytest.approx(2 * n, abs=1) and list(sizes) == list(range(1, m + 1))
    assert all(a is None or b <= a for a, b in zip(list(sizes.values()), list(sizes.values())[1:]))
    # For a complete pilot, the full design (k = m) is plan_sizes' item count.
    full = components(_cells(ref, para), "phrasings", para.mean(axis=1))
    planned, _ = plan_sizes(full, gap=0.03, alpha=0.05, items=n, instructions=m)
    assert design_sizes(full, gap=0.03, alpha=0.05)[m] == planned
    with pytest.raises(InputError, match="either a target variance or a gap"):
        design_sizes(full, variance=1e-4, gap=0.03, alpha=0.05)


def test_balanced_design_deals_every_item_its_instructions_and_every_prefix_evenly():
    for m, k in [(4, 1), (4, 3), (7, 4), (12, 4), (40, 4), (48, 1), (5, 5)]:
        design = balanced_design(301, m, k, seed=9)
        assert design.shape == (m, 301) and design.dtype == bool
        assert (design.sum(axis=0) == k).all(), "exactly k distinct instructions per item"
        counts = np.cumsum(design, axis=1)  # per instruction, over every prefix of the items
        assert (counts.max(axis=0) - counts.min(axis=0) <= 1).all(), (m, k)
        assert (balanced_design(77, m, k, seed=9) == design[:, :77]).all(), "nested under prefixes"
    assert (balanced_design(50, 12, 4, seed=1) == balanced_design(50, 12, 4, seed=1)).all()
    assert (balanced_design(50, 12, 4, seed=1) != balanced_design(50, 12, 4, seed=2)).any()
    pairs = balanced_design(600, 12, 4, seed=0).astype(int)
    shared = pairs @ pairs.T
    assert shared[~np.eye(12, dtype=bool)].min() > 0, "every pair of instructions shares some items"


@pytest.mark.parametrize("per_item", [0, -1, 1.5, True, "2", 13])
def test_bad_instructions_per_item_are_refused_in_one_line(per_item):
    with pytest.raises(InputError) as info:
        balanced_design(10, 12, per_item, seed=0)
    assert info.value.field == "instructions_per_item" and "\n" not in str(info.value)


def test_a_reference_with_a_cell_not_scored_is_refused_in_one_line():
    ref = np.ones(30)
    ref[4] = np.nan
    para = np.ones((3, 30))
    for reference in (ref, np.ma.masked_array(np.ones(30), mask=np.arange(30) == 4)):
        with pytest.raises(InputError, match="reference must be scored on every item") as info:
            judge(reference, para)
        assert info.value.field == "reference" and "\n" not in str(info.value)
    with pytest.raises(InputError, match="must hold booleans"):
        judge(np.ones(30), np.where(np.eye(3, 30) > 0, np.nan, 0.5))
    with pytest.raises(InputError, match="no paraphrase cell"):
        judge(np.ones(30), np.full((3, 30), np.nan))
    with pytest.raises(InputError, match="not supported here"):
        judge_change(np.ones(30, bool), mask_matrix(np.ones((3, 30), bool), balanced_design(30, 3, 1, 0)), ref, para)
    with pytest.raises(InputError) as info:
        mask_matrix(np.ones((3, 30), bool), np.ones((3, 29), bool))
    assert info.value.field == "mask"


def test_a_small_simulation_of_an_incomplete_design_runs():
    sc = Scenario(items=60, instructions=12, per_item=3, reference_accuracy=0.75, true_drop=0.05)
    ref, para = generate(sc, np.random.default_rng(0))
    assert ref.shape == (60,) and (np.isfinite(para).sum(axis=0) == 3).all()
    result = simulate(sc, trials=20, seed=1, looks=SEQUENTIAL)
    assert result.fail_rate + result.pass_rate + result.inconclusive_rate == pytest.approx(1.0)
    assert result.mean_prompts_used <= sc.prompts() == 60 * 4
    full = simulate(dataclasses.replace(sc, per_item=None), trials=20, seed=1)
    assert full.mean_prompts_used == 60 * 13
    assert result.mean_minimum_detectable_drop > full.mean_minimum_detectable_drop, "fewer cells, coarser gate"


def test_a_look_with_about_one_item_per_instruction_is_skipped():
    """At 50 items, 48 instructions, 1 per item, an instruction has one item: no variance of its own."""
    cells = mask_matrix(np.zeros((48, 100), bool), balanced_design(100, 48, 1, seed=0))
    j = judge(np.ones(100, bool), cells, looks=(0.5, 1.0))
    assert j.verdict == "fail" and j.items_used == 100 and j.looks_used == 2
    early = judge(np.ones(100, bool), np.zeros((48, 100), bool), looks=(0.5, 1.0))
    assert early.items_used == 50, "a complete design decides at the first look"


def test_a_design_too_sparse_to_judge_at_its_full_size_says_so():
    rng = np.random.default_rng(0)
    cells = mask_matrix(rng.random((48, 30)) < 0.7, balanced_design(30, 48, 1, seed=0))
    j = judge(rng.random(30) < 0.8, cells)
    assert j.verdict == "inconclusive" and not j.decidable and j.minimum_detectable_drop is None
    assert "cannot decide at this size" in j.describe_interval() and j.items_needed is not None
    interim = judge(rng.random(30) < 0.8, cells, planned_items=200)
    assert interim.decidable and "score more items" in interim.describe_interval()
    assert "nan" not in interim.describe_interval() + j.describe_interval()
