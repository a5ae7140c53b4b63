"""Tasks: items (multiple-choice and free-form), instruction sets, matching of free-form answers,
and the loaders that read them from files."""

from promptcheck.tasks.matching import Match, MatchSpec, match
from promptcheck.tasks.records import GenerationSettings, GenItem, Instruction, MCItem, Task
from promptcheck.tasks.suite import load_task

__all__ = ["GenItem", "GenerationSettings", "Instruction", "MCItem", "Match", "MatchSpec", "Task", "load_task", "match"]
