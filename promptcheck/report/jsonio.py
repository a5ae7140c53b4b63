"""Results as JSON: the one place that writes (and reads) ``promptcheck run --json`` files.

The layout is documented in docs/results-schema.md; ``schema_version`` changes whenever a
key is renamed or removed (adding keys does not change it).
"""

from __future__ import annotations

import platform
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from promptcheck.evaluate.results import RunResult, TaskResult
from promptcheck.fileio import atomic_write_json
from promptcheck.stats.robustness import wilson
from promptcheck.stats.summary import summarize_sets

SCHEMA_VERSION = 1
_LIBRARIES = ("promptcheck", "torch", "transformers", "peft", "tokenizers", "numpy", "scipy")


def library_versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in _LIBRARIES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def task_to_json(result: TaskResult) -> dict[str, Any]:
    task = result.task
    instructions = [
        {
            "index": i,
            "text": r.text,
            "kind": r.kind,
            "edits": list(r.instruction.edits),
            "accuracy": r.accuracy,
            "n_correct": sum(r.correct),
            "accuracy_interval": wilson(sum(r.correct), len(r.correct)).to_json(),
        }
        for i, r in enumerate(result.instructions)
    ]
    items = [
        {
            "id": item.id,
            "answer": item.answer,
            "n_choices": len(item.choices),
            # predictions[j] / logprobs[j] belong to instructions[j].
            "predictions": [r.predictions[n] for r in result.instructions],
            "logprobs": [list(r.logprobs[n]) for r in result.instructions],
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
        "skipped_items": list(result.skipped_items),
        "reference_instruction": task.reference_instruction,
        "reference_accuracy": result.reference_accuracy,
        "sets": [s.to_json() for s in summarize_sets(result)],
        "instructions": instructions,
        "items": items,
        "prompts_scored": result.prompts_scored,
        "seconds": round(result.seconds, 3),
    }


def run_to_json(run: RunResult, *, timestamp: bool = True) -> dict[str, Any]:
    """The JSON document for a run; ``timestamp=False`` makes it byte-identical across runs."""
    libs = library_versions()
    doc: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "promptcheck_version": libs.get("promptcheck"),
        "seed": run.seed,
        "model": run.model.to_json(),
        "libraries": libs,
        "settings": dict(run.settings),
        "tasks": [task_to_json(t) for t in run.tasks],
    }
    if timestamp:
        doc["created"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return doc


def write_run_json(path: Path, run: RunResult, *, timestamp: bool = True) -> None:
    """Write atomically: an interrupted write never replaces a good file with half a file."""
    atomic_write_json(path, run_to_json(run, timestamp=timestamp))
