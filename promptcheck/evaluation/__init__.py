"""Evaluation: run a task's instructions x items through a scorer into result records.

Named ``evaluation`` (not ``evaluate``) so that ``promptcheck.evaluate`` is only ever the function.
"""

from promptcheck.evaluation.results import InstructionResult, RunResult, TaskResult
from promptcheck.evaluation.runner import evaluate

__all__ = ["InstructionResult", "RunResult", "TaskResult", "evaluate"]
