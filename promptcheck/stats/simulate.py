"""Simulated robustness experiments: how often does a gate say "fail" for a known true drop?

Used by the test suite (error rates of the verdict rule) and by ``docs/statistics.md``; also
a planning tool: how many items does a gate need to decide a given drop?

The synthetic model: item ``i`` has a latent difficulty ``u_i ~ U(0, 1)``; under instruction
``j`` it is answered correctly when ``u_i + jitter_ij < p_j``, with ``p_ref = base`` and
``p_j = base - true_drop + e_j``, ``e_j ~ N(0, instruction_sd)``. Items are the same across
instructions (pairing) and instructions differ (the spread Sun et al. 2023 report).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from promptcheck.stats.robustness import bootstrap_drop, verdict_for


@dataclass(frozen=True)
class SimulationResult:
    true_drop: float
    items: int
    instructions: int
    trials: int
    fail_rate: float
    pass_rate: float
    inconclusive_rate: float


def simulate_gate(
    *,
    true_drop: float,
    items: int = 200,
    instructions: int = 12,
    instruction_sd: float = 0.05,
    base: float = 0.75,
    jitter: float = 0.1,
    threshold: float = 0.05,
    confidence: float = 0.95,
    claim: str = "phrasings",
    trials: int = 400,
    n_boot: int = 1000,
    seed: int = 0,
) -> SimulationResult:
    """Run ``trials`` seeded experiments and count the verdicts of the promptcheck rule."""
    rng = np.random.default_rng(seed)
    counts = {"fail": 0, "pass": 0, "inconclusive": 0}
    for t in range(trials):
        u = rng.random(items)
        ref = (u + rng.uniform(-jitter, jitter, items)) < base
        p = base - true_drop + rng.normal(0.0, instruction_sd, instructions)
        para = (u[None, :] + rng.uniform(-jitter, jitter, (instructions, items))) < p[:, None]
        interval = bootstrap_drop(ref, para, claim=claim, confidence=confidence, n_boot=n_boot, seed=seed + t)
        counts[verdict_for(interval, threshold)] += 1
    return SimulationResult(true_drop, items, instructions, trials, counts["fail"] / trials, counts["pass"] / trials,
                            counts["inconclusive"] / trials)
