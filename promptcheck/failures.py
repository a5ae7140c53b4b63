"""``.promptcheck/failures.json``: written by the pytest gate, read by ``promptcheck fix --from``.

One module owns both sides, so the file's shape is stated once. The gate lists what fix is for:
definite failures, and inconclusive gates that failed their test with a measured drop above the
threshold (the evidence points to a drop and the CI gate is red either way; an inconclusive gate at
or below its threshold needs more items, not training). Only tasks read from a file are listed
(``fix`` reloads them: a suite file as it is, an items file with the ``load_task`` options the test
gave, ``load``); a gate that passes removes a stale file, so ``fix`` is never sent after old failures.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from promptcheck.errors import InputError

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
    "pool_subtasks": bool,
}
#: A suite file carries the rest itself: only its item sample can differ from the file's.
SUITE_LOAD_OPTIONS = ("limit", "sample_seed")


def task_load_options(task: Any) -> dict[str, Any]:
    """The :func:`promptcheck.load_task` options that rebuild ``task`` from its source file.

    A suite file carries its own instructions (only a sample given in code, ``limit`` and
    ``sample_seed``, is written down); an items file loaded in a test with ``observed=`` /
    ``unobserved=`` does not, and ``fix --from`` reloading the bare file would find nothing to
    check the fix on. So the gate writes the options down.
    """
    import warnings

    from promptcheck.tasks.bigbench import sources, usable
    from promptcheck.tasks.suite import SUITE_SUFFIXES

    if not task.source:
        return {}
    source = Path(task.source)
    sample = {"limit": task.limit, "sample_seed": task.sample_seed} if task.limit is not None else {}
    if source.suffix.lower() in SUITE_SUFFIXES:
        return sample
    # A BIG-bench parent folder with several subtasks was one task only if they were pooled.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the skipped generative subtasks were said when the task loaded
        pooled = source.is_dir() and len(usable(sources(source, pool=False), source)) > 1
    return {
        "name": task.name,
        "reference_instruction": task.reference_instruction,
        "observed": list(task.observed),
        "unobserved": list(task.unobserved),
        "format": task.format,
        "kind": task.kind,
        "length_norm": task.length_norm,
        "sample_seed": task.sample_seed,
        **sample,
        **({"pool_subtasks": True} if pooled else {}),
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
        # One entry per task as loaded: two files with the same stem, or one file gated with two
        # instruction sets, are two tasks (fix then asks for distinct names, in one line).
        key = json.dumps([r["task"], r["task_source"], r.get("task_load") or {}], sort_keys=True)
        t = tasks.setdefault(
            key,
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
    from promptcheck.report.documents import stamp

    body = {"seed": seed, "model": bad[0]["model"], "model_option": model_option, "tasks": list(tasks.values())}
    return stamp("failures", body)


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
            raise InputError("missing the task's suite or items file", file=path, field=f"tasks[{i}].source")
    return doc


def tasks_from_failures(path: Path, *, limit: int | None = None) -> tuple[list[Any], str | None]:
    """The tasks named in the file (reloaded from their suite files) and the model option the gate tested."""
    from promptcheck.tasks.suite import load_task

    doc = read_failures(path)
    from promptcheck.tasks.suite import SUITE_SUFFIXES

    tasks = []
    for i, t in enumerate(doc["tasks"]):
        where = f"tasks[{i}].load"
        source = Path(t["source"])  # absolute, or relative to pytest's cwd
        options = _load_options(t.get("load"), path, where)
        extra = sorted(set(options) - set(SUITE_LOAD_OPTIONS))
        if source.suffix.lower() in SUITE_SUFFIXES and extra:
            raise InputError(
                f"{', '.join(extra)}: a suite file carries these itself; only {' and '.join(SUITE_LOAD_OPTIONS)} "
                "may be given for it",
                file=path,
                field=where,
            )
        if limit is not None:  # fix's --limit wins: the same sample as `promptcheck run --limit N`
            options.pop("sample_seed", None)
            options["limit"] = limit
        try:
            tasks.append(load_task(source, **options))
        except InputError as exc:
            if exc.file is not None:  # the items file's own problem: it names itself
                raise
            raise InputError(exc.message, file=path, field=f"{where}.{exc.field}" if exc.field else where) from None
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
        bad_bool = isinstance(value, bool) and want is not bool  # JSON true is not a limit or a seed
        if not isinstance(value, want) or bad_bool or bad_list:
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
