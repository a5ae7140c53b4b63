"""Descriptive statistics of robustness over plain arrays: accuracy intervals, McNemar tests,
consistency of answers, KL between answer distributions, flips per item.

The drop, its interval and every verdict live in :mod:`promptcheck.stats.judge`; this module
holds the figures reported beside them. Everything works on arrays (instructions x items), so
it can be checked without a model.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps


@dataclass(frozen=True)
class Interval:
    """A (low, high) pair and the two-sided coverage it was built for."""

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


def consistency(predictions: np.ndarray) -> float:
    """Share of items whose prediction is the same under every instruction. ``predictions``: (n_instr, n_items)."""
    return float(np.mean(np.all(predictions == predictions[0], axis=0)))


def bootstrap_consistency(
    predictions: np.ndarray, *, confidence: float = 0.95, n_boot: int = 2000, seed: int = 0
) -> Interval:
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


def item_flips(predictions: np.ndarray, ref_index: int = 0) -> np.ndarray:
    """Per item, how many instructions' predictions differ from the reference instruction's.

    ``predictions``: (n_instr, n_items). The reference row itself never counts.
    """
    preds = np.asarray(predictions)
    return np.sum(preds != preds[ref_index], axis=0).astype(int)
