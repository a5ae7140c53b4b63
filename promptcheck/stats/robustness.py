"""Statistics of robustness: intervals for accuracy and for the drop under paraphrase.

Everything here works on plain arrays (a correctness matrix of instructions x items and the
reference's correctness vector), so it can be simulated without a model (tests do) and reused
by reports. Two claims about the drop are available, and named in every output:

- ``instructions``: about *these* instructions. Resample items (keeping each item's pairing
  across instructions); instructions are fixed.
- ``phrasings``: about new phrasings in general. Resample items *and* instructions (a two-way
  bootstrap), since instruction-to-instruction spread is the main finding of Sun et al. 2023;
  the default whenever unobserved or generated instructions are compared.

scipy's ``bootstrap`` resamples one axis; the two-way crossed resampling is a few numpy lines.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

CLAIMS = ("instructions", "phrasings")


@dataclass(frozen=True)
class Interval:
    low: float
    high: float
    confidence: float

    def to_json(self) -> list[float]:
        return [self.low, self.high]


def wilson(correct: int, total: int, confidence: float = 0.95) -> Interval:
    """Wilson score interval for an accuracy (scipy's binomtest)."""
    if total == 0:
        return Interval(math.nan, math.nan, confidence)
    ci = sps.binomtest(int(correct), int(total)).proportion_ci(confidence_level=confidence, method="wilson")
    return Interval(float(ci.low), float(ci.high), confidence)


def mcnemar_exact(ref_correct: np.ndarray, para_correct: np.ndarray) -> float:
    """Two-sided exact McNemar p-value for one paraphrase vs the reference (paired items)."""
    b = int(np.sum(ref_correct & ~para_correct))
    c = int(np.sum(~ref_correct & para_correct))
    if b + c == 0:
        return 1.0
    return float(sps.binomtest(b, b + c, 0.5).pvalue)


def drop_point(ref: np.ndarray, para: np.ndarray, *, relative: bool = False) -> float:
    """Reference accuracy minus mean accuracy over paraphrases (relative: divided by reference accuracy)."""
    r = float(ref.mean())
    d = r - float(para.mean(axis=1).mean())
    return d / r if relative and r > 0 else d


def bootstrap_drop(
    ref: np.ndarray,
    para: np.ndarray,
    *,
    claim: str = "phrasings",
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
    relative: bool = False,
) -> Interval:
    """Percentile bootstrap interval of the drop. ``ref``: (n_items,) bool; ``para``: (n_instr, n_items) bool."""
    if claim not in CLAIMS:
        raise ValueError(f"claim must be one of {CLAIMS}, got {claim!r}")
    rng = np.random.default_rng(seed)
    m, n = para.shape
    items = rng.integers(0, n, size=(n_boot, n))
    ref_acc = ref[items].mean(axis=1)
    if claim == "instructions" or m == 1:
        para_acc = para[:, items].mean(axis=2).mean(axis=0)  # (m, B, n) -> (B,)
    else:
        instr = rng.integers(0, m, size=(n_boot, m))
        para_acc = para[instr[:, :, None], items[:, None, :]].mean(axis=2).mean(axis=1)
    drops = ref_acc - para_acc
    if relative:
        with np.errstate(divide="ignore", invalid="ignore"):
            drops = np.where(ref_acc > 0, drops / ref_acc, 0.0)
    alpha = 1 - confidence
    low, high = np.quantile(drops, [alpha / 2, 1 - alpha / 2])
    return Interval(float(low), float(high), confidence)


def consistency(predictions: np.ndarray) -> float:
    """Share of items whose prediction is the same under every instruction. ``predictions``: (n_instr, n_items)."""
    return float(np.mean(np.all(predictions == predictions[0], axis=0)))


def bootstrap_consistency(predictions: np.ndarray, *, confidence: float = 0.95, n_boot: int = 2000,
                          seed: int = 0) -> Interval:
    same = np.all(predictions == predictions[0], axis=0)
    rng = np.random.default_rng(seed)
    boots = same[rng.integers(0, len(same), size=(n_boot, len(same)))].mean(axis=1)
    alpha = 1 - confidence
    low, high = np.quantile(boots, [alpha / 2, 1 - alpha / 2])
    return Interval(float(low), float(high), confidence)


def choice_distributions(logprobs: Sequence[Sequence[float]]) -> list[np.ndarray]:
    """Softmax over each item's choice scores: the model's answer distribution restricted to the choices."""
    out = []
    for row in logprobs:
        x = np.asarray(row, dtype=np.float64)
        x = x - x.max()
        p = np.exp(x)
        out.append(p / p.sum())
    return out


def mean_kl(para_logprobs: Sequence[Sequence[Sequence[float]]], ref_logprobs: Sequence[Sequence[float]]) -> float:
    """Mean over paraphrases and items of KL(p(choices | paraphrase) || p(choices | reference))."""
    ref = choice_distributions(ref_logprobs)
    total, count = 0.0, 0
    for instr in para_logprobs:
        for p, q in zip(choice_distributions(instr), ref):
            total += float(sps.entropy(p, q))
            count += 1
    return total / count if count else math.nan


def verdict_for(interval: Interval, threshold: float) -> str:
    """fail: the whole interval is above the threshold; pass: the whole interval is below; else inconclusive."""
    if interval.low > threshold:
        return "fail"
    if interval.high < threshold:
        return "pass"
    return "inconclusive"


def item_flips(predictions: np.ndarray, ref_index: int = 0) -> np.ndarray:
    """Per item, how many instructions' predictions differ from the reference instruction's.

    ``predictions``: (n_instr, n_items). The reference row itself never counts.
    """
    preds = np.asarray(predictions)
    return np.sum(preds != preds[ref_index], axis=0).astype(int)


def bootstrap_drop_change(
    old_ref: np.ndarray,
    old_para: np.ndarray,
    new_ref: np.ndarray,
    new_para: np.ndarray,
    *,
    claim: str = "instructions",
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
) -> Interval:
    """Paired percentile bootstrap of ``drop_new - drop_old`` between two releases on the same items.

    Items (columns, in the same order in old and new) are resampled once per replicate and used
    for both releases, so item difficulty cancels and the interval is much narrower than two
    independent intervals would suggest. ``claim="phrasings"`` also resamples instructions
    jointly, which needs the same instructions (rows) in both runs. A positive change means the
    new release drops more under paraphrase: robustness got worse.
    """
    if claim not in CLAIMS:
        raise ValueError(f"claim must be one of {CLAIMS}, got {claim!r}")
    old_ref, new_ref = np.asarray(old_ref, dtype=bool), np.asarray(new_ref, dtype=bool)
    old_para, new_para = np.asarray(old_para, dtype=bool), np.asarray(new_para, dtype=bool)
    n = old_ref.shape[0]
    if new_ref.shape[0] != n or old_para.shape[1] != n or new_para.shape[1] != n:
        raise ValueError("old and new must cover the same items (same columns)")
    if claim == "phrasings" and old_para.shape[0] != new_para.shape[0]:
        raise ValueError("claim 'phrasings' pairs instructions: old and new need the same instructions")
    rng = np.random.default_rng(seed)
    items = rng.integers(0, n, size=(n_boot, n))

    def drops(ref: np.ndarray, para: np.ndarray, instr: np.ndarray | None) -> np.ndarray:
        ref_acc = ref[items].mean(axis=1)
        if instr is None:
            para_acc = para[:, items].mean(axis=2).mean(axis=0)
        else:
            para_acc = para[instr[:, :, None], items[:, None, :]].mean(axis=2).mean(axis=1)
        return ref_acc - para_acc

    instr = None
    if claim == "phrasings" and old_para.shape[0] > 1:
        instr = rng.integers(0, old_para.shape[0], size=(n_boot, old_para.shape[0]))
    change = drops(new_ref, new_para, instr) - drops(old_ref, old_para, instr)
    alpha = 1 - confidence
    low, high = np.quantile(change, [alpha / 2, 1 - alpha / 2])
    return Interval(float(low), float(high), confidence)


def change_verdict(interval: Interval, tolerance: float = 0.0) -> str:
    """worse: the whole interval of (new drop - old drop) is above ``tolerance``; better: the whole
    interval is below ``-tolerance``; else unchanged (no significant difference)."""
    if interval.low > tolerance:
        return "worse"
    if interval.high < -tolerance:
        return "better"
    return "unchanged"
