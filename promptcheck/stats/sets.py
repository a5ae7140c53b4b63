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

from promptcheck.stats.robustness import Interval, bootstrap_consistency, consistency, mcnemar_exact
from promptcheck.stats.verdicts import Judgment, holm, judge

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


def instruction_tests(ref_correct: np.ndarray, rows: np.ndarray, *, confidence: float = 0.95) -> list[dict]:
    """Per compared instruction: its drop, the exact McNemar p-value (paired items), that p-value
    Holm-adjusted across the instructions, and ``significant``: adjusted p below ``1 - confidence``
    with accuracy below the reference (a 12-instruction suite otherwise shows a "significant"
    instruction about half the time when nothing changed)."""
    ref = np.asarray(ref_correct, dtype=bool)
    rows = np.asarray(rows, dtype=bool)
    drops = [float(ref.mean() - row.mean()) for row in rows]
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
    consistency_interval: Interval

    @property
    def verdict(self) -> str:
        return self.judgment.verdict

    def to_json(self) -> dict:
        j = self.judgment
        return {
            "kinds": list(self.kinds),
            "n_instructions": j.instructions,
            "claim": j.claim,
            "drop": j.drop,
            "drop_interval": j.interval.to_json(),
            "interval_confidence": j.interval.confidence,
            "bound_confidence": j.bound_confidence,
            "confidence": j.confidence,
            "method": j.method,
            "threshold": j.threshold,
            "verdict": j.verdict,
            "minimum_detectable_drop": j.minimum_detectable_drop,
            "items_needed": j.items_needed,
            "instructions_needed": j.instructions_needed,
            "decidable": j.decidable,
            "largest_possible_drop": j.largest_possible_drop,
            "sizes_needed_together": list(j.sizes_needed_together) if j.sizes_needed_together else None,
            "standard_error": j.standard_error,
            "spread_sd": self.spread_sd,
            "spread_range": self.spread_range,
            "consistency": self.consistency,
            "consistency_interval": self.consistency_interval.to_json(),
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
) -> GroupStatistics:
    """Statistics of ``para`` (instructions x items) against ``ref`` (items); ``kinds`` of the para rows;
    ``chance`` per item (:func:`item_chance`), as :func:`promptcheck.assert_robust` passes it."""
    ref = np.asarray(ref_correct, dtype=bool)
    para = np.asarray(para_correct, dtype=bool)
    j = judge(
        ref, para, max_accuracy_drop=threshold, confidence=confidence, claim=claim_for(kinds), seed=seed, chance=chance
    )
    accs = para.mean(axis=1)
    preds = np.vstack([np.asarray(ref_predictions)[None, :], np.asarray(para_predictions)])
    return GroupStatistics(
        kinds=tuple(sorted(set(kinds))),
        judgment=j,
        spread_sd=float(np.std(accs, ddof=1)) if len(accs) > 1 else 0.0,
        spread_range=float(accs.max() - accs.min()),
        consistency=consistency(preds),
        consistency_interval=bootstrap_consistency(
            preds, confidence=1 - 2 * (1 - confidence), n_boot=n_boot, seed=seed
        ),
    )
