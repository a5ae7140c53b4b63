"""The contract of ``confidence``, checked by seeded simulation through ``judge`` itself.

At a true drop equal to the threshold, a "fail" and a "pass" are each wrong; each must happen in
at most ``1 - confidence`` of runs (plus Monte-Carlo error: 600 trials give a standard error of
0.9 points, so the bound is 5% + 3 SE = 7.7%). Cells from docs/statistics.md's grid, sequential
looks included; the full grid is benchmarks/simulate_verdicts.py.
"""

from __future__ import annotations

import math

import pytest

from promptcheck.stats.simulate import Scenario, simulate

TRIALS = 600
BOUND = 0.05 + 3 * math.sqrt(0.05 * 0.95 / TRIALS)


@pytest.mark.parametrize(
    ("items", "instructions", "reference", "spread", "looks", "claim"),
    [
        (40, 12, 0.75, 0.05, None, "phrasings"),  # the 40 x 12 suite, single look
        (40, 12, 0.75, 0.05, (0.25, 0.5, 1.0), "phrasings"),  # ... and its sequential plan
        (200, 12, 0.6, 0.05, (0.25, 0.5, 1.0), "phrasings"),  # three looks that are all taken
        (30, 4, 0.3, 0.08, None, "phrasings"),  # few items and instructions, near the floor
        (300, 4, 0.95, 0.08, None, "phrasings"),  # near the ceiling with a wide, skewed spread
        (100, 8, 0.6, 0.05, None, "instructions"),  # the claim about these instructions
    ],
)
def test_wrong_decisions_at_the_threshold_stay_within_alpha(items, instructions, reference, spread, looks, claim):
    scenario = Scenario(
        items=items,
        instructions=instructions,
        reference_accuracy=reference,
        true_drop=0.05,
        instruction_sd=spread,
        chance=0.2 if reference >= 0.5 else 0.1,
        claim=claim,
    )
    result = simulate(scenario, trials=TRIALS, looks=looks, seed=20261203)
    assert result.fail_rate <= BOUND, f"wrong fails {result.fail_rate:.3f}"
    assert result.pass_rate <= BOUND, f"wrong passes {result.pass_rate:.3f}"


def test_the_simulated_suites_have_the_noise_real_suites_have():
    """Consistency 0.06-0.60 in the example suites; the paper's instruction sd is .034-.065."""
    wide = simulate(Scenario(items=200, instructions=12, reference_accuracy=0.6, instruction_sd=0.05), trials=50)
    stable = simulate(Scenario(items=200, instructions=4, reference_accuracy=0.95, instruction_sd=0.02), trials=50)
    assert wide.consistency < 0.25 and stable.consistency > 0.6
    assert 0.04 < wide.instruction_sd < 0.08


def test_minimum_detectable_drop_is_honest():
    """At the drop the gate says it detects 80% of the time, it fails about that often."""
    base = Scenario(items=300, instructions=12, reference_accuracy=0.75, instruction_sd=0.05, true_drop=0.05)
    mdd = simulate(base, trials=200, seed=1).mean_minimum_detectable_drop
    at_mdd = simulate(Scenario(**{**base.__dict__, "true_drop": mdd}), trials=TRIALS, seed=2)
    assert 0.65 <= at_mdd.fail_rate <= 0.92, (mdd, at_mdd.fail_rate)
    no_drop = simulate(Scenario(**{**base.__dict__, "true_drop": 0.0}), trials=200, seed=3)
    assert no_drop.pass_rate > 0.5 and no_drop.fail_rate == 0.0
