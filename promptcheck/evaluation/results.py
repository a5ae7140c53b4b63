"""Result records: what one evaluation of a task under a set of instructions produced.

They hold raw per-item evidence (predictions and choice log-probabilities), so statistics
and reports are computed from the same numbers and never re-run the model.

An incomplete design (``evaluate(..., design=...)``, docs/statistics.md "Incomplete designs")
scores each item under some of the instructions: a cell that was not scored is ``None`` in every
per-item tuple of its instruction (``correct``, ``predictions``, ``logprobs`` and a free-form
task's ``outputs``, ``extracted``, ``outcomes``). Read cells through :attr:`InstructionResult.scored`,
:func:`correct_matrix` and :func:`prediction_matrix`; accuracies are over each instruction's own items.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from promptcheck.models.base import ModelIdentity
from promptcheck.tasks.records import Instruction, Task


@dataclass(frozen=True)
class InstructionResult:
    """One instruction's outcome over every item of a task (items in task order; ``None``: a cell an
    incomplete design did not score)."""

    instruction: Instruction
    predictions: tuple[int | None, ...]
    correct: tuple[bool | None, ...]
    #: ``logprobs[i][k]``: log-probability of item i's choice k (summed over its tokens); a free-form
    #: task's items have none (empty tuples).
    logprobs: tuple[tuple[float, ...] | None, ...]
    #: Free-form tasks (``task.generative``), per item: the raw answer the model wrote, the answer
    #: the task's extractor read from it (None: nothing, or not scored), and its outcome (correct,
    #: misformatted, unparsed, wrong; promptcheck.tasks.matching). Empty for a multiple-choice task.
    outputs: tuple[str | None, ...] = ()
    extracted: tuple[str | None, ...] = ()
    outcomes: tuple[str | None, ...] = ()

    @property
    def text(self) -> str:
        return self.instruction.text

    @property
    def kind(self) -> str:
        return self.instruction.kind

    @property
    def scored(self) -> tuple[bool, ...]:
        """Per item, whether this instruction scored it (all True unless a design left cells out)."""
        return tuple(c is not None for c in self.correct)

    @property
    def complete(self) -> bool:
        """Every item scored."""
        return all(c is not None for c in self.correct)

    @property
    def n_scored(self) -> int:
        return sum(c is not None for c in self.correct)

    @property
    def n_correct(self) -> int:
        return sum(1 for c in self.correct if c)

    @property
    def accuracy(self) -> float:
        """The share of its scored items answered right (over its own items in an incomplete design)."""
        n = self.n_scored
        return self.n_correct / n if n else float("nan")

    def outcome_rate(self, outcome: str) -> float | None:
        """The share of its scored items with this outcome (a free-form task), else None."""
        seen = [o for o in self.outcomes if o is not None]
        return seen.count(outcome) / len(seen) if seen else None


@dataclass(frozen=True)
class TaskResult:
    """A task evaluated under several instructions, with the model that did it."""

    task: Task
    model: ModelIdentity
    instructions: tuple[InstructionResult, ...]
    prompts_scored: int = 0
    seconds: float = field(default=0.0, compare=False)
    #: Ids of items left out because a prompt was longer than the model's context
    #: (``too_long="skip"``); ``task.items`` holds only the items scored.
    skipped_items: tuple[str, ...] = ()
    #: The incomplete design it was scored under (``instructions_per_item``, ``seed``,
    #: ``compared_instructions``, ``kinds``: what the results file's ``design`` block records), or None.
    design: dict[str, Any] | None = None

    @property
    def complete(self) -> bool:
        """Every item scored under every instruction."""
        return all(r.complete for r in self.instructions)

    @property
    def reference(self) -> InstructionResult | None:
        return next((r for r in self.instructions if r.kind == "reference"), None)

    @property
    def reference_accuracy(self) -> float:
        ref = self.reference
        return ref.accuracy if ref is not None else float("nan")

    def of_kind(self, kind: str) -> list[InstructionResult]:
        return [r for r in self.instructions if r.kind == kind]

    def accuracies(self, kind: str | None = None) -> list[float]:
        return [r.accuracy for r in self.instructions if kind is None or r.kind == kind]


@dataclass(frozen=True)
class RunResult:
    """Several tasks evaluated by one model in one run (what ``promptcheck run --json`` writes)."""

    tasks: tuple[TaskResult, ...]
    model: ModelIdentity
    seed: int = 0
    settings: dict = field(default_factory=dict)
    #: Each task's statistics (``promptcheck.stats.task.TaskStatistics``), computed once when it
    #: finished; the table and the results file render them.
    statistics: tuple[Any, ...] = ()


def correct_matrix(rows: Sequence[InstructionResult]) -> np.ndarray:
    """(rows, items) correctness: bool when every cell was scored, else float with NaN where a cell
    was not (what :func:`promptcheck.stats.judge` takes)."""
    if all(r.complete for r in rows):
        return np.asarray([r.correct for r in rows], dtype=bool)
    return np.asarray([[np.nan if c is None else float(c) for c in r.correct] for r in rows], dtype=np.float64)


def prediction_matrix(rows: Sequence[InstructionResult]) -> np.ndarray:
    """(rows, items) predictions: ints when every cell was scored, else float with NaN where not."""
    if all(r.complete for r in rows):
        return np.asarray([r.predictions for r in rows])
    return np.asarray([[np.nan if p is None else float(p) for p in r.predictions] for r in rows], dtype=np.float64)
