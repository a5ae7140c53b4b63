"""Scoring in rounds: a seeded item order scored round by round, stopping when a judgment decides.

The sequential gate (``assert_robust(model, task, sequential=True)``) and a prompt budget
(``run --budget``, ``--promptcheck-budget``; :mod:`promptcheck.stats.budget`) both score the
first items of a seeded order, judge, and score more only while the verdict is undecided. An
incomplete design's columns follow the same order (each round scores the design's next columns),
so the cells a run scores do not depend on where it stopped.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from promptcheck.evaluation.results import InstructionResult, TaskResult
from promptcheck.evaluation.runner import evaluate
from promptcheck.tasks.records import Task


def seeded_order(task: Task, seed: int) -> Task:
    """``task`` with its items in the seeded order rounds take (the same for every front end)."""
    items = list(task.items)
    random.Random(int(seed)).shuffle(items)
    return replace(task, items=tuple(items))


def concat_results(parts: Sequence[TaskResult]) -> TaskResult:
    """Results of consecutive item chunks of one task, under the same instructions, as one result."""
    first = parts[0]
    if len(parts) == 1:
        return first
    rows = []
    for j, row in enumerate(first.instructions):
        chunks = [p.instructions[j] for p in parts]
        rows.append(
            InstructionResult(
                instruction=row.instruction,
                **{
                    name: tuple(x for c in chunks for x in getattr(c, name))
                    for name in ("predictions", "correct", "logprobs", "outputs", "extracted", "outcomes")
                },
            )
        )
    return TaskResult(
        task=replace(first.task, items=tuple(item for p in parts for item in p.task.items)),
        model=first.model,
        instructions=tuple(rows),
        prompts_scored=sum(p.prompts_scored for p in parts),
        seconds=sum(p.seconds for p in parts),
        skipped_items=tuple(i for p in parts for i in p.skipped_items),
        design=first.design,
    )


def score_rounds(
    model: Any,
    task: Task,
    instructions: Sequence[Any],
    *,
    rounds: Sequence[int],
    decided: Callable[[TaskResult], bool],
    design: Any = None,
    progress: Callable[[int], None] | None = None,
    too_long: str = "fail",
) -> tuple[TaskResult, int]:
    """Score ``task``'s items (in the order given) up to each count of ``rounds``, asking
    ``decided`` after each round whether to stop; the result over the items scored and the number
    of rounds scored. ``design``: an incomplete design, its columns continued from round to round."""
    parts: list[TaskResult] = []
    done = 0
    for n, upto in enumerate(rounds, start=1):
        chunk = replace(task, items=task.items[done:upto])
        part_design = replace(design, start=done) if design is not None else None
        parts.append(
            evaluate(model, chunk, list(instructions), design=part_design, progress=progress, too_long=too_long)
        )
        done = upto
        result = concat_results(parts)
        if decided(result) or n == len(rounds):
            return result, n
    raise ValueError("no rounds to score")
