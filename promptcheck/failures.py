"""``.promptcheck/failures.json``: written by the pytest gate, read by ``promptcheck fix --from``.

One module owns both sides, so the file's shape is stated once. The gate lists what fix is for:
definite failures, and inconclusive gates that failed their test with a measured drop above the
threshold (the evidence points to a drop and the CI gate is red either way; an inconclusive gate at
or below its threshold needs more items, not training). Only tasks read from a suite file are
listed (``fix`` reloads them from it); a gate that passes removes a stale file, so ``fix`` is never
sent after old failures.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from promptcheck.errors import InputError

SCHEMA_VERSION = 1


#: What :func:`promptcheck.load_task` needs, besides the path, to rebuild a task the gate judged
#: from an items file (.jsonl, MMLU .csv, BIG-bench): name -> the JSON type it must have.
LOAD_OPTIONS: dict[str, type | tuple[type, ...]] = {
    "name": str,
    "reference_instruction": str,
    "observed": list,
    "unobserved": list,
    "format": str,
    "kind": str,
    "length_norm": str,
    "limit": (int, type(None)),
    "sample_seed": int,
}


def task_load_options(task: Any) -> dict[str, Any]:
    """The :func:`promptcheck.load_task` options that rebuild ``task`` from its items file ({} for a suite file).

    A suite file carries its own instructions; an items file loaded in a test with
    ``observed=`` / ``unobserved=`` does not, and ``fix --from`` reloading the bare file would
    find nothing to check the fix on. So the gate writes the options down.
    """
    from promptcheck.tasks.suite import SUITE_SUFFIXES

    if not task.source or Path(task.source).suffix.lower() in SUITE_SUFFIXES:
        return {}
    return {
        "name": task.name,
        "reference_instruction": task.reference_instruction,
        "observed": list(task.observed),
        "unobserved": list(task.unobserved),
        "format": task.format,
        "kind": task.kind,
        "length_norm": task.length_norm,
        "limit": task.limit,
        "sample_seed": task.sample_seed,
    }


def worth_fixing(record: dict) -> bool:
    """A fail, or an inconclusive verdict that failed its test with a measured drop above the threshold."""
    verdict = record["verdict"]
    return verdict == "fail" or (
        verdict == "inconclusive" and record.get("test_outcome") == "failed" and record["drop"] > record["threshold"]
    )


def failures_doc(records: list[dict], *, seed: int, model_option: str | None) -> dict | None:
    """The file's content for the gate's verdict records (``RobustnessVerdict.to_json()`` plus ``test``).

    None when nothing failed that ``fix`` could work on.
    """
    bad = [r for r in records if worth_fixing(r) and r.get("task_source")]
    if not bad:
        return None
    tasks: dict[str, dict] = {}
    for r in bad:
        t = tasks.setdefault(
            r["task"],
            {
                "name": r["task"],
                "source": r["task_source"],
                "load": r.get("task_load") or {},
                "reference_instruction": r["reference_instruction"],
                "verdicts": [],
                "failing_instructions": [],
            },
        )
        t["verdicts"].append({k: r[k] for k in ("test", "verdict", "drop", "interval", "threshold", "claim")})
        seen = {f["text"] for f in t["failing_instructions"]}
        t["failing_instructions"] += [f for f in r["failing_instructions"] if f["text"] not in seen]
    return {
        "schema_version": SCHEMA_VERSION,
        "seed": seed,
        "model": bad[0]["model"],
        "model_option": model_option,
        "tasks": list(tasks.values()),
    }


def write_failures(path: Path, records: list[dict], *, seed: int, model_option: str | None) -> None:
    """Write the failing tasks to ``path``; when the gate judged tasks and none failed, remove a stale file."""
    from promptcheck.fileio import atomic_write_json

    doc = failures_doc(records, seed=seed, model_option=model_option)
    if doc is not None:
        atomic_write_json(path, doc)
    elif records and path.is_file():
        path.unlink()


def read_failures(path: Path) -> dict[str, Any]:
    """The file, checked: a JSON object with a non-empty ``tasks`` list, each naming its suite file."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("file not found (run the pytest gate first; it writes failures here)", file=path) from None
    except json.JSONDecodeError as exc:
        raise InputError(f"invalid JSON: {exc.msg}", file=path, line=exc.lineno) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read file: {getattr(exc, 'strerror', None) or exc}", file=path) from None
    tasks_json = doc.get("tasks") if isinstance(doc, dict) else None
    if not isinstance(tasks_json, list) or not tasks_json:
        raise InputError("has no failing tasks to fix", file=path, field="tasks")
    for i, t in enumerate(tasks_json):
        source = t.get("source") if isinstance(t, dict) else None
        if not isinstance(source, str) or not source:
            raise InputError("missing the task's suite file", file=path, field=f"tasks[{i}].source")
    return doc


def tasks_from_failures(path: Path, *, limit: int | None = None) -> tuple[list[Any], str | None]:
    """The tasks named in the file (reloaded from their suite files) and the model option the gate tested."""
    from promptcheck.tasks.suite import load_task

    doc = read_failures(path)
    tasks = []
    for i, t in enumerate(doc["tasks"]):
        options = _load_options(t.get("load"), path, f"tasks[{i}].load")
        if limit is not None or "limit" not in options:
            options["limit"] = limit  # fix's --limit wins over the gate's
        tasks.append(load_task(Path(t["source"]), **options))  # absolute, or relative to pytest's cwd
    option = doc.get("model_option")
    return tasks, option if isinstance(option, str) and option else None


def _load_options(raw: Any, path: Path, where: str) -> dict[str, Any]:
    """A task's ``load`` entry, checked against :data:`LOAD_OPTIONS` (absent: a suite file)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise InputError(f"must be an object of load_task options, got {type(raw).__name__}", file=path, field=where)
    for key, value in raw.items():
        want = LOAD_OPTIONS.get(key)
        if want is None:
            raise InputError(
                f"unknown option; expected one of {', '.join(LOAD_OPTIONS)}", file=path, field=f"{where}.{key}"
            )
        bad_list = isinstance(value, list) and not all(isinstance(x, str) for x in value)
        if not isinstance(value, want) or isinstance(value, bool) or bad_list:
            raise InputError(f"has the wrong type ({type(value).__name__})", file=path, field=f"{where}.{key}")
    return dict(raw)


def gates_from_failures(path: Path) -> dict[str, float]:
    """Per failing task, the threshold of the gate that failed (the smallest, if several tests gated it).

    ``fix`` reports whether *that* gate would now pass.
    """
    out: dict[str, float] = {}
    for t in read_failures(path)["tasks"]:
        raw = [v.get("threshold") for v in t.get("verdicts") or () if isinstance(v, dict)]
        thresholds = [float(x) for x in raw if isinstance(x, (int, float))]
        if thresholds and isinstance(t.get("name"), str):
            out[t["name"]] = min(thresholds)
    return out
