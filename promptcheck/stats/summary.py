"""Per instruction set (observed, unobserved, generated): accuracies and the set's judgment.

For the run table and results files. Point figures (mean, worst, best accuracy) are read off
the result; the drop, its bounds and the verdict are the set's :func:`promptcheck.stats.judge`
judgment (via :func:`promptcheck.stats.sets.group_statistics`), never a second computation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from promptcheck.evaluation.results import InstructionResult, TaskResult, correct_matrix, prediction_matrix
from promptcheck.stats.sets import GroupStatistics, group_statistics, item_chance


@dataclass(frozen=True)
class SetSummary:
    """Accuracy over one instruction set and its judgment against the reference.

    ``drop`` is reference accuracy minus the set's mean accuracy, in absolute points
    (0.05 = 5 points); ``worst_drop`` is the largest of its instructions' own drops (a point
    figure): the reference's accuracy on the items an instruction scored minus its accuracy there,
    as each instruction's ``drop`` is (the same as reference minus worst accuracy when every
    instruction scored every item; under an incomplete design, the reference over all items minus
    an instruction over its own items mixed two samples of items: +34.6 where the instruction's own
    drop was +14.7).
    """

    kind: str
    n_instructions: int
    mean_accuracy: float
    worst_accuracy: float
    best_accuracy: float
    worst_drop: float
    worst_instruction: str
    statistics: GroupStatistics

    @property
    def drop(self) -> float:
        return self.statistics.judgment.drop

    def to_json(self) -> dict:
        return {
            **self.statistics.to_json(),  # first: the set's own figures below are point figures of its rows
            "kind": self.kind,
            "n_instructions": self.n_instructions,
            "mean_accuracy": self.mean_accuracy,
            "worst_accuracy": self.worst_accuracy,
            "best_accuracy": self.best_accuracy,
            "worst_drop": self.worst_drop,
            "worst_instruction": self.worst_instruction,
        }


def summarize_sets(
    result: TaskResult,
    kinds: tuple[str, ...] = ("observed", "unobserved", "generated"),
    *,
    threshold: float = 0.05,
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
    looks: Sequence[float] | None = None,
    planned_items: int | None = None,
) -> list[SetSummary]:
    """One :class:`SetSummary` per non-empty instruction set, in ``kinds`` order (in an incomplete
    design each instruction's accuracy is over its own items, and a set with no scored cell is left out).
    ``looks`` over ``planned_items``: judged as a sequential verdict (a budget's rounds), at the last
    look the items reach, as the compared instructions' verdict is."""
    ref_row = next((r for r in result.instructions if r.kind == "reference"), None)
    if ref_row is None:
        return []
    out = []
    for kind in kinds:
        rows = [r for r in result.of_kind(kind) if r.n_scored]
        if not rows:
            continue
        accs = [r.accuracy for r in rows]
        worst = min(rows, key=lambda r: r.accuracy)
        stats = group_statistics(
            np.asarray(ref_row.correct, dtype=bool),
            correct_matrix(rows),
            np.asarray(ref_row.predictions),
            prediction_matrix(rows),
            [kind] * len(rows),
            threshold=threshold,
            confidence=confidence,
            n_boot=n_boot,
            seed=seed,
            chance=item_chance(result.task.items),
            looks=looks,
            planned_items=planned_items,
        )
        out.append(
            SetSummary(
                kind=kind,
                n_instructions=len(rows),
                mean_accuracy=float(np.mean(accs)),
                worst_accuracy=worst.accuracy,
                best_accuracy=max(accs),
                worst_drop=max(_own_drop(ref_row, r) for r in rows),
                worst_instruction=worst.text,
                statistics=stats,
            )
        )
    return out


def _own_drop(ref_row: InstructionResult, row: InstructionResult) -> float:
    """The reference's accuracy on the items ``row`` scored minus ``row``'s accuracy on them."""
    pairs = [(bool(a), bool(b)) for a, b in zip(ref_row.correct, row.correct) if b is not None]
    return sum(a for a, _ in pairs) / len(pairs) - sum(b for _, b in pairs) / len(pairs)
