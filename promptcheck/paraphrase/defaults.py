"""Instructions to compare for a task that brings none: the main job always measures robustness.

An items file (JSONL, CSV, a BIG-bench folder) or an lm-eval task loaded without a suite has a
reference instruction and nothing to compare it with, so ``promptcheck run`` would score one
instruction and judge nothing. Such a task gets instructions by default (``--no-default-instructions``
turns this off), the ones that best stand for "the same instruction, reworded":

- the written bank of its kind, its **unobserved** split, when the task's reference is that bank's
  own reference (promptcheck chose the reference: a bare items file) and the bank's label words
  are the task's answers: hand-written equivalents of exactly that instruction, the paper's
  unobserved set;
- otherwise (the reference is the task's own: a BIG-bench ``task_prefix``, lm-eval's
  description) :data:`N_GENERATED` generated paraphrases of it (kind ``generated``), seeded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from promptcheck.paraphrase.banks import labels_fit, load_bank
from promptcheck.tasks.records import Instruction, Task

#: Generated paraphrases a task with its own reference gets (the ``phrasings`` claim needs 2; the
#: verdict's instruction part narrows with more, and 10 is what ``--paraphrases`` users pick).
N_GENERATED = 10


@dataclass(frozen=True)
class DefaultInstructions:
    """What promptcheck added to a task, and where it came from (``bank:<kind>`` or ``generated``)."""

    instructions: tuple[Any, ...]  # Instruction (bank) or Paraphrase (generated)
    source: str

    def describe(self) -> str:
        """One line for the run table: what was added and why."""
        n = len(self.instructions)
        what = (
            f"the written {self.source.split(':', 1)[1]} bank's {n} unobserved instructions"
            if self.source.startswith("bank:")
            else f"{n} generated paraphrases of its reference"
        )
        return f"compared with {what}: the task has no instructions of its own (--no-default-instructions: none)"


def needs_defaults(task: Task) -> bool:
    """A task with a reference and nothing to compare it with."""
    return not task.observed and not task.unobserved


def default_instructions(
    task: Task,
    *,
    seed: int = 0,
    n: int = N_GENERATED,
    families: Sequence[str] | None = None,
    min_similarity: float | None = None,
) -> DefaultInstructions:
    """The instructions ``task`` is compared with when it brings none (module docstring)."""
    bank = load_bank(task.kind)
    if task.reference_instruction.strip() == bank.reference.strip() and labels_fit(bank.labels, task):
        held = tuple(Instruction(t, "unobserved") for t in bank.unobserved if t.strip() != bank.reference.strip())
        if held:
            return DefaultInstructions(held, f"bank:{task.kind}")
    from promptcheck.paraphrase.generate import paraphrases

    made = paraphrases(task.reference_instruction, n=n, seed=seed, families=families, min_similarity=min_similarity)
    return DefaultInstructions(tuple(made), "generated")
