"""Descriptive summaries of a task result: accuracy per instruction set and drop vs the reference.

These are point estimates for the run table. Intervals and verdicts (bootstrap, McNemar,
sequential tests) build on the same per-item evidence in :mod:`promptcheck.stats`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from promptcheck.evaluation.results import TaskResult


@dataclass(frozen=True)
class SetSummary:
    """Accuracy over one instruction set (observed, unobserved, generated).

    ``drop`` is reference accuracy minus the set's mean accuracy, in absolute points
    (0.05 = 5 points); ``worst_drop`` uses the set's worst instruction.
    """

    kind: str
    n_instructions: int
    mean_accuracy: float
    worst_accuracy: float
    best_accuracy: float
    drop: float
    worst_drop: float
    worst_instruction: str

    def to_json(self) -> dict:
        return {
            "kind": self.kind,
            "n_instructions": self.n_instructions,
            "mean_accuracy": self.mean_accuracy,
            "worst_accuracy": self.worst_accuracy,
            "best_accuracy": self.best_accuracy,
            "drop": self.drop,
            "worst_drop": self.worst_drop,
            "worst_instruction": self.worst_instruction,
        }


def summarize_sets(result: TaskResult, kinds: tuple[str, ...] = ("observed", "unobserved", "generated")) -> list[SetSummary]:
    """One :class:`SetSummary` per non-empty instruction set, in ``kinds`` order."""
    ref = result.reference_accuracy
    out = []
    for kind in kinds:
        rows = result.of_kind(kind)
        if not rows:
            continue
        accs = [r.accuracy for r in rows]
        mean = math.fsum(accs) / len(accs)
        worst = min(rows, key=lambda r: r.accuracy)
        out.append(
            SetSummary(
                kind=kind,
                n_instructions=len(rows),
                mean_accuracy=mean,
                worst_accuracy=worst.accuracy,
                best_accuracy=max(accs),
                drop=ref - mean,
                worst_drop=ref - worst.accuracy,
                worst_instruction=worst.text,
            )
        )
    return out
