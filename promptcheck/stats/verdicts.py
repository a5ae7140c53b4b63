"""``judge``: the one verdict on an accuracy drop under paraphrase, over plain arrays.

Every verdict promptcheck gives (``assert_robust``, the pytest plugin, ``run --json``, the HTML
report, ``compare``, ``fix_report.json``) comes from :func:`judge`. It works on a reference
correctness vector (items,) and a paraphrase correctness matrix (instructions, items), so its
error rates can be checked by simulation without a model (``promptcheck.stats.simulate``,
``benchmarks/simulate_verdicts.py``, docs/statistics.md).

The rule, and why:

- **The drop** is reference accuracy minus the mean accuracy over the compared instructions.
  Its variance comes from a two-way crossed random-effects decomposition of the per-cell
  differences ``d[j, i] = reference[i] - paraphrase[j, i]`` (items x instructions, as in
  generalizability theory). The item part and the instruction part are bounded separately and
  combined by MOVER (:meth:`Components.bounds` says how each is corrected for skewness);
  ``claim="instructions"`` (these instructions, fixed) drops the instruction part.
- **Two one-sided tests** (the equivalence-test construction): "fail" when the lower one-sided
  bound at ``confidence`` is above the threshold, "pass" when the upper one-sided bound is
  below it, else "inconclusive". So a fail when the true drop is at or below the threshold and
  a pass when it is at or above it each happen in at most ``1 - confidence`` of runs; the two
  bounds together form a ``1 - 2 (1 - confidence)`` two-sided interval, and every output says so.
- **Sequential looks** spend alpha by an O'Brien-Fleming-like Lan-DeMets function
  ``a(t) = 2 - 2 Phi(z_{1-a/2} / sqrt(t))`` per direction; look k tests at the increment
  ``a(t_k) - a(t_{k-1})`` (a union bound over looks, valid whatever the correlation between
  looks). Looks with fewer than :data:`MIN_LOOK_ITEMS` items are skipped: an interval on a
  handful of binary items is not trustworthy, and O'Brien-Fleming spends almost nothing there.
- **Power**: ``minimum_detectable_drop`` is the true drop at which this design fails the gate
  with 80% probability, from the same bounds as they would be at that drop (:func:`_detectable`:
  a latent-threshold model of the answers for the item variance there, the logit bound taken at
  the lower accuracy); :func:`plan_sizes` turns the variance components into items or
  instructions needed.
- **Incomplete designs** (each item scored under some instructions, NaN elsewhere): the same
  rule on the reference accuracy minus the mean of the instructions' own accuracies, with that
  estimate's variance estimated without bias from the cells scored
  (:func:`incomplete_components`); :func:`design_sizes` plans items per instructions-per-item.

The verdict is a function of the arrays and ``seed`` (which seeds the Monte-Carlo part of the
instruction bound): same inputs, same judgment.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from scipy import optimize, special

from promptcheck.errors import InputError
from promptcheck.options import CLAIMS as OPTION_CLAIMS
from promptcheck.options import confidence_problem
from promptcheck.stats.robustness import Interval, wilson

#: The claims a verdict can test (``auto`` of :data:`promptcheck.options.CLAIMS` is resolved before).
CLAIMS = tuple(c for c in OPTION_CLAIMS if c != "auto")
VERDICTS = ("pass", "fail", "inconclusive")
#: A look with fewer items than this is skipped (its alpha carried to the next look).
MIN_LOOK_ITEMS = 30
#: The power at which ``minimum_detectable_drop`` is quoted.
POWER = 0.8
#: In an incomplete design, a look whose instructions have fewer scored items than this on average
#: is skipped (its alpha carried forward): most of them would have no variance of their own, only
#: the few others' pooled, and wrong decisions reached 9-12% at one item each (docs/statistics.md).
MIN_INSTRUCTION_ITEMS = 2


# -- variance components --------------------------------------------------------------------------
@dataclass(frozen=True)
class Components:
    """The drop's variance split into an item part and an instruction part, and how to bound it.

    ``items``, ``instructions`` and ``residual`` are the estimated variance components of one
    cell (floored at zero); :meth:`variance_at` predicts the variance of the mean at another
    size; :meth:`bounds` gives the one-sided bounds a verdict uses.
    """

    mean: float
    variance: float
    df: float
    items: float
    instructions: float
    residual: float
    claim: str
    n_items: int = 0
    n_instructions: int = 0
    var_items: float = 0.0
    var_instructions: float = 0.0
    skew_items: float = 0.0
    #: Logit-scale mean and sd (observed spread) of the instructions' accuracies (``phrasings`` only).
    logit: tuple[float, float] | None = None
    seed: int = 0
    chance: float = 0.0
    #: Instructions scored per item, on average, in an incomplete design; 0 when every instruction
    #: scored every item (then ``n_instructions`` is the count per item).
    per_item: float = 0.0
    #: The paraphrases' own item variance (an item's accuracy over the population of phrasings):
    #: it cancels between instructions that share their items, not between those that do not.
    paraphrase_items: float = 0.0
    #: The answers' accuracies and item covariances, for the variance at another drop (power only).
    answers: AnswerMoments | None = None

    def variance_at(self, n_items: float, n_instructions: float, per_item: float | None = None) -> float:
        """The drop's variance at ``n_items`` items and ``n_instructions`` instructions, each item
        scored under ``per_item`` of them in a balanced design (default: this design's own count
        per item, every instruction for a complete design).

        A balanced incomplete design (every instruction on ``n k / m`` items) has
        ``Var = s2_items/n + s2_resid/(n k) + s2_instr/m``: the complete design's formula with the
        residual averaged over the ``k`` cells an item has instead of all ``m``.
        """
        k = self._per_item(n_instructions, per_item)
        v = self.items / n_items + self.residual / (n_items * k)
        return v + (self.instructions / n_instructions if self.claim == "phrasings" else 0.0)

    def _per_item(self, n_instructions: float, per_item: float | None) -> float:
        """Instructions per item at ``n_instructions``: as given, else this design's, capped at all."""
        if per_item is None and self.per_item <= 0:
            return n_instructions
        return min(self.per_item if per_item is None else per_item, n_instructions)

    def bounds(self, alpha: float) -> tuple[float, float]:
        """Lower and upper one-sided bounds, each at level ``1 - alpha``.

        The item part and the instruction part are bounded separately and combined by MOVER
        (Zou & Donner 2008, "method of variance estimates recovery": the square root of the summed
        squared half-widths, per side), because each part is skewed in its own way:

        - items: t(n-1), with the skewness of a studentized mean removed by Hall's (1992) monotone
          cubic transformation (binary answers make the drop skewed when accuracy is near 0 or 1);
          the skewness estimate is shrunk by its own standard error, since a third moment from 30
          sparse items is mostly noise;
        - instructions (``phrasings``): t(m-1) on the logit scale of the instructions' accuracies,
          mapped back through the logit-normal mean, because accuracies are bounded and a few bad
          phrasings near a ceiling make their mean skewed in a way no moment from 4-8 values shows.

        docs/statistics.md has the simulation that chose this over a plain t bound (which errs by
        up to 16% on one side in those corners).
        """
        se_i = math.sqrt(self.var_items)
        q_i = _quantile(1.0 - alpha, max(self.n_items - 1, 1))
        lo_i, hi_i = _hall(q_i, self.skew_items)
        hw_lo, hw_hi = se_i * lo_i, se_i * hi_i
        b_lo = b_hi = 0.0
        if self.claim == "phrasings" and self.n_instructions > 1:
            q_b = _quantile(1.0 - alpha, self.n_instructions - 1)
            b_lo = b_hi = q_b * math.sqrt(self.var_instructions)
            if self.logit is not None and self.logit[1] > 0:
                # The wider of the accuracy-scale t bound and the logit-scale one, per side: which
                # scale is closer to normal depends on the model, and each covers the other's blind side.
                m_lo, m_hi = _logit_mean_bounds(*self.logit, self.n_instructions, alpha, self.seed)
                centre = _logit_normal_mean(self.logit[0], self.logit[1])
                scale = 1.0 - self.chance  # bounds of the rescaled accuracy back to accuracy points
                m_lo, m_hi, centre = m_lo * scale, m_hi * scale, centre * scale
                b_lo = max(b_lo, m_hi - centre)  # a higher population accuracy means a smaller drop
                b_hi = max(b_hi, centre - m_lo)
        return self.mean - math.hypot(hw_lo, b_lo), self.mean + math.hypot(hw_hi, b_hi)


@dataclass(frozen=True)
class AnswerMoments:
    """What the variance of a drop is made of, per answer rather than per difference: the
    reference's accuracy, the paraphrases' (mean over instructions), and the items' covariance
    between a reference answer and a paraphrase answer (``cross``) and between two paraphrase
    answers under different instructions (``shared``), each pooled over instructions and unbiased.
    :func:`_detectable` fits a latent-threshold model to them to predict the variance at a drop
    other than the one observed."""

    reference: float
    paraphrased: float
    cross: float
    shared: float


def answer_moments(reference: np.ndarray, paraphrases: np.ndarray) -> AnswerMoments:
    """:class:`AnswerMoments` of a complete design (reference (items,), paraphrases (instructions, items))."""
    r = np.asarray(reference, dtype=np.float64)
    p = np.asarray(paraphrases, dtype=np.float64)
    m, n = p.shape
    if n < 2:
        return AnswerMoments(float(r.mean()), float(p.mean()), 0.0, 0.0)
    rc = r - r.mean()
    pc = p - p.mean(axis=1, keepdims=True)
    cross = float(np.einsum("i,ji->", rc, pc)) / (m * (n - 1))
    col = pc.sum(axis=0)
    own = float(np.einsum("ji,ji->", pc, pc))
    # sum over ordered pairs j != k of the cross products = (sum_j pc_j)^2 - sum_j pc_j^2, per item
    shared = (float(col @ col) - own) / (m * (m - 1) * (n - 1)) if m > 1 else own / (n - 1)
    return AnswerMoments(float(r.mean()), float(p.mean()), cross, shared)


#: How hard the items' skewness is shrunk toward 0: k3^2 / (k3^2 + SKEW_SHRINK se^2).
SKEW_SHRINK = 2.0

_GH_NODES, _GH_WEIGHTS = np.polynomial.hermite_e.hermegauss(32)
_GH_WEIGHTS = _GH_WEIGHTS / _GH_WEIGHTS.sum()


def _logit_normal_mean(mu: Any, tau: Any) -> Any:
    """E[sigmoid(mu + tau Z)], Z ~ N(0, 1) (Gauss-Hermite); arrays of mu, tau broadcast."""
    mu, tau = np.asarray(mu, dtype=np.float64), np.asarray(tau, dtype=np.float64)
    out = (_GH_WEIGHTS * special.expit(mu[..., None] + tau[..., None] * _GH_NODES)).sum(axis=-1)
    return float(out) if out.ndim == 0 else out


#: Draws of the generalized pivotal quantity (the 5% quantile's Monte-Carlo sd is ~1% of the bound's
#: half-width; seeded, so it never changes a verdict between runs).
GPQ_DRAWS = 2000


def _logit_mean_bounds(mu: float, tau: float, m: int, alpha: float, seed: int) -> tuple[float, float]:
    """One-sided bounds of the population mean accuracy when the instructions' logit accuracies
    are normal, by a generalized pivotal quantity (Weerahandi 1993; Krishnamoorthy & Mathew 2003
    for the lognormal mean): it carries the uncertainty of the spread as well as of the centre,
    which matters because a wider spread lowers the mean near a ceiling. Seeded: deterministic."""
    rng = np.random.default_rng([seed, m, 7])
    u = rng.chisquare(m - 1, GPQ_DRAWS)
    z = rng.standard_normal(GPQ_DRAWS)
    taus = np.sqrt((m - 1) * tau * tau / u)
    means = _logit_normal_mean(mu - z * taus / math.sqrt(m), taus)
    lo, hi = np.quantile(means, [alpha, 1.0 - alpha])
    return float(lo), float(hi)


def _hall(q: float, skew: float) -> tuple[float, float]:
    """Multipliers (lower, upper) of the standard error for one-sided bounds at quantile ``q``,
    corrected for the skewness ``skew`` of the mean by inverting Hall's transformation
    T -> T + b T^2 + b^2 T^3 / 3 + a / 6 (a = skew, b = a / 3), which stays monotone where the
    raw Edgeworth term does not."""
    if skew == 0.0 or not math.isfinite(skew):
        return q, q
    a, b = skew, skew / 3.0

    def t_of(z: float) -> float:
        return float((np.cbrt(1.0 + 3.0 * b * (z - a / 6.0)) - 1.0) / b)

    return t_of(q), -t_of(-q)


def components(
    d: np.ndarray, claim: str, instruction_accuracy: np.ndarray | None = None, seed: int = 0, chance: float = 0.0
) -> Components:
    """Variance components of the mean of ``d`` (m instructions x n items of cell values).

    Two-way crossed random-effects ANOVA: ``Var(mean) = s2_items/n + s2_instr/m + s2_resid/(nm)``,
    estimated without bias by ``(MS_items + MS_instr - MS_resid)/(mn)``; never narrower than the
    items-only variance. ``instruction_accuracy`` (the m instructions' accuracies) enables the
    logit-scale bound of the instruction part.
    """
    d = np.asarray(d, dtype=np.float64)
    m, n = d.shape
    grand = float(d.mean())
    col = d.mean(axis=0)  # per item, over instructions
    row = d.mean(axis=1)  # per instruction, over items
    ss_a = m * float(np.square(col - grand).sum())
    ms_a = ss_a / max(n - 1, 1)
    if m > 1:
        ss_b = n * float(np.square(row - grand).sum())
        ss_tot = float(np.square(d - grand).sum())
        ms_b = ss_b / (m - 1)
        ms_r = max(ss_tot - ss_a - ss_b, 0.0) / max((n - 1) * (m - 1), 1)
    else:
        ms_b = ms_r = 0.0
    s2_a, s2_b, s2_r = max(ms_a - ms_r, 0.0) / m, max(ms_b - ms_r, 0.0) / n, ms_r
    var_items = ms_a / (m * n)
    # Bonett & Price (2012) floor: never narrower than a paired difference with one pseudo
    # discordant pair each way. Without it 20 items all right under every instruction give the
    # bounds [0, 0] and a pass, though 0 of 20 is compatible with a true drop of 14 points.
    floor = 2.0 / (n + 2) ** 2
    if var_items < floor:
        var_items, s2_a = floor, max(s2_a, floor * n)
    phrasings = claim == "phrasings" and m > 1
    var_instr = max(ms_b - ms_r, 0.0) / (m * n) if phrasings else 0.0
    var = var_items + var_instr
    df = float(max(n - 1, 1))
    if phrasings and var_instr > 0:
        combo = ms_a + ms_b - ms_r
        den = ms_a**2 / max(n - 1, 1) + ms_b**2 / (m - 1) + ms_r**2 / max((n - 1) * (m - 1), 1)
        df = combo**2 / den if den > 0 else df
    logit = None
    if phrasings and instruction_accuracy is not None:
        # Above chance, rescaled to (0, 1): a guessing floor bounds accuracy from below as 1 does from above.
        p = (np.asarray(instruction_accuracy, dtype=np.float64) - chance) / (1.0 - chance)
        ell = special.logit((np.clip(p, 0.0, 1.0) * n + 0.5) / (n + 1.0))
        # The whole observed spread, item noise included. Removing the noise by the ANOVA share
        # (1 - MS_resid / MS_instr) is a ratio of two noisy mean squares: with 4 instructions near
        # a ceiling it often came out near 0, the bound collapsed, and wrong passes reached 7.1%
        # (100 x 4, reference 0.95, instruction sd 0.08). Unshrunk: 3.1%, for ~1-3 points of pass
        # rate at a true drop of 0 (docs/statistics.md).
        tau2 = float(np.var(ell, ddof=1))
        logit = (float(ell.mean()), math.sqrt(tau2))
    return Components(
        grand,
        var,
        df,
        s2_a,
        s2_b,
        s2_r,
        claim,
        n,
        m,
        var_items,
        var_instr,
        _item_skew(col, var_items),
        logit,
        seed,
        chance,
    )


def _item_skew(col: np.ndarray, var_items: float) -> float:
    """Skewness of the item part of the mean, from the item means' third cumulant shrunk by its
    standard error (k3^2 / (k3^2 + se^2)): a third moment of 30 sparse items is mostly noise."""
    n = col.size
    if n < 3 or var_items <= 0:
        return 0.0
    dev3 = np.power(col - col.mean(), 3)
    k3 = n / ((n - 1) * (n - 2)) * float(dev3.sum())
    se2 = float(dev3.var(ddof=1)) / n
    shrink = k3 * k3 / (k3 * k3 + SKEW_SHRINK * se2) if k3 * k3 + se2 > 0 else 0.0
    return shrink * k3 / n**2 / var_items**1.5


# -- incomplete designs -------------------------------------------------------------------------------
def incomplete_components(
    reference: np.ndarray,
    paraphrases: np.ndarray,
    claim: str,
    *,
    logit_bound: bool = True,
    seed: int = 0,
    chance: float = 0.0,
) -> Components:
    """Variance components of the drop when each instruction scored only some items.

    ``reference`` (items,) is scored on every item; ``paraphrases`` (instructions, items) holds NaN
    where a cell was not scored (instructions with no cell at all are left out).

    **The estimate** is the reference accuracy over all items minus the mean over instructions of
    each one's accuracy over its own items, ``D = mean_i r_i - (1/m) sum_j pbar_j``: the
    ``reference_accuracy - mean_accuracy`` every output shows. Each instruction counts once, as
    the ``phrasings`` claim is about the mean over phrasings (a mean over cells would weigh an
    instruction by the items it happened to get), and it is unbiased for the drop whatever the
    design, as long as the design does not depend on the answers. For a complete matrix it is the
    mean of the cells, today's estimate.

    **Its variance**, ``Var(D) = E[Var(D | instructions)] + s2_instr / m``, each part without bias:

    - ``D`` is ``sum_i c_i' X_i`` over the items' vectors ``X_i = (r_i, p_1i, ..., p_mi)``, iid over
      items given the instructions, with known weights (``1/n`` on the reference,
      ``-1/(m n_j)`` on a scored cell), so ``Var(D | instructions) = sum_ab w_a w_b N_ab S_ab``
      (``N_ab`` items scored under both rows, ``S`` the items' covariance matrix). Each ``S_ab`` is
      estimated from the cross products of the rows centred at their own means, over the items
      they share, divided by their exact expectation factor
      ``N_ab [(1 - 1/n_a)(1 - 1/n_b) + (N_ab - 1)/(n_a n_b)]``: unbiased from a single shared
      item. With every cell scored the factor is ``n - 1`` and this is ``var(item means)/n``,
      today's item part, to rounding.
    - ``s2_instr`` (``phrasings``): the spread of the ``pbar_j`` minus its expectation from item
      sampling, ``(tr C - 1'C1/m)/(m - 1)`` with ``C_jk = N_jk S_jk / (n_j n_k)`` (instructions
      that share items share their noise); complete, this is ``(MS_instr - MS_resid)/n``.

    Under ``claim="instructions"`` the first part alone is the variance (the instructions are
    fixed), and it is conditionally unbiased: it assumes only that items are exchangeable and the
    design does not depend on their answers. An instruction with a single item has no variance of
    its own to estimate: its covariances are the pooled ones of the same kind (unbiased over
    random instructions). The reported components (``items``, ``residual``,
    ``paraphrase_items``) are pooled over instructions, the item component taken as what the item
    part leaves after the residual, so that :meth:`Components.variance_at` reproduces this
    design's variance and predicts others.

    As in :func:`components`: the item part is never below the Bonett-Price floor, and the
    instruction part is also bounded on the logit scale of the instructions' accuracies, each
    over its own items (smoothed by its own count), with their whole observed spread. That spread
    carries more item noise than a complete design's (each instruction saw ``n k / m`` items, not
    the same ``n``), counted in the item part too: conservative where the logit bound is the wider
    one. Taking the excess out (delta method, per instruction) narrowed the minimum detectable
    drop by 2-5% but raised wrong passes to 7.5% near a ceiling (1000 items, 48 instructions, 1 per
    item, reference 0.95, sd 0.08; 2.3% with the whole spread): docs/statistics.md.
    """
    mo = incomplete_moments(reference, paraphrases)
    m, n = mo.sizes.size, mo.pseudo.size
    var_items = max(mo.var_items, 0.0)
    s2_a = max(n * (mo.var_items - mo.per_cell * mo.residual - mo.imbalance * mo.covariance), 0.0)
    floor = 2.0 / (n + 2) ** 2  # the Bonett-Price floor of components()
    if var_items < floor:
        var_items, s2_a = floor, max(s2_a, floor * n)
    phrasings = claim == "phrasings" and m > 1
    var_instr = max(mo.instructions, 0.0) / m if phrasings else 0.0
    df = float(max(n - 1, 1))
    if phrasings and var_instr > 0:
        # Satterthwaite over the parts, as components() does with its mean squares.
        parts = ((max(mo.var_items, 0.0), n - 1), (mo.spread / m, m - 1), (mo.noise / m, mo.df_residual))
        combo = parts[0][0] + parts[1][0] - parts[2][0]
        den = sum(v * v / max(k, 1) for v, k in parts)
        df = combo**2 / den if den > 0 else df
    logit = _incomplete_logit(mo.accuracies, mo.sizes, chance) if phrasings and logit_bound else None
    return Components(
        mo.mean,
        var_items + var_instr,
        df,
        s2_a,
        max(mo.instructions, 0.0),
        mo.residual,
        claim,
        n,
        m,
        var_items,
        var_instr,
        _item_skew(mo.pseudo, var_items),
        logit,
        seed,
        chance,
        per_item=mo.cells / n,
        paraphrase_items=mo.covariance,
        answers=AnswerMoments(float(np.mean(reference)), float(mo.accuracies.mean()), mo.cross, mo.covariance),
    )


@dataclass(frozen=True)
class IncompleteMoments:
    """The unbiased moments of an incomplete design (:func:`incomplete_moments`), unclipped."""

    mean: float  # D
    var_items: float  # Var(D | instructions)
    instructions: float  # s2_instr: the variance of the instructions' population accuracies
    spread: float  # var(pbar_j), the instructions' observed spread
    noise: float  # its expectation from item sampling alone
    residual: float  # item x instruction variance (pooled)
    covariance: float  # the paraphrases' item variance (pooled covariance between instructions)
    per_cell: float  # the residual's weight in Var(D | instructions): sum_j 1/n_j / m^2
    imbalance: float  # the paraphrases' item variance's weight beyond 1/n: sum_i (w_i - 1/n)^2
    cells: int
    df_residual: int
    accuracies: np.ndarray  # pbar_j
    sizes: np.ndarray  # n_j
    pseudo: np.ndarray  # the items' centred contributions: D - E = their mean
    cross: float = 0.0  # the reference's item covariance with a paraphrase (pooled over instructions)


def incomplete_moments(reference: np.ndarray, paraphrases: np.ndarray) -> IncompleteMoments:
    """:func:`incomplete_components`' estimates before any clipping or floor (each is unbiased)."""
    ref = np.asarray(reference, dtype=np.float64)
    para = np.asarray(paraphrases, dtype=np.float64)
    seen = ~np.isnan(para)
    keep = seen.any(axis=1)
    para, seen = para[keep], seen[keep]
    m, n = para.shape
    sizes = seen.sum(axis=1).astype(np.float64)  # n_j
    acc = np.where(seen, para, 0.0).sum(axis=1) / sizes  # pbar_j, each over its own items
    rows = np.vstack([ref - ref.mean(), np.where(seen, para - acc[:, None], 0.0)])
    present = np.vstack([np.ones((1, n)), seen]).astype(np.float64)
    # einsum, not @: these products are small, and a multithreaded BLAS waking its threads on a
    # busy machine took 60 ms for each (0.1 ms when idle); einsum's own loop takes ~2 ms at 2000 x 41.
    shared = np.einsum("ai,bi->ab", present, present)  # N_ab
    cov = _shared_covariances(np.einsum("ai,bi->ab", rows, rows), shared, para[seen])
    weights = np.concatenate([[1.0 / n], -1.0 / (m * sizes)])
    diag, off = _pooled(cov[1:, 1:], shared[1:, 1:])
    spread = noise = 0.0
    if m > 1:
        c = shared[1:, 1:] * cov[1:, 1:] / np.outer(sizes, sizes)  # Cov(pbar_j, pbar_k | instructions)
        noise = float(np.trace(c) - c.sum() / m) / (m - 1)
        spread = float(np.var(acc, ddof=1))
    w_items = (seen / sizes[:, None]).sum(axis=0) / m  # each item's weight in the paraphrases' mean
    cells = int(seen.sum())
    return IncompleteMoments(
        mean=float(ref.mean() - acc.mean()),
        var_items=float(weights @ (shared * cov) @ weights),
        instructions=spread - noise,
        spread=spread,
        noise=noise,
        residual=max(diag - off, 0.0),  # a cell's variance no two instructions share
        covariance=off,
        per_cell=float(np.sum(1.0 / sizes)) / m**2,
        imbalance=float(np.sum(np.square(w_items - 1.0 / n))),
        cells=cells,
        df_residual=max(cells - int(seen.any(axis=0).sum()) - m + 1, 1),
        accuracies=acc,
        sizes=sizes,
        pseudo=n * (weights @ rows),
        cross=float((shared[0, 1:] * cov[0, 1:]).sum() / shared[0, 1:].sum()),
    )


def _shared_covariances(gram: np.ndarray, shared: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """Unbiased covariances of the rows (reference first) from ``gram`` (cross products of the
    rows centred at their own means over the items each pair shares; see
    :func:`incomplete_components`), the pooled covariance of the same kind where a pair cannot
    be estimated (a row with one item), and 0 where two rows share no item (weight 0 then)."""
    size = np.diag(shared)
    inv = 1.0 / size
    factor = np.outer(1.0 - inv, 1.0 - inv) + (shared - 1.0) * np.outer(inv, inv)
    ok = (shared > 0) & (factor > 1e-12)
    cov = np.zeros_like(gram)
    cov[ok] = gram[ok] / (shared[ok] * factor[ok])
    lost = (shared > 0) & ~ok
    if not lost.any():
        return cov
    kind = np.full(gram.shape, 2)  # 0 reference, 1 reference x paraphrase, 2 paraphrase diagonal, 3 off it
    kind[0, :] = kind[:, 0] = 1
    kind[0, 0] = 0
    kind[1:, 1:][~np.eye(gram.shape[0] - 1, dtype=bool)] = 3
    # Where no pair of a kind can be estimated: a cell's whole variance for a paraphrase's own
    # (an upper bound), the same for two paraphrases (no larger than either's), 0 for the
    # reference with a paraphrase (a positive covariance only narrows the drop's variance).
    total = float(np.var(cells, ddof=1)) if cells.size > 1 else 0.25
    fallback = {0: 0.0, 1: 0.0, 2: total, 3: total}
    for t in (0, 1, 2, 3):
        sel = ok & (kind == t)
        pooled = float((shared[sel] * cov[sel]).sum() / shared[sel].sum()) if sel.any() else fallback[t]
        cov[lost & (kind == t)] = pooled
    return cov


def _pooled(cov: np.ndarray, shared: np.ndarray) -> tuple[float, float]:
    """The paraphrases' mean variance and mean covariance between instructions, each pair weighted
    by its shared items (the complete design's equal weights); with no two instructions sharing
    an item the covariance is unknown, and taken as the whole variance (the residual as 0, so a
    plan never counts on more instructions per item)."""
    eye = np.eye(cov.shape[0], dtype=bool)
    diag = float((shared[eye] * cov[eye]).sum() / shared[eye].sum())
    off = eye == 0
    pairs = shared[off].sum()
    return diag, float((shared[off] * cov[off]).sum() / pairs) if pairs > 0 else diag


def _incomplete_logit(acc: np.ndarray, sizes: np.ndarray, chance: float) -> tuple[float, float]:
    """Logit-scale centre and observed spread of the instructions' accuracies above chance, each
    over its own items (smoothed by its own count), as :func:`components` takes them."""
    p = np.clip((acc - chance) / (1.0 - chance), 0.0, 1.0)
    ell = special.logit((p * sizes + 0.5) / (sizes + 1.0))
    return float(ell.mean()), float(np.std(ell, ddof=1))


# -- sequential plan ---------------------------------------------------------------------------------
def spending(alpha: float, t: float) -> float:
    """Cumulative one-sided alpha spent by information fraction ``t`` (O'Brien-Fleming-like Lan-DeMets)."""
    if t >= 1.0:
        return alpha
    if t <= 0.0:
        return 0.0
    return float(2.0 - 2.0 * special.ndtr(special.ndtri(1.0 - alpha / 2.0) / math.sqrt(t)))


@dataclass(frozen=True)
class Look:
    """One planned look: after ``items`` items, each one-sided test at level ``alpha``."""

    items: int
    alpha: float


def look_plan(planned_items: int, looks: Sequence[float] | None, alpha: float) -> tuple[Look, ...]:
    """The looks that are taken (fractions to item counts, too-small looks dropped) and their alphas."""
    if looks is None:
        return (Look(planned_items, alpha),)
    fractions = sorted({float(f) for f in looks})
    if not fractions or fractions[0] <= 0 or fractions[-1] > 1 or any(math.isnan(f) for f in fractions):
        raise InputError(f"looks must be fractions in (0, 1], got {list(looks)!r}", field="looks")
    fractions = [f for f in fractions if f < 1.0] + [1.0]
    cuts: list[int] = []
    for f in fractions:
        cut = min(planned_items, max(1, math.ceil(f * planned_items)))
        if cut >= MIN_LOOK_ITEMS or cut == planned_items:
            if not cuts or cut > cuts[-1]:
                cuts.append(cut)
    plan, spent = [], 0.0
    for cut in cuts:
        total = spending(alpha, cut / planned_items)
        plan.append(Look(cut, total - spent))
        spent = total
    return tuple(plan)


# -- the verdict -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Judgment:
    """A verdict on the drop and everything it rests on (frozen; ``to_json`` for results files).

    ``interval`` is the pair of one-sided bounds the verdict used (its ``confidence`` is the
    two-sided coverage, ``1 - 2 alpha_look``; ``bound_confidence`` the one-sided level of each
    bound). ``minimum_detectable_drop`` is the true drop at which a fail has 80% probability at
    this suite's full size; ``items_needed``/``instructions_needed`` would decide a drop the size
    of the one observed (80% power), ``None`` when no number of them can.
    """

    verdict: str
    drop: float
    interval: Interval
    bound_confidence: float
    threshold: float
    claim: str
    relative: bool
    reference_accuracy: float
    mean_accuracy: float
    items_used: int
    items_planned: int
    instructions: int
    looks_used: int
    looks_planned: int
    df: float
    standard_error: float
    minimum_detectable_drop: float | None
    items_needed: int | None
    instructions_needed: int | None
    components: Components
    confidence: float
    method: str
    seed: int = 0
    #: False when this suite cannot decide at its size (an inconclusive verdict at the final look):
    #: the bounds cover every drop the reference can show, or no such drop would be detected.
    decidable: bool = True
    #: The true drop ``items_needed`` / ``instructions_needed`` are planned for: the drop observed,
    #: or, when the suite cannot decide, twice the threshold (a drop worth catching).
    sizes_for_drop: float | None = None
    #: The largest drop the measured reference allows (the paraphrases all wrong): no suite detects more.
    largest_possible_drop: float | None = None
    #: When neither lever alone decides a suite that cannot: items and instructions grown together.
    sizes_needed_together: tuple[int, int] | None = None

    def to_json(self) -> dict[str, Any]:
        c = self.components
        return {
            "verdict": self.verdict,
            "drop": self.drop,
            "interval": self.interval.to_json(),
            "interval_confidence": self.interval.confidence,
            "bound_confidence": self.bound_confidence,
            "confidence": self.confidence,
            "method": self.method,
            "threshold": self.threshold,
            "claim": self.claim,
            "relative": self.relative,
            "reference_accuracy": self.reference_accuracy,
            "mean_accuracy": self.mean_accuracy,
            "items_used": self.items_used,
            "items_planned": self.items_planned,
            "instructions": self.instructions,
            "looks_used": self.looks_used,
            "looks_planned": self.looks_planned,
            "df": self.df,
            "standard_error": self.standard_error,
            "minimum_detectable_drop": self.minimum_detectable_drop,
            "items_needed": self.items_needed,
            "instructions_needed": self.instructions_needed,
            "decidable": self.decidable,
            "sizes_for_drop": self.sizes_for_drop,
            "largest_possible_drop": self.largest_possible_drop,
            "sizes_needed_together": list(self.sizes_needed_together) if self.sizes_needed_together else None,
            "variance_components": {"items": c.items, "instructions": c.instructions, "residual": c.residual},
        }

    def describe_interval(self) -> str:
        """E.g. ``one-sided 95% bounds [2.1, 9.8] (90% two-sided)``, in points; or that the suite
        cannot decide at its size, when the bounds would only restate every possible drop."""
        unit = "" if self.relative else " pts"
        if not self.decidable and not math.isfinite(self.interval.low):
            return (
                f"cannot decide at this size (fewer than {MIN_INSTRUCTION_ITEMS} scored items per instruction "
                "on average: no bounds)"
            )
        if not self.decidable:
            return (
                f"cannot decide at this size (one-sided {100 * self.bound_confidence:.4g}% bounds "
                f"[{100 * self.interval.low:+.1f}, {100 * self.interval.high:+.1f}]{unit} for a reference at "
                f"{100 * self.reference_accuracy:.1f}%: nearly every drop it can show)"
            )
        if not (math.isfinite(self.interval.low) and math.isfinite(self.interval.high)):
            if self.components.per_item > 0:  # an incomplete design: its first looks may be too sparse
                return "no bounds yet (too few scored items per instruction): score more items"
            return "no bounds yet (fewer than 2 items judged): score more items"
        return (
            f"one-sided {100 * self.bound_confidence:.4g}% bounds [{100 * self.interval.low:+.1f}, "
            f"{100 * self.interval.high:+.1f}]{unit} ({100 * self.interval.confidence:.4g}% two-sided)"
        )

    def _levers(self) -> list[str]:
        """The sizes that would decide: more items, more instructions, or (neither alone) both grown."""
        levers = [
            f"about {n} {what}"
            for n, what in ((self.items_needed, "items"), (self.instructions_needed, "instructions"))
            if n is not None
        ]
        if not levers and self.sizes_needed_together is not None:
            levers = ["about {} items with {} instructions".format(*self.sizes_needed_together)]
        return levers

    def power_note(self) -> str:
        """What would decide an inconclusive verdict, or how sensitive a decided one was."""
        pts = "" if self.relative else " points"
        parts = []
        if self.minimum_detectable_drop is not None:
            parts.append(
                f"this suite detects a true drop of {100 * self.minimum_detectable_drop:.1f}{pts} "
                f"80% of the time (threshold {100 * self.threshold:.1f})"
            )
        elif self.largest_possible_drop is not None:
            parts.append(
                f"at this size no drop the reference allows (at most {100 * self.largest_possible_drop:.1f}{pts}) "
                f"would fail it 80% of the time (threshold {100 * self.threshold:.1f})"
            )
        levers = self._levers()
        if not self.decidable:
            target = 100 * (self.sizes_for_drop or 0.0)
            parts.append(
                f"{' or '.join(levers)} would detect a true drop of {target:.1f}{pts}"
                if levers
                else f"no affordable size detects a true drop of {target:.1f}{pts}"
            )
        elif self.verdict == "inconclusive":
            if levers:
                cheaper = (
                    " (instructions are the cheaper lever: --paraphrases N or a written bank)"
                    if self.instructions_needed is not None
                    and (
                        self.items_needed is None
                        or self.instructions_needed * self.items_planned < self.items_needed * self.instructions
                    )
                    else ""
                )
                parts.append(
                    f"{' or '.join(levers)} would decide a {100 * self.threshold:.0f}-point gate "
                    f"if the true drop is the {100 * self.drop:.1f} seen{cheaper}"
                )
            else:
                parts.append(
                    f"the observed drop ({100 * self.drop:.1f}) is too near the threshold: no affordable size decides it"
                )
        return "; ".join(parts)


class Judged:
    """A record that holds a :class:`Judgment` as ``judgment`` and reads its figures from it.

    ``assert_robust``'s verdict and ``plan``'s task plan carry more than the judgment (checks,
    evidence; planned sizes), but its drop, bounds, threshold, claim, size and looks are the
    judgment's own: read here, never copied into fields of their own that could disagree.
    """

    judgment: Judgment

    @property
    def claim(self) -> str:
        return self.judgment.claim

    @property
    def drop(self) -> float:
        return self.judgment.drop

    @property
    def interval(self) -> Interval:
        return self.judgment.interval

    @property
    def threshold(self) -> float:
        return self.judgment.threshold

    @property
    def confidence(self) -> float:
        return self.judgment.confidence

    @property
    def relative(self) -> bool:
        return self.judgment.relative

    @property
    def reference_accuracy(self) -> float:
        return self.judgment.reference_accuracy

    @property
    def items(self) -> int:
        return self.judgment.items_used

    @property
    def instructions(self) -> int:
        return self.judgment.instructions

    @property
    def looks_used(self) -> int:
        return self.judgment.looks_used

    @property
    def looks_planned(self) -> int:
        return self.judgment.looks_planned

    @property
    def minimum_detectable_drop(self) -> float | None:
        return self.judgment.minimum_detectable_drop


def _check_arrays(reference: Any, paraphrases: Any, allow_missing: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(reference as bools, paraphrases as bools), or, with ``allow_missing`` and a cell not scored
    (NaN, or masked in a numpy masked array), the paraphrases as floats with NaN there."""
    if np.ma.isMaskedArray(reference) and np.ma.getmaskarray(reference).any():
        reference = np.ma.filled(np.ma.asarray(reference, dtype=np.float64), np.nan)
    ref = np.asarray(reference)
    if np.ma.isMaskedArray(paraphrases):
        paraphrases = np.ma.filled(np.ma.asarray(paraphrases, dtype=np.float64), np.nan)
    para = np.asarray(paraphrases)
    if para.ndim == 1:
        para = para[None, :]
    if ref.ndim != 1 or para.ndim != 2:
        raise InputError(
            f"reference must be (items,) and paraphrases (instructions, items); got shapes "
            f"{ref.shape} and {para.shape}",
            field="paraphrases",
        )
    if para.shape[1] != ref.shape[0]:
        raise InputError(f"paraphrases cover {para.shape[1]} items but reference {ref.shape[0]}", field="paraphrases")
    if ref.shape[0] < 1 or para.shape[0] < 1:
        raise InputError(
            f"need at least 1 item and 1 paraphrased instruction, got {ref.shape[0]} items and "
            f"{para.shape[0]} instructions",
            field="items",
        )
    if ref.dtype.kind in "fc" and np.isnan(ref).any():
        raise InputError(
            f"the reference must be scored on every item (not scored: item {int(np.flatnonzero(np.isnan(ref))[0])}); "
            "only paraphrase cells may be missing",
            field="reference",
        )
    missing = para.dtype.kind in "fc" and bool(np.isnan(para).any())
    if missing and not allow_missing:
        raise InputError("cells not scored (NaN) are not supported here: score every item", field="paraphrases")
    for name, a in (("reference", ref), ("paraphrases", para[~np.isnan(para)] if missing else para)):
        if a.dtype != bool and not np.isin(a, (0, 1)).all():
            raise InputError("must hold booleans (correct or not per item)", field=name)
    return ref.astype(bool), (para.astype(np.float64) if missing else para.astype(bool))


def _quantile(p: float, df: float) -> float:
    # scipy.special rather than scipy.stats.t: the same quantiles, 20x less overhead per call
    # (the simulation study calls this millions of times).
    return float(special.stdtrit(df, p)) if math.isfinite(df) else float(special.ndtri(p))


def _cells(ref: np.ndarray, para: np.ndarray) -> np.ndarray:
    return ref[None, :].astype(np.float64) - para.astype(np.float64)


def _relative_bound(
    ref: np.ndarray, para: np.ndarray, chance: np.ndarray, claim: str, alpha: float, upper: bool
) -> float:
    """Fieller bound of drop / (reference accuracy - chance): the rho where the linear test
    ``mean(d - rho (r - c)) = q SE`` turns; found by root search over a bracketing range.
    (Incomplete: the same test with the reference ``r - rho (r - c)``, as ``d - rho (r - c)``
    is that reference minus the paraphrase.)"""
    r = ref.astype(np.float64)
    if para.dtype != bool:

        def tested(rho: float) -> Components:
            return incomplete_components(r - rho * (r - chance), para, claim, logit_bound=False)

    else:
        d = _cells(ref, para)
        a = (r - chance)[None, :] * np.ones_like(d)

        def tested(rho: float) -> Components:
            return components(d - rho * a, claim)

    def stat(rho: float) -> float:
        low, high = tested(rho).bounds(alpha)
        return high if upper else low

    lo, hi = -20.0, 20.0
    if stat(lo) * stat(hi) > 0:
        return -math.inf if not upper else math.inf
    return float(optimize.brentq(stat, lo, hi, xtol=1e-9))


def _judged_components(ref: np.ndarray, para: np.ndarray, claim: str, seed: int, floor: float) -> Components:
    """The components of one look: the complete two-way decomposition for a bool matrix, the
    incomplete design's (:func:`incomplete_components`) for one with cells not scored (NaN)."""
    if para.dtype == bool:
        comp = components(_cells(ref, para), claim, para.mean(axis=1), seed, floor)
        return replace(comp, answers=answer_moments(ref, para))
    return incomplete_components(ref, para, claim, seed=seed, chance=floor)


def _judgeable(para: np.ndarray, claim: str) -> bool:
    """Enough instructions for the claim and, in an incomplete design, enough items per instruction."""
    m = para.shape[0]
    if m < (2 if claim == "phrasings" else 1):
        return False
    return para.dtype == bool or np.count_nonzero(~np.isnan(para)) >= MIN_INSTRUCTION_ITEMS * m


def _accuracies(para: np.ndarray) -> np.ndarray:
    """Each instruction's accuracy over the items it scored (instructions with none left out)."""
    if para.dtype == bool:
        return para.mean(axis=1)
    seen = ~np.isnan(para)
    keep = seen.any(axis=1)
    return np.where(seen, para, 0.0).sum(axis=1)[keep] / seen.sum(axis=1)[keep]


def _drop_unscored(para: np.ndarray) -> np.ndarray:
    """Instructions with no scored cell left out; a matrix with every remaining cell scored as bools."""
    if para.dtype == bool:
        return para
    para = para[~np.isnan(para).all(axis=1)]
    return para.astype(bool) if not np.isnan(para).any() else para


def judge(
    reference: Any,
    paraphrases: Any,
    *,
    max_accuracy_drop: float = 0.05,
    confidence: float = 0.95,
    claim: str = "phrasings",
    looks: Sequence[float] | None = None,
    seed: int = 0,
    relative: bool = False,
    chance: float | Sequence[float] | np.ndarray | None = None,
    planned_items: int | None = None,
) -> Judgment:
    """Judge the accuracy drop of ``paraphrases`` against ``reference`` on the same items.

    ``reference``: bool array (items,); ``paraphrases``: bool array (instructions, items), items in
    the order they were (or would be) scored. An incomplete design (each item scored under some
    of the instructions, :func:`promptcheck.stats.design.balanced_design`) is a float array with
    NaN, or a masked array, where a cell was not scored; the reference is scored on every item.
    Its drop is the reference accuracy over all items minus the mean of the instructions'
    accuracies, each over its own items, with the incomplete design's variance
    (:func:`incomplete_components`); instructions with no scored cell are left out, and a look
    whose items show fewer instructions than the claim needs is skipped. A complete matrix, bool
    or float, is judged as it always was. ``max_accuracy_drop`` is in absolute points
    (0.05 = 5 points), or with ``relative=True`` a share of the reference's accuracy above
    ``chance`` (per item or one number; required then). ``claim``: ``phrasings`` (new phrasings in
    general: items and instructions are both samples) or ``instructions`` (these instructions).
    ``looks=(f1, ..., 1.0)`` judges after those fractions of ``planned_items`` (default: all the
    items given) and stops at the first look that decides; with fewer items given than planned,
    the judgment covers the looks reached (``looks_used < looks_planned`` and "inconclusive" mean
    "score more").

    >>> import numpy as np
    >>> ref = np.ones(200, bool); para = np.ones((8, 200), bool); para[:, :40] = False
    >>> judge(ref, para).verdict
    'fail'
    """
    if claim not in CLAIMS:
        raise InputError(f"must be one of {', '.join(CLAIMS)}, got {claim!r}", field="claim")
    problem = confidence_problem(confidence)
    if problem:
        raise InputError(problem, field="confidence")
    if not math.isfinite(float(max_accuracy_drop)):
        raise InputError(f"must be a number, got {max_accuracy_drop!r}", field="max_accuracy_drop")
    ref, para = _check_arrays(reference, paraphrases, allow_missing=True)
    para = _drop_unscored(para)
    incomplete = para.dtype != bool
    m = para.shape[0]
    if m < 1:
        raise InputError("no paraphrase cell was scored (every cell is NaN)", field="paraphrases")
    if claim == "phrasings" and m < 2:
        raise InputError(
            "claim 'phrasings' needs at least 2 paraphrased instructions (their spread is part of "
            "the claim); add instructions or use claim='instructions'",
            field="claim",
        )
    n_given = ref.shape[0]
    planned = int(planned_items) if planned_items is not None else n_given
    if planned < n_given:
        raise InputError(
            f"planned_items ({planned}) is smaller than the items given ({n_given})", field="planned_items"
        )
    chance_arr = None
    if chance is not None and not 0.0 <= float(np.mean(chance)) < 1.0:
        raise InputError(f"chance accuracy must be in [0, 1), got {chance!r}", field="chance")
    if relative:
        if chance is None:
            raise InputError("relative=True needs the task's chance accuracy", field="chance")
        chance_arr = np.broadcast_to(np.asarray(chance, dtype=np.float64), ref.shape)
    alpha = 1.0 - float(confidence)
    threshold = float(max_accuracy_drop)
    plan = look_plan(planned, looks, alpha)
    reached = [lk for lk in plan if 2 <= lk.items <= n_given]  # one item has no variance: no decision
    verdict, look_index, used = "inconclusive", 0, n_given
    bounds = (math.nan, math.nan)
    a_look = plan[0].alpha
    floor = float(np.mean(chance)) if chance is not None else 0.0
    comp = _judged_components(ref, para, claim, seed, floor)
    for k, lk in enumerate(reached):
        r, p = ref[: lk.items], _drop_unscored(para[:, : lk.items])
        if not _judgeable(p, claim):
            continue  # an incomplete design's first items may show too few instructions, or items each
        comp = _judged_components(r, p, claim, seed, floor)
        if relative:
            assert chance_arr is not None
            _refuse_at_chance(r, chance_arr[: lk.items], confidence)
            low = _relative_bound(r, p, chance_arr[: lk.items], claim, lk.alpha, upper=False)
            high = _relative_bound(r, p, chance_arr[: lk.items], claim, lk.alpha, upper=True)
        else:
            low, high = comp.bounds(lk.alpha)
        bounds, a_look, used, look_index = (low, high), lk.alpha, lk.items, k + 1
        if low > threshold:
            verdict = "fail"
            break
        if high < threshold:
            verdict = "pass"
            break
    r, p = ref[:used], para[:, :used]
    ref_acc = float(r.mean())
    mean_acc = float(p.mean()) if not incomplete else float(_accuracies(p).mean())
    drop = ref_acc - mean_acc
    scale = 1.0
    if relative:
        assert chance_arr is not None
        scale = ref_acc - float(chance_arr[:used].mean())
        drop = drop / scale
    # Power at the full planned size with the last look's alpha (what a full run would face): a
    # true drop fails the gate when the estimate clears the threshold by the lower bound's own
    # half-width (skew and logit corrections included), so that half-width plus t_0.8 standard
    # errors, each as it would be at that drop and at the items planned (_detectable).
    mdd = _detectable(
        comp,
        threshold=threshold,
        scale=scale,
        alpha=plan[-1].alpha,
        items=planned,
        reference=ref_acc,
        paraphrased=mean_acc,
    )
    # What can happen bounds what is shown: a drop lies in [r - 1, r] for a reference at true
    # accuracy r (paraphrases all right / all wrong), and r itself is at most a tiny-alpha upper
    # bound U and at least a lower bound L (Wilson, ALPHA_SHARE of the look's alpha each way, so a
    # bound's coverage changes by at most that much: clipping at the *measured* r lost 11 points of
    # it). Bounds are clipped to [L - 1, U], widened to keep the threshold inside so the clip never
    # changes what a bound says about it (the verdict above used the unclipped bounds). When, at
    # the final look, they then cover that whole range, the suite cannot decide at this size.
    low_cap, high_cap = possible_drops(r, a_look * ALPHA_SHARE, chance_arr[:used] if chance_arr is not None else None)
    low_cap, high_cap = min(low_cap, threshold), max(high_cap, threshold)
    finite = all(math.isfinite(b) for b in bounds)
    if finite:
        bounds = (float(np.clip(bounds[0], low_cap, high_cap)), float(np.clip(bounds[1], low_cap, high_cap)))
    covers = not finite or (bounds[0] <= low_cap and bounds[1] >= high_cap)
    # An incomplete design too sparse to judge at its full planned size (no look had the items per
    # instruction it needs) detects nothing at this size.
    too_sparse = bool(reached) and look_index == 0 and n_given == planned
    mdd = math.inf if too_sparse else mdd
    final = (look_index == len(plan) or too_sparse) and used == planned
    largest = high_cap if math.isfinite(high_cap) else math.inf
    # Undecidable at this size: the bounds say nothing, or no drop that can happen would be detected.
    decidable = not (verdict == "inconclusive" and final and reached and (covers or mdd > largest))
    sizes_for = drop if decidable else 2.0 * threshold
    sizing = dict(gap=abs(sizes_for - threshold) * scale, alpha=plan[-1].alpha, items=planned, instructions=m)
    items_needed, instr_needed = plan_sizes(comp, **sizing)
    together = joint_sizes(comp, **sizing) if items_needed is None and instr_needed is None else None
    method = (
        f"two-way variance components ({'items and instructions' if claim == 'phrasings' else 'items'} "
        f"random), t({comp.df:.3g}); two one-sided tests"
        + (f"; {len(plan)} looks, O'Brien-Fleming alpha spending" if len(plan) > 1 else "")
        + ("; relative to reference above chance (Fieller)" if relative else "")
        + (f"; incomplete design, {comp.per_item:.3g} of {m} instructions per item" if incomplete else "")
    )
    return Judgment(
        verdict=verdict,
        drop=float(drop),
        interval=Interval(float(bounds[0]), float(bounds[1]), 1.0 - 2.0 * a_look),
        bound_confidence=1.0 - a_look,
        threshold=threshold,
        claim=claim,
        relative=relative,
        reference_accuracy=ref_acc,
        mean_accuracy=mean_acc,
        items_used=int(used),
        items_planned=planned,
        instructions=m,
        looks_used=look_index,
        looks_planned=len(plan),
        df=comp.df,
        standard_error=math.sqrt(comp.variance) / scale,
        # A drop above what the reference allows cannot be detected: no figure rather than "158.6 points".
        minimum_detectable_drop=float(mdd) if mdd <= largest else None,
        items_needed=items_needed,
        instructions_needed=instr_needed,
        components=comp,
        confidence=float(confidence),
        method=method,
        seed=int(seed),
        decidable=decidable,
        sizes_for_drop=float(sizes_for),
        largest_possible_drop=float(largest) if math.isfinite(largest) else None,
        sizes_needed_together=together,
    )


def _detectable(
    comp: Components,
    *,
    threshold: float,
    scale: float,
    alpha: float,
    items: int,
    reference: float,
    paraphrased: float,
) -> float:
    """The true drop that fails the gate with probability ``POWER`` at ``items`` items: the drop
    ``delta`` with ``delta = threshold + [h(delta) + t_POWER se(delta)] / scale``, where ``h`` and
    ``se`` are the lower bound's half-width and the drop's standard error the rule would have *if
    the true drop were delta* (:func:`bound_at_drop`); a root search (fixed-point steps bracket the
    smallest root, Brent's method solves it: 8-10 evaluations).

    Both grow with the drop on binary answers, faster than the answers' binomial variance says:
    fewer paraphrase answers agree with the reference's (:class:`LatentAnswers`), and the logit
    bound of the instruction part widens as their accuracy falls from near a ceiling toward the
    middle. With today's half-width and the variance scaled by ``[r(1-r) + q(1-q)] / [r(1-r) +
    p(1-p)]`` the gate failed only 62-72% of the time at the figure at 30 items; the uncertainty of
    the estimated variance was not the cause (docs/statistics.md, "Power you can see").
    """
    if comp.variance <= 0:
        return threshold
    model = LatentAnswers.fit(comp.answers, comp.chance) if comp.answers is not None else None
    t_power = _quantile(POWER, comp.df)

    def gap(delta: float) -> float:
        half_width, se = bound_at_drop(
            comp, model, delta * scale - (reference - paraphrased), paraphrased, items, alpha
        )
        return threshold + (half_width + t_power * se) / scale - delta

    # Bracket the smallest root by fixed-point steps from the threshold (each a little longer than
    # the step, as the half-width grows with the drop), then solve it.
    low, step = threshold, gap(threshold)
    for _ in range(60):
        if not step > 0:
            return low
        high = low + 2.0 * step
        g = gap(high)
        if not math.isfinite(g):
            return math.inf
        if g <= 0:
            return float(optimize.brentq(gap, low, high, xtol=1e-7))
        low, step = high, g
    return math.inf


def bound_at_drop(
    comp: Components, model: LatentAnswers | None, extra: float, paraphrased: float, items: int, alpha: float
) -> tuple[float, float]:
    """The lower bound's half-width and the drop's standard error at ``items`` items if the
    paraphrases were ``extra`` less accurate than observed (the reference as it is).

    The item part: today's, scaled to ``items``, plus the change the latent model predicts in
    the item and residual components (:class:`LatentAnswers`; never below today's). The
    instruction part: the instructions' spread of accuracies stays (the simulation's population
    keeps it at any drop), but its logit-scale bound is taken at the lower accuracy, with the
    logit spread the instructions would show there (their spread and item noise, through the
    smoothed logit: :func:`_logit_moments`). At ``extra = 0`` and this design's size it is the
    bound the verdict used.
    """
    n, m = comp.n_items, comp.n_instructions
    k = comp._per_item(m, None)
    q = min(max(paraphrased - extra, 0.0), 1.0)
    d_items = d_residual = d_shared = 0.0
    if model is not None:
        d_items, d_residual, d_shared = model.change(q)
    var_items = comp.var_items * n / items + max(d_items + d_residual / k, 0.0) / items
    logit = comp.logit
    if logit is not None and logit[1] > 0:
        # The instructions' smoothed logits as the rule computes them, their spread (item noise
        # included) normal on the accuracy scale: today's and at q, by Gauss-Hermite quadrature;
        # the observed centre and spread moved by the difference and the ratio.
        moved = replace(comp, residual=comp.residual + d_residual, paraphrase_items=comp.paraphrase_items + d_shared)
        now = _logit_moments(paraphrased, comp.instructions + _mean_noise(comp, n, m, k), n * k / m, comp.chance)
        then = _logit_moments(q, comp.instructions + _mean_noise(moved, items, m, k), items * k / m, comp.chance)
        spread = then[1] / now[1] if now[1] > 0 else 1.0
        logit = (logit[0] + then[0] - now[0], logit[1] * spread)
    alt = replace(
        comp,
        mean=0.0,
        var_items=var_items,
        variance=var_items + comp.var_instructions,
        n_items=items,
        logit=logit,
    )
    return -alt.bounds(alpha)[0], math.sqrt(alt.variance)


def _logit_moments(accuracy: float, variance: float, items: float, chance: float) -> tuple[float, float]:
    """Mean and sd of an instruction's smoothed logit accuracy above chance (as the bounds take it,
    ``logit((p n + 1/2) / (n + 1))`` over its ``items``) when its accuracy is normal with this mean
    and variance: the delta method's slope where it holds, bounded near 0 and 1 where it does not."""
    x = (accuracy + math.sqrt(max(variance, 0.0)) * _GH_NODES - chance) / (1.0 - chance)
    ell = special.logit((np.clip(x, 0.0, 1.0) * items + 0.5) / (items + 1.0))
    mean = float(_GH_WEIGHTS @ ell)
    return mean, math.sqrt(max(float(_GH_WEIGHTS @ np.square(ell - mean)), 0.0))


def _bivariate_normal(h: float, k: float, rho: float) -> float:
    """P(X <= h, Y <= k) for standard normals with correlation ``rho`` (Owen's T function)."""
    if rho >= 1.0:
        return float(special.ndtr(min(h, k)))
    h = h if abs(h) > 1e-12 else 1e-12
    k = k if abs(k) > 1e-12 else 1e-12
    s = math.sqrt(1.0 - rho * rho)
    out = 0.5 * (special.ndtr(h) + special.ndtr(k))
    out -= special.owens_t(h, (k - rho * h) / (h * s)) + special.owens_t(k, (h - rho * k) / (k * s))
    return float(out - (0.5 if h * k < 0 else 0.0))


@dataclass(frozen=True)
class LatentAnswers:
    """A latent-threshold (probit) model of the answers, to predict the variance at another drop.

    An answer is right when a normal latent variable is above a threshold, or else by a guess
    that lands with probability ``chance``; a drop moves the paraphrases' threshold. Guessing
    scales every covariance by ``(1 - chance)^2``, so the latent accuracies are
    ``(a - chance) / (1 - chance)`` and the latent (tetrachoric) correlations between a reference
    and a paraphrase answer on an item, and between two paraphrase answers, are fitted to the
    observed ones (:class:`AnswerMoments`). They are what stays when the paraphrases get worse;
    the item covariances follow: fewer answers agree with the reference's, and the variance of
    the drop grows by much more than the answers' binomial variance does when the items are
    answered consistently (docs/statistics.md).
    """

    chance: float
    reference: float  # latent accuracies
    paraphrased: float
    rho_cross: float
    rho_shared: float

    @classmethod
    def fit(cls, answers: AnswerMoments, chance: float) -> LatentAnswers:
        g = (1.0 - chance) ** 2
        lr, lp = cls._latent(answers.reference, chance), cls._latent(answers.paraphrased, chance)
        cross = _tetrachoric(lr, lp, answers.cross / g)
        shared = _tetrachoric(lp, lp, answers.shared / g)
        # With a margin at 0 or 1 a correlation is not identified: the other one, else items
        # answered alike everywhere (their answers flip together, the larger variance).
        cross = shared if cross is None else cross
        shared = cross if shared is None else shared
        return cls(chance, lr, lp, 1.0 if cross is None else cross, 1.0 if shared is None else shared)

    @staticmethod
    def _latent(accuracy: float, chance: float) -> float:
        return min(max((accuracy - chance) / (1.0 - chance), 1e-9), 1.0 - 1e-9)

    def _covariances(self, latent_q: float) -> tuple[float, float]:
        zr, zq = float(special.ndtri(self.reference)), float(special.ndtri(latent_q))
        g = (1.0 - self.chance) ** 2
        cross = g * (_bivariate_normal(zr, zq, self.rho_cross) - self.reference * latent_q)
        shared = g * (_bivariate_normal(zq, zq, self.rho_shared) - latent_q * latent_q)
        return cross, shared

    def change(self, q: float) -> tuple[float, float, float]:
        """Changes of the item component (of a difference), the residual component and the
        paraphrases' shared item covariance when their accuracy moves from today's to ``q``."""
        cross0, shared0 = self._covariances(self.paraphrased)
        cross1, shared1 = self._covariances(self._latent(q, self.chance))
        c = self.chance
        p0 = c + (1.0 - c) * self.paraphrased
        d_shared = shared1 - shared0
        d_items = d_shared - 2.0 * (cross1 - cross0)  # Var(r) + shared - 2 cross
        d_residual = q * (1.0 - q) - p0 * (1.0 - p0) - d_shared  # a cell's variance - shared
        return d_items, d_residual, d_shared


def _tetrachoric(l1: float, l2: float, cov: float) -> float | None:
    """The latent correlation giving two binary answers with latent accuracies ``l1``, ``l2``
    covariance ``cov`` (clipped to what is possible); None when a margin is at 0 or 1."""
    if min(l1, l2) < 1e-6 or max(l1, l2) > 1.0 - 1e-6:
        return None
    h, k = float(special.ndtri(l1)), float(special.ndtri(l2))
    lo, hi = -0.999, 0.999
    target = l1 * l2 + cov

    def gap(rho: float) -> float:
        return _bivariate_normal(h, k, rho) - target

    if gap(hi) <= 0:
        return hi
    if gap(lo) >= 0:
        return lo
    return float(optimize.brentq(gap, lo, hi, xtol=1e-6))


def above_chance(ref: np.ndarray, chance: float | np.ndarray, confidence: float) -> tuple[bool, float]:
    """Is accuracy ``ref`` (correct per item) clearly above guessing? (yes/no, one-sided Wilson lower bound).

    Clearly: the one-sided lower bound at ``confidence`` is above the mean chance accuracy. A
    reference at chance carries no behaviour to measure a drop from, relative (here) or to
    align paraphrases to (``promptcheck fix``).
    """
    k, n = int(np.sum(ref)), int(np.size(ref))
    low = wilson(k, n, 2 * confidence - 1).low
    return low > float(np.mean(chance)), low


def _refuse_at_chance(ref: np.ndarray, chance: np.ndarray, confidence: float) -> None:
    """A relative drop divides by (reference accuracy - chance): refuse when that may be zero."""
    k, n = int(ref.sum()), int(ref.size)
    if not above_chance(ref, chance, confidence)[0]:
        raise InputError(
            f"relative drop needs a reference clearly above chance: accuracy {k}/{n} = {k / n:.3f}, "
            f"chance {float(chance.mean()):.3f}; use an absolute max_accuracy_drop",
            field="relative",
        )


def decisive_variance(
    comp: Components, n_items: float, n_instructions: float, alpha: float, per_item: float | None = None
) -> float:
    """The drop's variance at a size, each part scaled by its own t quantile against the normal one.

    ``per_item``: instructions scored per item (default: ``comp``'s design, every instruction for
    a complete one); the residual is then averaged over ``per_item`` cells an item has.

    The bounds use t(n - 1) for the item part and, under ``phrasings``, t(m - 1) for the
    instruction part, so with 2 instructions (t(1): 6.3 against 1.6 at 95%) the instruction part
    counts 15 times over: a planner that took normal quantiles said "about 1165 items would decide"
    where no number of items does.
    """
    z = float(special.ndtri(1 - alpha))

    def inflate(df: float) -> float:
        return (_quantile(1 - alpha, max(df, 1.0)) / z) ** 2

    k = comp._per_item(n_instructions, per_item)
    items_part = (comp.items + comp.residual / k) / n_items * inflate(n_items - 1)
    if comp.claim != "phrasings":
        return items_part
    # The instruction part of the bound is the spread of the instructions' means, item noise
    # included (counted in both parts, as the bounds' two half-widths each carry it).
    return items_part + (comp.instructions + _mean_noise(comp, n_items, n_instructions, k)) / n_instructions * inflate(
        n_instructions - 1
    )


def _mean_noise(comp: Components, n_items: float, n_instructions: float, k: float) -> float:
    """The item noise in the spread of the instructions' accuracies: ``s2_resid / n`` when they
    share all their items; with ``k`` of ``m`` per item each has ``n k / m`` items of its own, and
    the item variance no longer cancels between them: ``m/(n k) [s2_resid + s2_pitems (m-k)/(m-1)]``
    (``s2_pitems``: :attr:`Components.paraphrase_items`, 0 from a complete pilot, which cannot
    tell it from the reference's)."""
    if k >= n_instructions:
        return comp.residual / n_items
    share = (n_instructions - k) / max(n_instructions - 1, 1)
    return n_instructions / (n_items * k) * (comp.residual + comp.paraphrase_items * share)


def plan_sizes(
    comp: Components,
    *,
    gap: float,
    alpha: float,
    items: int,
    instructions: int,
    power: float = POWER,
    limit: int = 1_000_000,
) -> tuple[int | None, int | None]:
    """Items (at ``instructions``) and instructions (at ``items``) that make a true drop ``gap`` away
    from the threshold decide with ``power``; ``None`` when unreachable or above ``limit``.

    A planning figure, "about N": normal quantiles for the power, the bounds' own t quantiles for
    each part (:func:`decisive_variance`). The instruction count is irrelevant to the instruction
    term under ``claim="instructions"`` (those instructions are fixed).
    """
    if gap <= 0 or not math.isfinite(gap):
        return None, None
    target = _deciding_variance(gap, alpha, power)
    items_needed = _smallest(lambda n: decisive_variance(comp, n, instructions, alpha) <= target, limit)
    instr_needed = _smallest(lambda m: decisive_variance(comp, items, m, alpha) <= target, limit)
    return items_needed, instr_needed


def _deciding_variance(gap: float, alpha: float, power: float) -> float:
    """The drop's variance at which a true drop ``gap`` from the threshold decides with ``power``."""
    return float((gap / (special.ndtri(1 - alpha) + special.ndtri(power))) ** 2)


def _smallest(decides: Callable[[int], bool], limit: int) -> int | None:
    """The smallest size >= 2 that ``decides`` (monotone: a larger size decides too), or None up to ``limit``."""
    if not decides(limit):
        return None
    low, high = 1, 2
    while not decides(high):
        low, high = high, min(high * 2, limit)
    while high - low > 1:  # decides(high), not decides(low)
        mid = (low + high) // 2
        low, high = (low, mid) if decides(mid) else (mid, high)
    return max(high, 2)


#: The share of a look's alpha spent on the reference accuracy's own bounds when clipping a drop's
#: bounds to what can happen (:func:`possible_drops`): a clipped bound covers at least
#: ``1 - alpha (1 + ALPHA_SHARE)`` of the time.
ALPHA_SHARE = 0.1


def possible_drops(reference: np.ndarray, alpha: float, chance: np.ndarray | None = None) -> tuple[float, float]:
    """The drops that can happen for a reference with these answers: ``[L - 1, U]``, ``L``/``U`` the
    reference accuracy's one-sided Wilson bounds at ``1 - alpha`` (absolute), or the same range
    in units of ``(r - chance)`` for a relative drop (``(L - 1) / (L - c)`` to ``L / (L - c)``, the
    extremes over plausible r; unbounded when L is not above chance)."""
    k, n = int(np.sum(reference)), int(np.size(reference))
    if n == 0 or not 0 < alpha < 0.5:
        return -math.inf, math.inf
    ci = wilson(k, n, 1 - 2 * alpha)
    low, high = ci.low, ci.high
    if chance is None:
        return low - 1.0, high
    c = float(np.mean(chance))
    if low <= c:
        return -math.inf, math.inf
    return (low - 1.0) / (low - c), low / (low - c)


def joint_sizes(
    comp: Components, *, gap: float, alpha: float, items: int, instructions: int, power: float = POWER
) -> tuple[int, int] | None:
    """Items and instructions, grown by one factor, that decide a true drop ``gap`` from the threshold.

    For when neither lever alone can (:func:`plan_sizes` gives None for both): with 2 instructions
    under ``phrasings`` the instruction part stays however many items there are, and with 30 items
    the item part stays however many instructions. ``None`` past 1,000x the current size.
    """
    if gap <= 0 or not math.isfinite(gap):
        return None
    target = _deciding_variance(gap, alpha, power)

    def fits(k: float) -> bool:
        return decisive_variance(comp, math.ceil(items * k), math.ceil(instructions * k), alpha) <= target

    if not fits(1000.0):
        return None
    low, high = 1.0, 1000.0
    for _ in range(60):  # bisection on the factor: the variance falls as both grow
        mid = (low + high) / 2
        low, high = (low, mid) if fits(mid) else (mid, high)
    return math.ceil(items * high), math.ceil(instructions * high)


def design_sizes(
    comp: Components,
    *,
    variance: float | None = None,
    gap: float | None = None,
    alpha: float | None = None,
    instructions: int | None = None,
    power: float = POWER,
    limit: int = 1_000_000,
) -> dict[int, int | None]:
    """Items needed at each number of instructions per item, ``{k: items}`` for ``k = 1..m``
    (``k = m``: the complete design), to bring the drop's variance down to ``variance``, or to
    decide a true drop ``gap`` from the threshold with ``power`` at one-sided level ``alpha``.

    From ``comp`` (a pilot, complete or not) for a balanced design of ``instructions`` (default:
    the pilot's count): :meth:`Components.variance_at`, or with ``alpha`` each part counted with
    its own t quantile (:func:`decisive_variance`, as :func:`plan_sizes` does). Prompts scored
    are ``items * (k + 1)`` with the reference. ``None``: unreachable at any number of items up
    to ``limit`` (the instruction part alone is above the target).
    """
    if (variance is None) == (gap is None):
        raise InputError("give either a target variance or a gap from the threshold", field="design_sizes")
    if gap is not None:
        if alpha is None:
            raise InputError("a gap needs the one-sided level alpha", field="alpha")
        if gap <= 0 or not math.isfinite(gap):
            return dict.fromkeys(range(1, (instructions or comp.n_instructions) + 1))
        variance = _deciding_variance(gap, alpha, power)
    assert variance is not None
    m = int(instructions or comp.n_instructions)
    target = float(variance)

    def needed(k: int) -> int | None:
        if alpha is None:
            return _smallest(lambda n: comp.variance_at(n, m, k) <= target, limit)
        return _smallest(lambda n: decisive_variance(comp, n, m, alpha, per_item=k) <= target, limit)

    return {k: needed(k) for k in range(1, m + 1)}


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm-adjusted p-values (step-down, monotone), for McNemar tests across instructions and
    change tests across tasks. A few lines; scipy has Benjamini-Hochberg but not Holm."""
    p = np.asarray(pvalues, dtype=np.float64)
    k = p.size
    if k == 0:
        return []
    order = np.argsort(p, kind="stable")
    adjusted = np.minimum(1.0, np.maximum.accumulate((k - np.arange(k)) * p[order]))
    out = np.empty(k)
    out[order] = adjusted
    return out.tolist()


# -- release comparison ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class ChangeJudgment:
    """Did the drop change between two releases on the same items? (``change`` = new - old drop)."""

    change: float
    old_drop: float
    new_drop: float
    interval: Interval
    standard_error: float
    df: float
    p_worse: float
    p_better: float
    pairing: str

    def verdict(self, alpha: float, *, p_worse: float | None = None, p_better: float | None = None) -> str:
        """worse / better / unchanged at one-sided level ``alpha`` (pass Holm-adjusted p-values when
        several tasks are compared)."""
        if (self.p_worse if p_worse is None else p_worse) < alpha:
            return "worse"
        if (self.p_better if p_better is None else p_better) < alpha:
            return "better"
        return "unchanged"


def judge_change(
    old_ref: Any,
    old_para: Any,
    new_ref: Any,
    new_para: Any,
    *,
    claim: str = "phrasings",
    paired_instructions: bool = True,
    confidence: float = 0.95,
    tolerance: float = 0.0,
) -> ChangeJudgment:
    """Two one-sided tests of ``new drop - old drop`` against ``+-tolerance``, items paired.

    ``paired_instructions``: the rows of old and new are the same instructions in the same order,
    so instruction effects cancel too (the difference of the two cell matrices is judged by the
    same two-way decomposition as :func:`judge`). Otherwise the instruction sets are independent
    samples: item means are paired, and under ``claim="phrasings"`` each set's instruction variance
    is added (Satterthwaite df).
    """
    if claim not in CLAIMS:
        raise InputError(f"must be one of {', '.join(CLAIMS)}, got {claim!r}", field="claim")
    o_ref, o_para = _check_arrays(old_ref, old_para)
    n_ref, n_para = _check_arrays(new_ref, new_para)
    if o_ref.shape[0] != n_ref.shape[0]:
        raise InputError("old and new must cover the same items (same columns)", field="items")
    d_old, d_new = _cells(o_ref, o_para), _cells(n_ref, n_para)
    n = o_ref.shape[0]
    if paired_instructions:
        if d_old.shape != d_new.shape:
            raise InputError("paired instructions need the same instructions in old and new", field="instructions")
        c = components(d_new - d_old, claim if d_old.shape[0] > 1 else "instructions")
        mean, var, df = c.mean, c.variance, c.df
        pairing = "items and instructions paired"
    else:
        e = d_new.mean(axis=0) - d_old.mean(axis=0)
        mean = float(e.mean())
        # The same Bonett-Price floor as components(): identical item means in old and new gave
        # [+0.0, +0.0] from 10 items, narrower than the paired comparison of a file with itself.
        v_items = max(float(e.var(ddof=1)) / n if n > 1 else 0.0, 2.0 / (n + 2) ** 2)
        parts = [(v_items, max(n - 1, 1))]
        if claim == "phrasings":
            for d in (d_old, d_new):
                if d.shape[0] > 1:
                    parts.append((components(d, "phrasings").instructions / d.shape[0], d.shape[0] - 1))
        var = sum(v for v, _ in parts)
        den = sum(v * v / k for v, k in parts)
        df = var * var / den if den > 0 else float(max(n - 1, 1))
        pairing = "items paired; instruction sets differ, judged as independent samples"
    se = math.sqrt(var)
    alpha = 1.0 - float(confidence)
    q = _quantile(1.0 - alpha, df)
    if se > 0:
        p_worse = float(special.stdtr(df, -(mean - tolerance) / se))
        p_better = float(special.stdtr(df, (mean + tolerance) / se))
    else:
        p_worse = 0.0 if mean > tolerance else 1.0
        p_better = 0.0 if mean < -tolerance else 1.0
    old_drop = float(o_ref.mean() - o_para.mean())
    new_drop = float(n_ref.mean() - n_para.mean())
    # Shown within the changes that can happen (each drop within what its reference can show, as
    # judge clips it; the tolerance kept inside): 2 items gave [-123, +323] points. The verdict
    # comes from p_worse / p_better, untouched.
    old_lo, old_hi = possible_drops(o_ref, alpha * ALPHA_SHARE)
    new_lo, new_hi = possible_drops(n_ref, alpha * ALPHA_SHARE)
    caps = (min(new_lo - old_hi, -tolerance), max(new_hi - old_lo, tolerance))
    return ChangeJudgment(
        change=new_drop - old_drop,
        old_drop=old_drop,
        new_drop=new_drop,
        interval=Interval(
            float(np.clip(mean - q * se, *caps)), float(np.clip(mean + q * se, *caps)), 1.0 - 2.0 * alpha
        ),
        standard_error=se,
        df=float(df),
        p_worse=p_worse,
        p_better=p_better,
        pairing=pairing,
    )
