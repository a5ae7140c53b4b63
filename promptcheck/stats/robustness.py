"""Descriptive statistics of robustness over plain arrays: accuracy intervals, McNemar tests,
consistency of answers, KL between answer distributions, flips per item.

The drop, its interval and every verdict live in :mod:`promptcheck.stats.judge`; this module
holds the figures reported beside them. Everything works on arrays (instructions x items), so
it can be checked without a model. An incomplete design's arrays are floats with NaN where a
cell was not scored (:func:`promptcheck.evaluation.results.prediction_matrix`): each figure
then uses the cells that exist (McNemar the pairs, consistency and flips an item's scored cells).
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


def scored_cells(values: np.ndarray) -> np.ndarray:
    """Bool mask of the cells that were scored: not NaN (every cell of an int or bool array)."""
    values = np.asarray(values)
    return ~np.isnan(values) if values.dtype.kind in "fc" else np.ones(values.shape, dtype=bool)


def mcnemar_exact(ref_correct: np.ndarray, para_correct: np.ndarray) -> float:
    """Two-sided exact McNemar p-value for one paraphrase vs the reference (paired items; in an
    incomplete design the items the paraphrase scored, NaN elsewhere)."""
    keep = scored_cells(para_correct) & scored_cells(ref_correct)
    ref = np.asarray(ref_correct)[keep].astype(bool)
    para = np.asarray(para_correct)[keep].astype(bool)
    b = int(np.sum(ref & ~para))
    c = int(np.sum(~ref & para))
    if b + c == 0:
        return 1.0
    return float(sps.binomtest(b, b + c, 0.5).pvalue)


def _same_answers(predictions: np.ndarray) -> np.ndarray:
    """Per item, whether every instruction that scored it gave the same prediction; in an incomplete
    design (NaN cells) over the items with two or more scored cells (one cell compares nothing)."""
    preds = np.asarray(predictions)
    if preds.dtype.kind not in "fc" or not np.isnan(preds).any():
        return np.all(preds == preds[0], axis=0)
    seen = ~np.isnan(preds)
    first = np.nanmax(np.where(seen, preds, -np.inf), axis=0)  # any scored cell: they must all equal it
    same = np.all(~seen | (preds == first), axis=0)
    return same[seen.sum(axis=0) >= 2]


def consistency(predictions: np.ndarray) -> float:
    """Share of items whose prediction is the same under every instruction. ``predictions``: (n_instr, n_items).

    In an incomplete design (NaN where a cell was not scored): under every instruction that scored
    the item, over the items scored under two or more (so with K + 1 cells an item, not all of them).
    """
    same = _same_answers(predictions)
    return float(np.mean(same)) if same.size else math.nan


def bootstrap_consistency(
    predictions: np.ndarray, *, confidence: float = 0.95, n_boot: int = 2000, seed: int = 0
) -> Interval:
    same = _same_answers(predictions)
    if not same.size:
        return Interval(math.nan, math.nan, confidence)
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


def mean_kl(
    para_logprobs: Sequence[Sequence[Sequence[float] | None]], ref_logprobs: Sequence[Sequence[float]]
) -> float:
    """Mean over paraphrases and items of KL(p(choices | paraphrase) || p(choices | reference));
    over the scored cells in an incomplete design (``None`` where a cell was not scored)."""
    ref = choice_distributions(ref_logprobs)
    total, count = 0.0, 0
    for instr in para_logprobs:
        for row, q in zip(instr, ref):
            if row is None:
                continue
            total += float(sps.entropy(choice_distributions([row])[0], q))
            count += 1
    return total / count if count else math.nan


def item_flips(predictions: np.ndarray, ref_index: int = 0) -> np.ndarray:
    """Per item, how many instructions' predictions differ from the reference instruction's.

    ``predictions``: (n_instr, n_items). The reference row itself never counts; in an incomplete
    design (NaN cells) only the instructions that scored the item do (at most K of them).
    """
    preds = np.asarray(predictions)
    return np.sum((preds != preds[ref_index]) & scored_cells(preds), axis=0).astype(int)
