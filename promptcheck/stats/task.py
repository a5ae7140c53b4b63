"""A task's statistics, computed once where its result is made and only rendered after.

``promptcheck run`` computes a :class:`TaskStatistics` when a task finishes
(:func:`promptcheck.pipeline.run_suites`); the terminal table, the results JSON and from it the
HTML report render it and compute nothing of their own, so a figure cannot differ between two
outputs and saving the results file never judges a task again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from promptcheck.evaluation.results import TaskResult
from promptcheck.stats.outcomes import DropParts, drop_parts, form_only_instructions
from promptcheck.stats.robustness import item_flips
from promptcheck.stats.sets import (
    GroupStatistics,
    compared_kinds,
    group_statistics,
    instruction_tests,
    item_chance,
    task_guessing,
)
from promptcheck.stats.summary import SetSummary, summarize_sets
from promptcheck.stats.verdicts import above_chance

_NEUTRAL = {"drop": 0.0, "mcnemar_p": 1.0, "mcnemar_p_holm": 1.0, "significant": False}


@dataclass(frozen=True)
class Guessing:
    """The reference against guessing (docs/statistics.md: "chance" and "guessing")."""

    chance: float
    guessing: float
    #: Whether the reference's one-sided Wilson lower bound at ``confidence`` is above ``guessing``.
    above: bool
    lower_bound: float
    confidence: float


@dataclass(frozen=True)
class TaskStatistics:
    """Every statistic a task's outputs show: each set judged on its own, the compared instructions
    judged together (``robustness``), per-instruction McNemar tests, per-item flips, guessing."""

    sets: tuple[SetSummary, ...]
    robustness: GroupStatistics | None
    #: One per instruction row of the result (the reference's neutral), in the result's order.
    instruction_tests: tuple[dict[str, Any], ...]
    flips: tuple[int, ...]
    guessing: Guessing | None
    threshold: float
    confidence: float
    #: A free-form task: the compared group's drop split into form and content (else None).
    parts: DropParts | None = None
    #: A free-form task, per instruction row: its drop is the form's alone (else empty).
    form_only: tuple[bool, ...] = ()


def task_statistics(
    result: TaskResult, *, threshold: float = 0.05, confidence: float = 0.95, n_boot: int = 2000, seed: int = 0
) -> TaskStatistics:
    """The statistics of ``result`` at a verdict's threshold and confidence (computed once)."""
    rows = result.instructions
    ref_j = next((j for j, r in enumerate(rows) if r.kind == "reference"), None)
    guessing = None
    if ref_j is not None and rows[ref_j].correct:
        guess = task_guessing(result.task)
        above, low = above_chance(np.asarray(rows[ref_j].correct, dtype=bool), guess, confidence)
        guessing = Guessing(float(result.task.chance), float(guess), bool(above), float(low), float(confidence))
    if ref_j is None or len(rows) < 2:
        return TaskStatistics((), None, (), (), guessing, threshold, confidence)
    correct = np.asarray([r.correct for r in rows], dtype=bool)
    preds = np.asarray([r.predictions for r in rows])
    opts: dict[str, Any] = dict(threshold=threshold, confidence=confidence, n_boot=n_boot, seed=seed)
    others = [j for j in range(len(rows)) if j != ref_j]
    kinds = compared_kinds(rows[j].kind for j in others)
    compared = [j for j in others if rows[j].kind in kinds]
    robustness = group_statistics(
        correct[ref_j],
        correct[compared],
        preds[ref_j],
        preds[compared],
        [rows[j].kind for j in compared],
        chance=item_chance(result.task.items),
        **opts,
    )
    tests = dict(zip(others, instruction_tests(correct[ref_j], correct[others], confidence=confidence)))
    parts: DropParts | None = None
    form_only: tuple[bool, ...] = ()
    if result.task.generative:
        outcomes = [r.outcomes for r in rows]
        parts = drop_parts(
            outcomes[ref_j],
            [outcomes[j] for j in compared],
            claim=robustness.judgment.claim,
            confidence=confidence,
            seed=seed,
        )
        flags = dict(zip(others, form_only_instructions(outcomes[ref_j], [outcomes[j] for j in others])))
        form_only = tuple(flags.get(j, False) for j in range(len(rows)))
    return TaskStatistics(
        sets=tuple(summarize_sets(result, **opts)),
        robustness=robustness,
        instruction_tests=tuple(tests.get(j, _NEUTRAL) for j in range(len(rows))),
        flips=tuple(int(x) for x in item_flips(preds, ref_j)),
        guessing=guessing,
        threshold=threshold,
        confidence=confidence,
        parts=parts,
        form_only=form_only,
    )
