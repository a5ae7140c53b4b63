"""Tasks: multiple-choice items, instruction sets, and the loaders that read them from files."""

from promptcheck.tasks.records import Instruction, MCItem, Task
from promptcheck.tasks.suite import load_task

__all__ = ["Instruction", "MCItem", "Task", "load_task"]
