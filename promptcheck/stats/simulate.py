"""Simulated gates: how often does :func:`promptcheck.stats.judge` decide wrongly for a known true drop?

The simulation study behind docs/statistics.md (``benchmarks/simulate_verdicts.py`` prints its
tables) and the seeded checks in tests/unit/test_verdict_contract.py. A generator with the
noise real suites have, so a verdict's "95%" is checked where it matters:

- **item difficulty** varies: item ``i`` has a latent ability ``theta_i ~ N(0, difficulty_sd)``;
- **instruction effects**: instruction ``j`` shifts every item by ``beta_j``; across the
  population of phrasings the instructions' accuracies scatter with sd ``instruction_sd``
  (accuracy scale; the paper's is .034-.065);
- **answers that flip between instructions**: an item x instruction term ``s_i z_ij`` whose size
  ``s_i`` differs between stable items and "flippy" ones (a share ``flippy_share``), so
  consistency (items answered alike under every instruction) spans what real suites show;
- **guessing**: a wrong latent answer is still right with probability ``chance``;
- **incomplete designs** (``per_item``): each item is scored under ``per_item`` of the
  instructions, dealt by :func:`promptcheck.stats.design.balanced_design` (a fresh seeded design
  per run; the reference on every item), and judged from the cells scored (NaN elsewhere).

An item is correct under instruction ``j`` when ``theta_i + beta_j + s_i z_ij > 0`` (or the guess
lands). The accuracy of an instruction with shift ``b`` over the item population is
``chance + (1 - chance) sum_k pi_k Phi(b / sqrt(difficulty_sd^2 + s_k^2))``, so the reference
shift and the paraphrase population's mean shift are solved exactly for a given reference
accuracy and true drop (population drop for claim ``phrasings``; for claim ``instructions``
the drawn instructions are shifted together so that *their* drop is the true one).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace

import numpy as np
from scipy import optimize
from scipy import stats as sps

from promptcheck.stats.design import balanced_design
from promptcheck.stats.verdicts import judge


@dataclass(frozen=True)
class Scenario:
    """One cell of the simulation grid (every field has a realistic default)."""

    items: int = 100
    instructions: int = 12
    reference_accuracy: float = 0.75
    true_drop: float = 0.05
    instruction_sd: float = 0.05
    difficulty_sd: float = 1.5
    flip_sd: tuple[float, float] = (0.3, 2.0)
    flippy_share: float = 0.4
    chance: float = 0.2
    claim: str = "phrasings"
    #: Instructions scored per item (a balanced incomplete design); None: every instruction, every item.
    per_item: int | None = None

    def prompts(self, items: float | None = None) -> float:
        """Prompts scored for ``items`` items (default: all): the reference and each scored cell."""
        n = self.items if items is None else items
        return n * (1 + (self.per_item or self.instructions))

    def _scales(self, extra: float = 0.0) -> np.ndarray:
        return np.sqrt(self.difficulty_sd**2 + np.square(np.asarray(self.flip_sd)) + extra)

    def accuracy(self, shift: float | np.ndarray, extra_var: float = 0.0) -> np.ndarray:
        """Population accuracy of an instruction with ``shift`` (``extra_var``: shift uncertainty)."""
        weights = np.array([1.0 - self.flippy_share, self.flippy_share])
        z = np.asarray(shift, dtype=np.float64)[..., None] / self._scales(extra_var)
        return self.chance + (1.0 - self.chance) * (sps.norm.cdf(z) * weights).sum(axis=-1)

    def _solve(self, target: float, extra_var: float = 0.0) -> float:
        if not self.chance < target < 1.0:
            raise ValueError(f"accuracy {target:.3f} is not reachable above chance {self.chance}")
        return float(optimize.brentq(lambda b: float(self.accuracy(b, extra_var)) - target, -400.0, 400.0))

    def population(self, b0: float, tau: float) -> tuple[float, float]:
        """Mean and sd of instruction accuracies when shifts are N(b0, tau^2) (Gauss-Hermite quadrature)."""
        x, w = np.polynomial.hermite_e.hermegauss(80)
        w = w / w.sum()
        acc = self.accuracy(b0 + tau * x)
        mean = float((w * acc).sum())
        return mean, float(math.sqrt(max((w * np.square(acc - mean)).sum(), 0.0)))

    def shifts(self) -> tuple[float, float, float]:
        """(reference shift, paraphrase mean shift, paraphrase shift sd) for this scenario.

        Solved exactly: the paraphrase population's mean accuracy is ``reference_accuracy -
        true_drop`` and its accuracies' sd is ``instruction_sd`` (not a linearisation, which
        overshoots near a ceiling). Cached: the sizes and the claim do not enter, and solving
        takes about a second (the study's searches simulate one population at many sizes).
        """
        return _solved_shifts(replace(self, items=1, instructions=1, claim="phrasings", per_item=None))

    def _solve_shifts(self) -> tuple[float, float, float]:
        b_ref = self._solve(self.reference_accuracy)
        target = self.reference_accuracy - self.true_drop
        if not self.chance < target < 1.0:
            raise ValueError(f"accuracy {target:.3f} is not reachable above chance {self.chance}")

        def b0_for(tau: float) -> float:
            return float(optimize.brentq(lambda b: self.population(b, tau)[0] - target, -400.0, 400.0))

        if self.instruction_sd <= 0:
            return b_ref, b0_for(0.0), 0.0
        sd_at = lambda tau: self.population(b0_for(tau), tau)[1] - self.instruction_sd  # noqa: E731
        if sd_at(50.0) < 0:
            raise ValueError(f"instruction sd {self.instruction_sd} is not reachable at mean accuracy {target:.3f}")
        tau = float(optimize.brentq(sd_at, 0.0, 50.0, xtol=1e-6))
        return b_ref, b0_for(tau), tau


@functools.lru_cache(maxsize=512)
def _solved_shifts(scenario: Scenario) -> tuple[float, float, float]:
    return scenario._solve_shifts()


@dataclass(frozen=True)
class SimulationResult:
    """Verdict rates over ``trials`` seeded runs of one scenario, with what the data looked like."""

    scenario: Scenario
    looks: tuple[float, ...] | None
    trials: int
    fail_rate: float
    pass_rate: float
    inconclusive_rate: float
    consistency: float
    instruction_sd: float
    #: Over the runs whose suite detects some possible drop; the others are ``undetectable_rate``.
    mean_minimum_detectable_drop: float
    mean_items_used: float
    #: Share of runs where no drop the reference allows would fail the gate 80% of the time.
    undetectable_rate: float = 0.0
    #: Prompts scored up to the look that decided (reference and scored cells), on average.
    mean_prompts_used: float = 0.0

    def monte_carlo_error(self, rate: float) -> float:
        """Standard error of a rate estimated from ``trials`` runs."""
        return math.sqrt(max(rate * (1 - rate), 1e-12) / self.trials)

    def to_json(self) -> dict:
        return {
            **asdict(self.scenario),
            "looks": self.looks,
            "trials": self.trials,
            "fail_rate": self.fail_rate,
            "pass_rate": self.pass_rate,
            "inconclusive_rate": self.inconclusive_rate,
            "consistency": self.consistency,
            "instruction_sd_measured": self.instruction_sd,
            "mean_minimum_detectable_drop": self.mean_minimum_detectable_drop,
            "mean_items_used": self.mean_items_used,
            "undetectable_rate": self.undetectable_rate,
            "mean_prompts_used": self.mean_prompts_used,
        }


def generate(
    scenario: Scenario, rng: np.random.Generator, shifts: tuple[float, float, float] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """One synthetic suite: (reference (items,), paraphrases (instructions, items)) correctness;
    for an incomplete design (``per_item``) the paraphrases are floats with NaN where not scored.

    ``shifts``: :meth:`Scenario.shifts`, solved once per scenario by :func:`simulate`."""
    ref, para = _answers(scenario, rng, shifts)
    mask = _design(scenario, rng)
    return ref, (para if mask is None else np.where(mask, para, np.nan))


def _design(scenario: Scenario, rng: np.random.Generator) -> np.ndarray | None:
    """The cells scored (a fresh balanced design from ``rng``), or None for the complete design."""
    if scenario.per_item is None:
        return None
    return balanced_design(scenario.items, scenario.instructions, scenario.per_item, int(rng.integers(2**31)))


def _answers(
    scenario: Scenario, rng: np.random.Generator, shifts: tuple[float, float, float] | None
) -> tuple[np.ndarray, np.ndarray]:
    """Every answer of one synthetic suite, scored or not (the complete matrix)."""
    s = scenario
    b_ref, b0, tau = shifts if shifts is not None else s.shifts()
    n, m = s.items, s.instructions
    theta = rng.normal(0.0, s.difficulty_sd, n)
    flip = np.where(rng.random(n) < s.flippy_share, s.flip_sd[1], s.flip_sd[0])
    beta = rng.normal(b0, tau, m)
    if s.claim == "instructions":
        # The claim is about these instructions: shift them together so their own drop is the true drop.
        target = s.reference_accuracy - s.true_drop
        c = optimize.brentq(lambda c: float(s.accuracy(beta + c).mean()) - target, -40.0, 40.0)
        beta = beta + c
    offsets = np.concatenate([[b_ref], beta])
    latent = theta[None, :] + offsets[:, None] + flip[None, :] * rng.standard_normal((m + 1, n))
    correct = (latent > 0) | (rng.random((m + 1, n)) < s.chance)
    return correct[0], correct[1:]


def simulate(
    scenario: Scenario,
    *,
    trials: int = 1000,
    threshold: float = 0.05,
    confidence: float = 0.95,
    looks: Sequence[float] | None = None,
    seed: int = 0,
    pass_chance: bool = True,
) -> SimulationResult:
    """Run ``trials`` seeded suites of ``scenario`` through :func:`judge` and count its verdicts
    (``pass_chance``: tell judge the chance accuracy, as assert_robust does from the choices)."""
    rng = np.random.default_rng(seed)
    shifts = scenario.shifts()
    counts = {"fail": 0, "pass": 0, "inconclusive": 0}
    cons, sds, mdds, used, prompts = [], [], [], [], []
    for _ in range(trials):
        ref, para = _answers(scenario, rng, shifts)
        mask = _design(scenario, rng)
        j = judge(
            ref,
            para if mask is None else np.where(mask, para, np.nan),
            max_accuracy_drop=threshold,
            confidence=confidence,
            claim=scenario.claim,
            looks=tuple(looks) if looks else None,
            chance=scenario.chance if pass_chance else None,
        )
        counts[j.verdict] += 1
        all_rows = np.vstack([ref[None, :], para])
        cons.append(float(np.mean(np.all(all_rows == all_rows[0], axis=0))))
        sds.append(float(np.std(para.mean(axis=1), ddof=1)))
        mdds.append(j.minimum_detectable_drop if j.minimum_detectable_drop is not None else math.nan)
        used.append(j.items_used)
        cells = para.shape[0] * j.items_used if mask is None else int(mask[:, : j.items_used].sum())
        prompts.append(j.items_used + cells)
    return SimulationResult(
        scenario=scenario,
        looks=tuple(looks) if looks else None,
        trials=trials,
        fail_rate=counts["fail"] / trials,
        pass_rate=counts["pass"] / trials,
        inconclusive_rate=counts["inconclusive"] / trials,
        consistency=float(np.mean(cons)),
        instruction_sd=float(np.mean(sds)),
        mean_minimum_detectable_drop=float(np.nanmean(mdds)) if not np.all(np.isnan(mdds)) else math.nan,
        mean_items_used=float(np.mean(used)),
        undetectable_rate=float(np.mean(np.isnan(mdds))),
        mean_prompts_used=float(np.mean(prompts)),
    )
