"""Results as JSON: the one place that writes ``promptcheck run --json`` files.

The layout is documented in docs/results-schema.md; every document promptcheck writes carries
its ``kind`` and ``schema_version`` (:mod:`promptcheck.report.documents`, which also reads them).
"""

from __future__ import annotations

import platform
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, cast

from promptcheck.evaluation.results import RunResult, TaskResult
from promptcheck.fileio import atomic_write_json
from promptcheck.options import VerdictOptions
from promptcheck.report.documents import KINDS, stamp
from promptcheck.stats.robustness import wilson
from promptcheck.stats.sets import task_guessing
from promptcheck.stats.task import TaskStatistics, task_statistics
from promptcheck.tasks.records import MCItem

#: 2: ``robustness`` compares the reference with unobserved/generated instructions only (observed
#: ones are their own set), ``drop_interval`` holds the verdict's one-sided bounds (their two-sided
#: coverage in ``interval_confidence``), and instruction tests carry Holm-adjusted p-values.
SCHEMA_VERSION = KINDS["run"]
#: What the interval statistics in a results file are judged against: a verdict's defaults.
STAT_DEFAULTS = VerdictOptions().statistics()
_LIBRARIES = ("promptcheck", "torch", "transformers", "peft", "tokenizers", "numpy", "scipy")


def library_versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in _LIBRARIES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def _statistics(st: TaskStatistics) -> dict[str, Any]:
    """The task's statistics as the results file stores them (computed once, in :func:`task_statistics`)."""
    if st.robustness is None:
        return {}
    return {
        "robustness": {
            **st.robustness.to_json(),
            **({"drop_parts": st.parts.to_json()} if st.parts is not None else {}),
        },
        "sets": [s.to_json() for s in st.sets],
        "instruction_tests": list(st.instruction_tests),
        "flips": list(st.flips),
    }


def _maybe_list(cell: Any) -> list | None:
    return None if cell is None else list(cell)


def _free_form_item(result: TaskResult, n: int, flips: list[int] | None) -> dict[str, Any]:
    """A free-form item: its accepted answers, and per instruction (in ``instructions`` order) what the
    model wrote, what was read from it, the outcome and whether it is correct. ``predictions`` are
    codes of the answers read (the same answer, the same code; -1: none), for flips and consistency.
    A cell an incomplete design did not score is null in each list."""
    item = result.task.items[n]
    rows = result.instructions
    return {
        "id": item.id,
        "targets": list(getattr(item, "targets", ())),
        "correct": [None if r.correct[n] is None else bool(r.correct[n]) for r in rows],
        "outputs": [r.outputs[n] for r in rows],
        "extracted": [r.extracted[n] for r in rows],
        "outcomes": [r.outcomes[n] for r in rows],
        "predictions": [r.predictions[n] for r in rows],
        **({"flips": flips[n]} if flips else {}),
    }


def task_to_json(
    result: TaskResult,
    *,
    seed: int = 0,
    stats: dict[str, Any] | None = None,
    representations: dict[str, Any] | None = None,
    statistics: TaskStatistics | None = None,
) -> dict[str, Any]:
    """One task of the results file. ``statistics``: its :class:`TaskStatistics`, made once when the
    task finished (``run_suites``); computed here only for a caller that has none."""
    task = result.task
    if statistics is None:
        merged = {**STAT_DEFAULTS, **(stats or {})}
        statistics = task_statistics(
            result,
            threshold=float(merged["threshold"]),
            confidence=float(merged["confidence"]),
            n_boot=int(merged["n_boot"]),
            seed=seed,
        )
    extra = _statistics(statistics)
    tests = extra.get("instruction_tests")
    flips = extra.get("flips")
    designed = result.design is not None
    instructions = [
        {
            "index": i,
            "text": r.text,
            "kind": r.kind,
            "edits": list(r.instruction.edits),
            "accuracy": r.accuracy,  # over the items it scored (its own items, in an incomplete design)
            "n_correct": r.n_correct,
            **({"n_scored": r.n_scored} if designed else {}),
            "accuracy_interval": wilson(r.n_correct, r.n_scored).to_json(),
            **(tests[i] if tests else {}),
            **(
                {
                    "misformatted_rate": r.outcome_rate("misformatted"),
                    "unparsed_rate": r.outcome_rate("unparsed"),
                    "form_only": bool(statistics.form_only[i]) if statistics.form_only else False,
                }
                if task.generative
                else {}
            ),
        }
        for i, r in enumerate(result.instructions)
    ]
    items = (
        [_free_form_item(result, n, flips) for n in range(len(task.items))]
        if task.generative
        else [
            {
                "id": item.id,
                "answer": item.answer,
                # Several correct choices (BIG-bench ties): all of them; "answer" is the first.
                **({"answers": list(item.answers)} if len(item.answers) > 1 else {}),
                "n_choices": len(item.choices),
                # predictions[j] / logprobs[j] belong to instructions[j] (null: not scored, a design).
                "predictions": [r.predictions[n] for r in result.instructions],
                "logprobs": [_maybe_list(r.logprobs[n]) for r in result.instructions],
                **({"flips": flips[n]} if flips else {}),
            }
            for n, item in enumerate(cast("tuple[MCItem, ...]", task.items))
        ]
    )
    return {
        "name": task.name,
        "kind": task.kind,
        "format": task.format,
        "free_form": task.generative,  # the model writes its answers (generation, matching below)
        **(
            {"generation": task.generation.to_json(), "matching": task.match_spec().describe()}
            if task.generation
            else {}
        ),
        "length_norm": task.length_norm,
        "source": task.source,
        "suite_hash": task.source_hash,
        "n_items": len(task.items),
        "chance_accuracy": task.chance,
        "guessing_accuracy": statistics.guessing.guessing if statistics.guessing else task_guessing(task),
        **(
            {"sample": {"limit": task.limit, "seed": task.sample_seed, "population": task.population}}
            if task.limit is not None
            else {}
        ),
        "skipped_items": list(result.skipped_items),
        **({"design": dict(result.design or {})} if designed else {}),
        **({"budget": statistics.budget.to_json()} if statistics.budget is not None else {}),
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
        else [
            task_to_json(
                t,
                seed=run.seed,
                stats=stats,
                representations=reps.get(t.task.name),
                # the statistics run_suites made when each task finished, at the run's own threshold
                statistics=run.statistics[n] if n < len(run.statistics) else None,
            )
            for n, t in enumerate(run.tasks)
        ],
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
