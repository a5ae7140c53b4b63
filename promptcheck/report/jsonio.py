"""Results as JSON: the one place that writes ``promptcheck run --json`` files.

The layout is documented in docs/results-schema.md; every document promptcheck writes carries
its ``kind`` and ``schema_version`` (:mod:`promptcheck.report.documents`, which also reads them).
"""

from __future__ import annotations

import platform
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np

from promptcheck.evaluation.results import RunResult, TaskResult
from promptcheck.fileio import atomic_write_json
from promptcheck.report.documents import KINDS, stamp
from promptcheck.stats.robustness import item_flips, wilson
from promptcheck.stats.sets import compared_kinds, group_statistics, instruction_tests, item_chance, task_guessing
from promptcheck.stats.summary import summarize_sets

#: 2: ``robustness`` compares the reference with unobserved/generated instructions only (observed
#: ones are their own set), ``drop_interval`` holds the verdict's one-sided bounds (their two-sided
#: coverage in ``interval_confidence``), and instruction tests carry Holm-adjusted p-values.
SCHEMA_VERSION = KINDS["run"]
#: What the interval statistics in a results file are judged against (same defaults as assert_robust).
STAT_DEFAULTS = {"threshold": 0.05, "confidence": 0.95, "n_boot": 2000}
_LIBRARIES = ("promptcheck", "torch", "transformers", "peft", "tokenizers", "numpy", "scipy")


def library_versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in _LIBRARIES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def _statistics(result: TaskResult, seed: int, stats: dict[str, Any]) -> dict[str, Any]:
    """Interval statistics per set and over every non-reference instruction, plus per-instruction
    drops and per-item flip counts: everything a report shows, computed here and not in the report."""
    rows = result.instructions
    ref_j = next((j for j, r in enumerate(rows) if r.kind == "reference"), None)
    if ref_j is None or len(rows) < 2:
        return {}
    correct = np.asarray([r.correct for r in rows], dtype=bool)
    preds = np.asarray([r.predictions for r in rows])
    opts: dict[str, Any] = dict(
        threshold=float(stats["threshold"]),
        confidence=float(stats["confidence"]),
        n_boot=int(stats["n_boot"]),
        seed=seed,
    )
    chance = item_chance(result.task.items)

    def group(js: list[int]) -> dict[str, Any]:
        return group_statistics(
            correct[ref_j], correct[js], preds[ref_j], preds[js], [rows[j].kind for j in js], chance=chance, **opts
        ).to_json()

    others = [j for j in range(len(rows)) if j != ref_j]
    kinds = compared_kinds(rows[j].kind for j in others)
    tests = instruction_tests(correct[ref_j], correct[others], confidence=opts["confidence"])
    neutral = {"drop": 0.0, "mcnemar_p": 1.0, "mcnemar_p_holm": 1.0, "significant": False}
    by_row = dict(zip(others, tests))
    return {
        "robustness": group([j for j in others if rows[j].kind in kinds]),
        "sets": [s.to_json() for s in summarize_sets(result, **opts)],
        "instruction_tests": [by_row.get(j, neutral) for j in range(len(rows))],
        "flips": item_flips(preds, ref_j).tolist(),
    }


def task_to_json(
    result: TaskResult,
    *,
    seed: int = 0,
    stats: dict[str, Any] | None = None,
    representations: dict[str, Any] | None = None,
) -> dict[str, Any]:
    task = result.task
    extra = _statistics(result, seed, {**STAT_DEFAULTS, **(stats or {})})
    tests = extra.get("instruction_tests")
    flips = extra.get("flips")
    instructions = [
        {
            "index": i,
            "text": r.text,
            "kind": r.kind,
            "edits": list(r.instruction.edits),
            "accuracy": r.accuracy,
            "n_correct": sum(r.correct),
            "accuracy_interval": wilson(sum(r.correct), len(r.correct)).to_json(),
            **(tests[i] if tests else {}),
        }
        for i, r in enumerate(result.instructions)
    ]
    items = [
        {
            "id": item.id,
            "answer": item.answer,
            # Several correct choices (BIG-bench ties): all of them; "answer" is the first.
            **({"answers": list(item.answers)} if len(item.answers) > 1 else {}),
            "n_choices": len(item.choices),
            # predictions[j] / logprobs[j] belong to instructions[j].
            "predictions": [r.predictions[n] for r in result.instructions],
            "logprobs": [list(r.logprobs[n]) for r in result.instructions],
            **({"flips": flips[n]} if flips else {}),
        }
        for n, item in enumerate(task.items)
    ]
    return {
        "name": task.name,
        "kind": task.kind,
        "format": task.format,
        "length_norm": task.length_norm,
        "source": task.source,
        "suite_hash": task.source_hash,
        "n_items": len(task.items),
        "chance_accuracy": task.chance,
        "guessing_accuracy": task_guessing(task),
        **(
            {"sample": {"limit": task.limit, "seed": task.sample_seed, "population": task.population}}
            if task.limit is not None
            else {}
        ),
        "skipped_items": list(result.skipped_items),
        "reference_instruction": task.reference_instruction,
        "reference_accuracy": result.reference_accuracy,
        "sets": extra.get("sets", []),
        **({"robustness": extra["robustness"]} if extra else {}),
        **({"representations": representations} if representations else {}),
        "instructions": instructions,
        "items": items,
        "prompts_scored": result.prompts_scored,
        "seconds": round(result.seconds, 3),
    }


def run_to_json(
    run: RunResult,
    *,
    timestamp: bool = True,
    stats: dict[str, Any] | None = None,
    representations: dict[str, dict[str, Any]] | None = None,
    task_docs: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The JSON document for a run; ``timestamp=False`` makes it byte-identical across runs.

    ``stats`` overrides :data:`STAT_DEFAULTS` (threshold, confidence, n_boot) for the interval
    statistics; ``representations`` maps a task name to its representation analysis.
    ``task_docs``: each task's :func:`task_to_json`, already made (``run_suites`` makes each once,
    when the task finishes, and saves the file after every task without judging the others again).
    """
    libs = library_versions()
    stats = {**STAT_DEFAULTS, **(stats or {})}
    reps = representations or {}
    doc: dict[str, Any] = {
        "promptcheck_version": libs.get("promptcheck"),
        "seed": run.seed,
        "model": run.model.to_json(),
        "libraries": libs,
        "settings": dict(run.settings),
        "statistics": stats,
        "tasks": task_docs
        if task_docs is not None
        else [task_to_json(t, seed=run.seed, stats=stats, representations=reps.get(t.task.name)) for t in run.tasks],
    }
    if timestamp:
        doc["created"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return stamp("run", doc)


def write_run_json(
    path: Path,
    run: RunResult,
    *,
    timestamp: bool = True,
    stats: dict[str, Any] | None = None,
    representations: dict[str, dict[str, Any]] | None = None,
    task_docs: list[dict[str, Any]] | None = None,
) -> None:
    """Write atomically: an interrupted write never replaces a good file with half a file."""
    atomic_write_json(
        path,
        run_to_json(run, timestamp=timestamp, stats=stats, representations=representations, task_docs=task_docs),
    )
