"""A task's statistics, computed once where its result is made and only rendered after.

``promptcheck run`` computes a :class:`TaskStatistics` when a task finishes
(:func:`promptcheck.pipeline.run_suites`); the terminal table, the results JSON and from it the
HTML report render it and compute nothing of their own, so a figure cannot differ between two
outputs and saving the results file never judges a task again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from promptcheck.evaluation.results import TaskResult, correct_matrix, prediction_matrix
from promptcheck.stats.budget import BudgetOutcome
from promptcheck.stats.outcomes import FORM_OUTCOMES, DropParts, drop_parts, form_only_instructions
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
from promptcheck.stats.verdicts import above_chance, judge

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
    #: Scored under a prompt budget: what it bought and why scoring stopped (else None).
    budget: BudgetOutcome | None = None


def task_statistics(
    result: TaskResult,
    *,
    threshold: float = 0.05,
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
    looks: Sequence[float] | None = None,
    planned_items: int | None = None,
) -> TaskStatistics:
    """The statistics of ``result`` at a verdict's threshold and confidence (computed once).

    ``looks`` over ``planned_items``: the compared instructions' verdict is a sequential one
    (a budget's rounds, :mod:`promptcheck.stats.budget`), judged at the last look ``result`` reaches."""
    rows = result.instructions
    ref_j = next((j for j, r in enumerate(rows) if r.kind == "reference"), None)
    guessing = None
    if ref_j is not None and rows[ref_j].correct:
        guess = task_guessing(result.task)
        above, low = above_chance(np.asarray(rows[ref_j].correct, dtype=bool), guess, confidence)
        guessing = Guessing(float(result.task.chance), float(guess), bool(above), float(low), float(confidence))
    if ref_j is None or len(rows) < 2:
        return TaskStatistics((), None, (), (), guessing, threshold, confidence)
    correct = correct_matrix(rows)  # float with NaN where an incomplete design scored no cell
    preds = prediction_matrix(rows)
    opts: dict[str, Any] = dict(threshold=threshold, confidence=confidence, n_boot=n_boot, seed=seed)
    others = [j for j in range(len(rows)) if j != ref_j]
    kinds = compared_kinds(rows[j].kind for j in others)
    compared = [j for j in others if rows[j].kind in kinds]
    robustness = group_statistics(
        correct[ref_j].astype(bool),
        correct[compared],
        preds[ref_j],
        preds[compared],
        [rows[j].kind for j in compared],
        chance=item_chance(result.task.items),
        looks=looks,
        planned_items=planned_items,
        **opts,
    )
    tests = dict(zip(others, instruction_tests(correct[ref_j].astype(bool), correct[others], confidence=confidence)))
    parts: DropParts | None = None
    form_only: tuple[bool, ...] = ()
    if result.task.generative:
        outcomes = [r.outcomes for r in rows]
        parts = outcome_parts(
            outcomes[ref_j],
            [outcomes[j] for j in compared],
            claim=robustness.judgment.claim,
            confidence=confidence,
            seed=seed,
        )
        flags = dict(zip(others, form_only_rows(outcomes[ref_j], [outcomes[j] for j in others])))
        form_only = tuple(flags.get(j, False) for j in range(len(rows)))
    return TaskStatistics(
        sets=tuple(summarize_sets(result, looks=looks, planned_items=planned_items, **opts)),
        robustness=robustness,
        instruction_tests=tuple(tests.get(j, _NEUTRAL) for j in range(len(rows))),
        flips=tuple(int(x) for x in item_flips(preds, ref_j)),
        guessing=guessing,
        threshold=threshold,
        confidence=confidence,
        parts=parts,
        form_only=form_only,
    )


def _indicator(outcomes: Sequence[Sequence[str | None]], names: tuple[str, ...]) -> np.ndarray:
    """1.0 where a cell's outcome is not one of ``names``, 0.0 where it is, NaN where it was not scored."""
    return np.asarray(
        [[np.nan if o is None else float(o not in names) for o in row] for row in outcomes], dtype=np.float64
    )


def outcome_parts(
    reference: Sequence[str | None],
    paraphrases: Sequence[Sequence[str | None]],
    *,
    claim: str,
    confidence: float,
    seed: int = 0,
) -> DropParts:
    """:func:`promptcheck.stats.outcomes.drop_parts`, for an incomplete design too (``None``: a cell
    not scored): each part judged by :func:`judge` on its indicator with NaN there, so the two parts
    still add up to the incomplete design's drop."""
    if all(o is not None for row in paraphrases for o in row):
        return drop_parts(reference, paraphrases, claim=claim, confidence=confidence, seed=seed)  # type: ignore[arg-type]
    ref = [list(reference)]
    opts: dict[str, Any] = dict(claim=claim, confidence=confidence, seed=seed)
    return DropParts(
        form=judge(_indicator(ref, FORM_OUTCOMES)[0].astype(bool), _indicator(paraphrases, FORM_OUTCOMES), **opts),
        content=judge(_indicator(ref, ("wrong",))[0].astype(bool), _indicator(paraphrases, ("wrong",)), **opts),
    )


def form_only_rows(reference: Sequence[str | None], paraphrases: Sequence[Sequence[str | None]]) -> list[bool]:
    """:func:`promptcheck.stats.outcomes.form_only_instructions`, each instruction on its own items
    in an incomplete design (the reference's rates on the same items)."""
    if all(o is not None for row in paraphrases for o in row):
        return form_only_instructions(reference, paraphrases)  # type: ignore[arg-type]
    out = []
    for row in paraphrases:
        keep = [i for i, o in enumerate(row) if o is not None]
        out += form_only_instructions([reference[i] for i in keep], [[row[i] for i in keep]]) if keep else [False]  # type: ignore[misc]
    return out
