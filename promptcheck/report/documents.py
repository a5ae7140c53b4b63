"""The family of results documents: every JSON promptcheck writes says its kind, and one reader reads them.

Six kinds (docs/results-schema.md): ``run`` (``promptcheck run --json``), ``pytest`` (the
plugin's ``--promptcheck-json``), ``fix`` (``fix_report.json``), ``compare``
(``promptcheck compare --json``), ``plan`` (``promptcheck plan --json``) and ``failures`` (the
gate's ``.promptcheck/failures.json``, ``fix --from``'s input). Each carries a
top-level ``"kind"`` and ``"schema_version"``; :func:`stamp` puts them on, :func:`read_document`
reads a file, dispatches on its kind and refuses an unknown kind, a kind the reader cannot use or
an unsupported version in one line. Files written before documents said their kind (run, gate and
fix files of earlier versions) are recognised by their shape, as the readers did then.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from promptcheck.errors import InputError

#: Each kind and the schema version this promptcheck writes. A version changes when a key of that
#: kind is renamed or removed; adding keys does not change it.
KINDS: dict[str, int] = {"run": 2, "pytest": 2, "fix": 2, "compare": 1, "plan": 1, "failures": 1}
#: Versions read, per kind (run and gate files of version 1 still read: compare and report use
#: the evidence common to both).
READABLE: dict[str, tuple[int, ...]] = {
    "run": (1, 2),
    "pytest": (1, 2),
    "fix": (1, 2),  # version 1: reports written before 2026-12-06, the same layout
    "compare": (1,),
    "plan": (1,),
    "failures": (1,),
}
#: The kinds that hold per-item evidence of one model (what report, compare and plan read).
RESULTS = ("run", "pytest", "fix")
WHAT = {
    "run": "promptcheck run --json",
    "pytest": "the plugin's --promptcheck-json",
    "fix": "fix_report.json",
    "compare": "promptcheck compare --json",
    "plan": "promptcheck plan --json",
    "failures": "the gate's failures.json, fix's input",
}


def stamp(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """``body`` as a document of ``kind``: ``kind`` and ``schema_version`` first, then the rest."""
    if kind not in KINDS:
        raise ValueError(f"unknown document kind {kind!r}")
    rest = {k: v for k, v in body.items() if k not in ("kind", "schema_version")}
    return {"kind": kind, "schema_version": KINDS[kind], **rest}


def kind_of(doc: Any, source: str | Path | None = None) -> str:
    """The document's kind: its ``"kind"``, or for a file from before kinds were written, its shape."""
    if not isinstance(doc, dict):
        raise InputError("not a promptcheck results file (not a JSON object)", file=source)
    kind = doc.get("kind")
    if kind is not None:
        if kind not in KINDS:
            raise InputError(f"unknown kind {kind!r}; promptcheck writes {', '.join(KINDS)}", file=source, field="kind")
        return str(kind)
    if isinstance(doc.get("tests"), list):
        return "pytest"
    tasks = doc.get("tasks")
    if isinstance(tasks, list):
        if tasks and isinstance(tasks[0], dict) and "verdicts" in tasks[0] and "instructions" not in tasks[0]:
            return "failures"
        if (
            "adapter" in doc
            or "per_task_adapters" in doc
            or (tasks and isinstance(tasks[0], dict) and "before" in tasks[0])
        ):
            return "fix"
        return "run"
    raise InputError("not a promptcheck results file (no 'kind', 'tasks' or 'tests')", file=source)


def read_document(path: str | Path, *, accept: Iterable[str] = RESULTS, reader: str = "") -> dict[str, Any]:
    """Read a document, check its kind is one ``accept`` lists and its version one this promptcheck reads.

    Bad input is an :class:`InputError` naming the file, never a traceback. ``reader`` names the
    command for the refusal ("promptcheck compare reads ...").
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("no such file", file=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read: {exc}", file=path) from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"not JSON: {exc.msg}", file=path, line=exc.lineno) from None
    kind = kind_of(doc, path)
    wanted = tuple(accept)
    if kind not in wanted:
        who = f"{reader} reads" if reader else "expected"
        raise InputError(
            f"a {kind} document ({WHAT[kind]}); {who} {' or '.join(WHAT[k] for k in wanted)}",
            file=path,
            field="kind",
        )
    listed = "tests" if kind == "pytest" else "tasks"
    if kind in ("run", "pytest", "fix", "failures") and not isinstance(doc.get(listed), list):
        raise InputError(f"a {kind} document without its '{listed}' list", file=path, field="kind")
    version = doc.get("schema_version")
    if isinstance(version, bool) or version not in READABLE[kind]:
        raise InputError(
            f"schema_version {version!r} of a {kind} document is not supported (this promptcheck reads "
            f"{', '.join(map(str, READABLE[kind]))})",
            file=path,
            field="schema_version",
        )
    _check_shape(doc, kind, path)
    return dict(doc)


def _check_shape(doc: dict[str, Any], kind: str, path: str | Path) -> None:
    """What report, compare and plan read of a run or gate document, checked: a hand-edited file
    is refused in one line naming the field, never a traceback or a number from broken evidence."""
    from promptcheck.options import is_number as number

    def bad(field: str, what: str) -> InputError:
        return InputError(what, file=path, field=field)

    if kind == "run":
        if not isinstance(doc.get("model"), dict):
            raise bad("model", "must be the model's identity (an object)")
        for i, t in enumerate(doc["tasks"]):
            where = f"tasks[{i}]"
            if not isinstance(t, dict):
                raise bad(where, "must be an object")
            if not isinstance(t.get("name"), str):
                raise bad(f"{where}.name", "must be the task's name")
            ins = t.get("instructions")
            if not isinstance(ins, list) or not all(
                isinstance(r, dict) and isinstance(r.get("index"), int) and isinstance(r.get("kind"), str) for r in ins
            ):
                raise bad(f"{where}.instructions", "must be a list of instructions with index and kind")
            if "reference_accuracy" in t and not number(t["reference_accuracy"]):
                raise bad(f"{where}.reference_accuracy", f"must be a number, got {t['reference_accuracy']!r}")
            items = t.get("items")
            if items is None:
                continue
            if not isinstance(items, list):
                raise bad(f"{where}.items", "must be a list")
            if isinstance(t.get("n_items"), int) and t["n_items"] != len(items):
                raise bad(f"{where}.items", f"holds {len(items)} items where n_items says {t['n_items']}")
            designed = isinstance(t.get("design"), dict)  # #24: cells the design did not score are null
            ref = next((r["index"] for r in ins if r["kind"] == "reference"), None)
            for j, it in enumerate(items):
                at = f"{where}.items[{j}]"
                if isinstance(it, dict) and "targets" in it:  # a free-form item: correctness is recorded
                    flags = it.get("correct")
                    if not isinstance(flags, list) or len(flags) != len(ins):
                        raise bad(f"{at}.correct", f"must hold one true/false per instruction ({len(ins)})")
                    if not all(
                        isinstance(c, bool) or (c is None and designed and n != ref) for n, c in enumerate(flags)
                    ):
                        raise bad(f"{at}.correct", "must be true or false" + (" or null" if designed else ""))
                    continue
                k = it.get("n_choices") if isinstance(it, dict) else None
                if not isinstance(k, int) or k < 2:
                    raise bad(f"{at}.n_choices", "must be a number of choices (2 or more)")
                answers = it.get("answers", [it.get("answer")])
                if not isinstance(answers, list) or not all(isinstance(a, int) and 0 <= a < k for a in answers):
                    raise bad(f"{at}.answer", f"must be a choice index 0..{k - 1}, got {it.get('answer')!r}")
                preds = it.get("predictions")
                if not isinstance(preds, list) or len(preds) != len(ins):
                    raise bad(f"{at}.predictions", f"must hold one prediction per instruction ({len(ins)})")
                if not all(
                    (p is None and designed and n != ref)
                    or (isinstance(p, int) and not isinstance(p, bool) and 0 <= p < k)
                    for n, p in enumerate(preds)
                ):
                    raise bad(
                        f"{at}.predictions",
                        f"must be choice indices 0..{k - 1}"
                        + (" or null (a cell the design did not score)" if designed else ""),
                    )
    elif kind == "pytest":
        for i, r in enumerate(doc["tests"]):
            if not isinstance(r, dict):
                raise bad(f"tests[{i}]", "must be an object")
            for key in ("test", "task", "claim", "verdict"):
                if not isinstance(r.get(key), str):
                    raise bad(f"tests[{i}].{key}", "missing or not text")
            for key in ("drop", "threshold"):
                if not number(r.get(key)):
                    raise bad(f"tests[{i}].{key}", f"must be a number, got {r.get(key)!r}")
    elif kind == "fix":
        for i, t in enumerate(doc["tasks"]):
            if not isinstance(t, dict) or not all(isinstance(t.get(k), dict) for k in ("before", "after")):
                raise bad(f"tasks[{i}]", "must be an object with its before and after measurements")
