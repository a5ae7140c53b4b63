"""Result records: what one evaluation of a task under a set of instructions produced.

They hold raw per-item evidence (predictions and choice log-probabilities), so statistics
and reports are computed from the same numbers and never re-run the model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from promptcheck.models.base import ModelIdentity
from promptcheck.tasks.records import Instruction, Task


@dataclass(frozen=True)
class InstructionResult:
    """One instruction's outcome over every item of a task (items in task order)."""

    instruction: Instruction
    predictions: tuple[int, ...]
    correct: tuple[bool, ...]
    #: ``logprobs[i][k]``: log-probability of item i's choice k (summed over its tokens); a free-form
    #: task's items have none (empty tuples).
    logprobs: tuple[tuple[float, ...], ...]
    #: Free-form tasks (``task.generative``), per item: the raw answer the model wrote, the answer
    #: the task's extractor read from it (None: nothing), and its outcome (correct, misformatted,
    #: unparsed, wrong; promptcheck.tasks.matching). Empty for a multiple-choice task.
    outputs: tuple[str, ...] = ()
    extracted: tuple[str | None, ...] = ()
    outcomes: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        return self.instruction.text

    @property
    def kind(self) -> str:
        return self.instruction.kind

    @property
    def accuracy(self) -> float:
        return sum(self.correct) / len(self.correct) if self.correct else float("nan")

    def outcome_rate(self, outcome: str) -> float | None:
        """The share of items with this outcome (a free-form task), else None."""
        return self.outcomes.count(outcome) / len(self.outcomes) if self.outcomes else None


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
