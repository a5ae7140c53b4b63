"""Which instructions are compared, and the statistics of one group of them, for results files.

``promptcheck run --json`` stores these so that reports (HTML, compare) only render numbers.
Every verdict and interval here comes from :func:`promptcheck.stats.judge`, the same rule as
:func:`promptcheck.assert_robust`.

What is compared by default follows the paper's columns: the reference against the unobserved
(and generated) instructions, which are the honest test of new phrasings; observed ones, the
optimistic side, are judged as their own set. Pooling them is an explicit ``kinds=`` choice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from promptcheck.stats.robustness import Interval, bootstrap_consistency, consistency, mcnemar_exact, scored_cells
from promptcheck.stats.verdicts import Judgment, _accuracies, holm, judge

#: Instruction kinds that stand for new phrasings (never trained on, never seen when tuning).
NEW_PHRASINGS = ("unobserved", "generated")


def compared_kinds(kinds: Iterable[str]) -> tuple[str, ...]:
    """The kinds a verdict compares with the reference: unobserved and generated ones when there
    are any, else the observed ones."""
    present = set(kinds) - {"reference"}
    new = tuple(k for k in NEW_PHRASINGS if k in present)
    return new or (("observed",) if "observed" in present else ())


def claim_for(kinds: Sequence[str]) -> str:
    """``phrasings`` when two or more new phrasings (unobserved, generated) are compared, else
    ``instructions``: one instruction's spread cannot stand for phrasings in general."""
    kinds = list(kinds)
    if len(kinds) >= 2 and any(k in NEW_PHRASINGS for k in kinds):
        return "phrasings"
    return "instructions"


def item_chance(items: Iterable[Any]) -> list[float]:
    """Per item, the accuracy of a uniform random guess among its choices (``MCItem.chance``:
    the share of correct choices when an item has several)."""
    return [float(item.chance) for item in items]


def guessing_accuracy(items: Sequence[Any], *, by: str = "position") -> float:
    """What answering without reading scores: a uniform guess, or the same answer every time.

    The second matters on unbalanced tasks: a model that only says "yes" scores the share of
    "yes" items, which a uniform-guess chance of 0.5 would call a signal. "The same answer" is
    the same *position* (``by="position"``: a lettered option), the same choice *text*
    (``"text"``: a continuation scored without a list, where position means nothing and a
    suite whose right answer always comes first would otherwise look unbeatable), or the better
    of the two (``"both"``). :func:`task_guessing` picks by the task's format.
    """
    uniform = float(np.mean([item.chance for item in items]))
    options: list[float] = []
    if by in ("position", "both"):
        options += [
            float(np.mean([c in item.answers for item in items])) for c in range(max(len(i.choices) for i in items))
        ]
    if by in ("text", "both"):
        right = [{item.choices[a].strip().lower() for a in item.answers} for item in items]
        texts = {t for r in right for t in r}
        options += [float(np.mean([t in r for r in right])) for t in texts]
    return max([uniform, *options])


def task_guessing(task: Any) -> float:
    """:func:`guessing_accuracy` for how the task shows its options: letters by position, choice
    texts without a list by text, texts with a list by either. ``promptcheck run``'s table and
    ``promptcheck fix`` (NO SIGNAL) both judge the reference against this."""
    by = "position" if task.format == "letters" else ("both" if task.show_choices else "text")
    return guessing_accuracy(task.items, by=by)


def cells(correct: Any) -> np.ndarray:
    """Correctness as :func:`promptcheck.stats.judge` takes it: bool, or float with NaN where an
    incomplete design did not score a cell (kept as floats only when some cell is NaN)."""
    arr = np.asarray(correct)
    if arr.dtype.kind in "fc" and np.isnan(arr).any():
        return arr.astype(np.float64)
    return arr.astype(bool)


def instruction_tests(ref_correct: np.ndarray, rows: np.ndarray, *, confidence: float = 0.95) -> list[dict]:
    """Per compared instruction: its drop, the exact McNemar p-value (paired items), that p-value
    Holm-adjusted across the instructions, and ``significant``: adjusted p below ``1 - confidence``
    with accuracy below the reference (a 12-instruction suite otherwise shows a "significant"
    instruction about half the time when nothing changed).

    In an incomplete design (``rows`` with NaN where a cell was not scored) each instruction is
    tested on its own items: its drop is the reference's accuracy on those items minus its own, and
    McNemar pairs them (an instruction with no scored item: drop 0, p 1)."""
    ref = np.asarray(ref_correct, dtype=bool)
    rows = cells(rows)
    seen = scored_cells(rows)
    drops = [
        float(ref[keep].mean() - row[keep].astype(bool).mean()) if keep.any() else 0.0 for row, keep in zip(rows, seen)
    ]
    pvals = [mcnemar_exact(ref, row) for row in rows]
    adjusted = holm(pvals)
    return [
        {"drop": d, "mcnemar_p": p, "mcnemar_p_holm": a, "significant": bool(a < 1 - confidence and d > 0)}
        for d, p, a in zip(drops, pvals, adjusted)
    ]


@dataclass(frozen=True)
class GroupStatistics:
    """A group of instructions against the reference: the judgment, spread and consistency."""

    kinds: tuple[str, ...]
    judgment: Judgment
    spread_sd: float
    spread_range: float
    consistency: float
    #: None when not asked for (:func:`group_statistics`'s ``consistency_interval=False``).
    consistency_interval: Interval | None

    @property
    def verdict(self) -> str:
        return self.judgment.verdict

    def to_json(self) -> dict:
        """The judgment's own record (:meth:`Judgment.to_json`) with the group's figures; the run
        schema's names ``n_instructions`` and ``drop_interval`` kept for files' readers."""
        judged = self.judgment.to_json()
        return {
            "kinds": list(self.kinds),
            "n_instructions": self.judgment.instructions,
            **judged,
            "drop_interval": judged["interval"],
            "spread_sd": self.spread_sd,
            "spread_range": self.spread_range,
            "consistency": self.consistency,
            "consistency_interval": self.consistency_interval.to_json() if self.consistency_interval else None,
        }


def group_statistics(
    ref_correct: np.ndarray,
    para_correct: np.ndarray,
    ref_predictions: np.ndarray,
    para_predictions: np.ndarray,
    kinds: Sequence[str],
    *,
    threshold: float = 0.05,
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
    chance: Sequence[float] | None = None,
    claim: str | None = None,
    relative: bool = False,
    looks: Sequence[float] | None = None,
    planned_items: int | None = None,
    consistency_interval: bool = True,
) -> GroupStatistics:
    """Statistics of ``para`` (instructions x items) against ``ref`` (items); ``kinds`` of the para rows;
    ``chance`` per item (:func:`item_chance`). The one place a group of instructions is judged:
    ``promptcheck run`` (per set and for the compared kinds) and :func:`promptcheck.assert_robust`
    (``claim``, ``relative``, sequential ``looks`` over ``planned_items``) both call it. An
    incomplete design's ``para_correct`` and ``para_predictions`` are floats with NaN where a
    cell was not scored: the judgment is the incomplete design's, each instruction's accuracy (and
    so the spread) is over its own items, consistency over each item's scored cells.

    Spread and consistency cover the items the judgment used (a sequential verdict may stop
    early); the consistency interval is two-sided at the judgment's own level (``1 - 2 alpha`` of
    the look that decided), or skipped with ``consistency_interval=False`` (its bootstrap is
    the costly part, and a gate without a consistency check never shows it).
    """
    ref = np.asarray(ref_correct, dtype=bool)
    para = cells(para_correct)
    j = judge(
        ref,
        para,
        max_accuracy_drop=threshold,
        confidence=confidence,
        claim=claim or claim_for(kinds),
        seed=seed,
        chance=chance,
        relative=relative,
        looks=looks,
        planned_items=planned_items,
    )
    used = j.items_used
    accs = _accuracies(para[:, :used])
    preds = np.vstack([np.asarray(ref_predictions)[None, :used], np.asarray(para_predictions)[:, :used]])
    interval = (
        bootstrap_consistency(preds, confidence=1 - 2 * (1 - j.bound_confidence), n_boot=n_boot, seed=seed)
        if consistency_interval
        else None
    )
    return GroupStatistics(
        kinds=tuple(sorted(set(kinds))),
        judgment=j,
        spread_sd=float(np.std(accs, ddof=1)) if len(accs) > 1 else 0.0,
        spread_range=float(accs.max() - accs.min()) if accs.size else 0.0,
        consistency=consistency(preds),
        consistency_interval=interval,
    )
