"""Evaluation: run a task's instructions x items through a scorer into result records."""

from promptcheck.evaluate.results import InstructionResult, RunResult, TaskResult
from promptcheck.evaluate.runner import evaluate

__all__ = ["InstructionResult", "RunResult", "TaskResult", "evaluate"]
