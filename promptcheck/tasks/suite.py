"""Suite files (YAML) and :func:`load_task`, the one entry point for reading a task.

A suite names a task, its items file, its reference instruction and its instruction sets;
see docs/suite-format.md. Everything but ``name``, ``items`` and ``reference_instruction`` is
optional. Unknown keys are errors, so a typo such as ``refrence_instruction`` cannot silently
fall back to a default.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from promptcheck.errors import InputError
from promptcheck.tasks.items import (
    ITEM_SUFFIXES,
    check_text,
    check_unique_ids,
    load_bigbench_json,
    load_items,
    make_item,
    read_text,
    short,
    type_name,
    yaml_hint,
)
from promptcheck.tasks.records import (
    ANSWER_FORMATS,
    LENGTH_NORMS,
    TASK_KINDS,
    MCItem,
    Task,
)
from promptcheck.tasks.yamlio import LineDict, LineList, load_yaml

SUITE_SUFFIXES = (".yaml", ".yml")

#: The reference instruction used when an items file is loaded without a suite.
DEFAULT_REFERENCE = {
    "mcqa": "Answer the following multiple choice question.",
    "classification": "Classify the following text.",
    "yesno": "Answer the following question with yes or no.",
    "nli": "Does the premise entail the hypothesis?",
}

SUITE_KEYS = {
    "name": "task name (required)",
    "items": "items file, relative to the suite file, or a list of items (required)",
    "reference_instruction": "the instruction the others are compared with (required)",
    "instructions": "observed / unobserved instruction lists",
    "format": "letters or texts",
    "kind": "mcqa, classification, yesno or nli",
    "length_norm": "none, tokens or chars",
    "show_choices": "list the choices in the prompt (texts format)",
    "description": "free text, for people",
}


def _sha256(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()


def _resolve_inside(base: Path, rel: str, *, allow_outside: bool, file: Path, line: int | None) -> Path:
    """Resolve ``rel`` against the suite's folder; refuse paths that leave it unless allowed."""
    if "\0" in rel:
        raise InputError("path contains a NUL character", file=file, line=line, field="items")
    target = (base / os.path.expanduser(rel)) if not os.path.isabs(rel) else Path(rel)
    if not allow_outside:
        try:
            # resolve() follows symlinks: a link inside the folder pointing outside is outside.
            root = base.resolve()
            resolved = target.resolve()
        except (OSError, RuntimeError) as exc:  # a symlink loop
            raise InputError(f"cannot resolve path {rel!r}: {getattr(exc, 'strerror', None) or exc}",
                             file=file, line=line, field="items") from None
        if resolved != root and root not in resolved.parents:
            raise InputError(
                f"path {rel!r} leaves the suite's folder; pass allow_outside=True "
                "(--allow-outside-paths) to permit it",
                file=file, line=line, field="items",
            )
    return target


def _string(value: Any, *, file: Path | None, line: int | None, field: str) -> str:
    if not isinstance(value, str):
        raise InputError(f"must be a string, got {type_name(value)}{yaml_hint(value)}", file=file, line=line,
                         field=field)
    if not value.strip():
        raise InputError("is empty", file=file, line=line, field=field)
    return check_text(value, lambda msg: InputError(msg, file=file, line=line, field=field))


def _choice(value: Any, allowed: Sequence[str], *, file: Path, line: int | None, field: str) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise InputError(
            f"must be one of {', '.join(allowed)}, got {short(value)}", file=file, line=line, field=field
        )
    return value


def _instruction_list(value: Any, *, file: Path, line: int | None, field: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise InputError(f"must be a list of strings, got {type_name(value)}", file=file, line=line, field=field)
    lines = getattr(value, "lines", [line] * len(value))
    return tuple(
        _string(v, file=file, line=ln, field=f"{field}[{i}]") for i, (v, ln) in enumerate(zip(value, lines))
    )


def _instruction_sets(doc: LineDict, file: Path) -> tuple[tuple[str, ...], tuple[str, ...]]:
    value = doc.get("instructions")
    line = doc.lines.get("instructions")
    if value is None:
        return (), ()
    if isinstance(value, list):
        # A bare list has no observed/unobserved split: treat all as new phrasings.
        return (), _instruction_list(value, file=file, line=line, field="instructions")
    if not isinstance(value, LineDict):
        raise InputError(
            f"must be a mapping with 'observed' and/or 'unobserved' lists, got {type_name(value)}", file=file,
            line=line, field="instructions",
        )
    for key in value:
        if key not in ("observed", "unobserved"):
            raise InputError(
                "unknown instruction set; expected 'observed' or 'unobserved'",
                file=file, line=value.lines.get(key, line), field=f"instructions.{key}",
            )
    sets = []
    for key in ("observed", "unobserved"):
        sets.append(
            _instruction_list(value.get(key), file=file, line=value.lines.get(key, line),
                              field=f"instructions.{key}")
        )
    return sets[0], sets[1]


def _check_duplicates(texts: list[tuple[str, str]], file: Path, doc: LineDict) -> None:
    seen: dict[str, str] = {}
    for field, text in texts:
        key = text.strip()
        if key in seen:
            raise InputError(
                f"duplicate instruction (same text as {seen[key]})", file=file,
                line=doc.lines.get(field.split(".")[0].split("[")[0]), field=field,
            )
        seen[key] = field


def _inline_items(value: LineList, file: Path) -> list[MCItem]:
    items = []
    for i, (obj, line) in enumerate(zip(value, value.lines)):
        if not isinstance(obj, dict):
            raise InputError("each item must be a mapping", file=file, line=line, field=f"items[{i}]")
        items.append(
            make_item(obj.get("id"), obj.get("question"), obj.get("choices"), obj.get("answer"),
                      file=file, line=line, prefix=f"items[{i}].")
        )
    check_unique_ids(items, file)
    return items


def load_suite(path: Path, *, allow_outside: bool = False) -> Task:
    """Read a suite YAML file and the items it names into a validated :class:`Task`."""
    text = read_text(path)
    if not text.strip():
        raise InputError("is empty; a suite needs name, items and reference_instruction", file=path)
    doc = load_yaml(path, text)
    if not isinstance(doc, LineDict):  # every YAML mapping loads as one
        raise InputError(f"a suite file must be a YAML mapping (key: value lines), got {type_name(doc)}",
                         file=path, line=getattr(doc, "line", 1) or 1)
    for key in doc:
        if key not in SUITE_KEYS:
            raise InputError(
                f"unknown key; expected one of {', '.join(SUITE_KEYS)}", file=path,
                line=doc.lines.get(key), field=str(key),
            )
    for key in ("name", "items", "reference_instruction"):
        if key not in doc or doc[key] is None:
            raise InputError("missing required key", file=path, line=doc.line or 1, field=key)
    name = _string(doc["name"], file=path, line=doc.lines["name"], field="name")
    reference = _string(doc["reference_instruction"], file=path, line=doc.lines["reference_instruction"],
                        field="reference_instruction")
    observed, unobserved = _instruction_sets(doc, path)
    _check_duplicates(
        [("reference_instruction", reference)]
        + [(f"instructions.observed[{i}]", t) for i, t in enumerate(observed)]
        + [(f"instructions.unobserved[{i}]", t) for i, t in enumerate(unobserved)],
        path, doc,
    )
    kind = _choice(doc.get("kind", "mcqa"), TASK_KINDS, file=path, line=doc.lines.get("kind"), field="kind")
    fmt = _choice(doc.get("format", "texts"), ANSWER_FORMATS, file=path, line=doc.lines.get("format"),
                  field="format")
    norm = _choice(doc.get("length_norm", "none"), LENGTH_NORMS, file=path,
                   line=doc.lines.get("length_norm"), field="length_norm")
    if "description" in doc and doc["description"] is not None and not isinstance(doc["description"], str):
        raise InputError(f"must be text, got {type_name(doc['description'])}", file=path,
                         line=doc.lines.get("description"), field="description")
    show = doc.get("show_choices", False)
    if not isinstance(show, bool):
        raise InputError("must be true or false", file=path, line=doc.lines.get("show_choices"),
                         field="show_choices")

    items_value = doc["items"]
    items_line = doc.lines["items"]
    hashed = [text.encode("utf-8")]
    if isinstance(items_value, LineList):  # every YAML list loads as one
        items = _inline_items(items_value, path)
    else:
        rel = _string(items_value, file=path, line=items_line, field="items")
        items_path = _resolve_inside(path.parent, rel, allow_outside=allow_outside, file=path, line=items_line)
        if os.path.abspath(items_path) == os.path.abspath(path):
            raise InputError("names the suite file itself; items go in a .jsonl, .csv or .json file",
                             file=path, line=items_line, field="items")
        if items_path.suffix.lower() not in ITEM_SUFFIXES:
            raise InputError(
                f"unknown items file type {items_path.suffix!r}; expected one of {', '.join(ITEM_SUFFIXES)}",
                file=path, line=items_line, field="items",
            )
        try:
            items = load_items(items_path)
        except InputError as exc:
            if exc.message == "file not found" and exc.line is None:
                # Say where the name came from: the suite line is what the user edits.
                raise InputError(f"items file not found: {items_path}", file=path, line=items_line,
                                 field="items") from None
            raise
        hashed.append(items_path.read_bytes())
    if not items:
        raise InputError("the suite has no items", file=path, line=items_line, field="items")
    return Task(
        name=name,
        items=tuple(items),
        reference_instruction=reference,
        observed=observed,
        unobserved=unobserved,
        format=fmt,  # type: ignore[arg-type]
        kind=kind,  # type: ignore[arg-type]
        length_norm=norm,  # type: ignore[arg-type]
        show_choices=show,
        source=str(path),
        source_hash=_sha256(*hashed),
    )


def load_task(
    path: str | os.PathLike[str],
    *,
    name: str | None = None,
    reference_instruction: str | None = None,
    observed: Sequence[str] = (),
    unobserved: Sequence[str] = (),
    format: str | None = None,
    kind: str = "mcqa",
    length_norm: str = "none",
    allow_outside: bool = False,
) -> Task:
    """Load a task from a suite YAML file, or from an items file plus options.

    A ``.yaml``/``.yml`` path is a suite file and carries its own options (passing any here is
    an error, so nothing is silently ignored). A ``.jsonl``, MMLU ``.csv`` or BIG-bench ``.json``
    path is an items file; the options fill in what a suite would say, with defaults: the
    file's stem as name, a standard reference instruction for ``kind``, ``letters`` format for
    MMLU CSV and ``texts`` otherwise.

    >>> task = load_task("examples/suites/capitals.yaml")          # doctest: +SKIP
    >>> task = load_task("mmlu/astronomy_test.csv", name="astronomy")  # doctest: +SKIP
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix in SUITE_SUFFIXES:
        given = dict(name=name, reference_instruction=reference_instruction, format=format)
        extra = [k for k, v in given.items() if v is not None] + (["observed"] if observed else []) + (
            ["unobserved"] if unobserved else [])
        if extra:
            raise InputError(f"options {', '.join(extra)} cannot override a suite file; edit the suite", file=p)
        return load_suite(p, allow_outside=allow_outside)
    if suffix not in ITEM_SUFFIXES:
        raise InputError(
            f"unknown file type {suffix!r}; expected a suite ({', '.join(SUITE_SUFFIXES)}) or an items file "
            f"({', '.join(ITEM_SUFFIXES)})",
            file=p,
        )
    if kind not in TASK_KINDS:
        raise InputError(f"must be one of {', '.join(TASK_KINDS)}, got {kind!r}", field="kind")
    if reference_instruction is not None:
        _string(reference_instruction, file=p, line=None, field="reference_instruction")
    # A bare string is one instruction, not a list of characters.
    observed = _instruction_list([observed] if isinstance(observed, str) else list(observed), file=p, line=None,
                                 field="observed")
    unobserved = _instruction_list([unobserved] if isinstance(unobserved, str) else list(unobserved), file=p,
                                   line=None, field="unobserved")
    meta: dict[str, Any] = {}
    if suffix == ".json":
        items, meta = load_bigbench_json(p)
    else:
        items = load_items(p)
    if not items:
        raise InputError("has no items", file=p)
    fmt = format or ("letters" if suffix == ".csv" else "texts")
    if fmt not in ANSWER_FORMATS:
        raise InputError(f"must be one of {', '.join(ANSWER_FORMATS)}, got {fmt!r}", field="format")
    if length_norm not in LENGTH_NORMS:
        raise InputError(f"must be one of {', '.join(LENGTH_NORMS)}, got {length_norm!r}", field="length_norm")
    prefix = meta.get("task_prefix")
    reference = reference_instruction or (prefix.strip() if isinstance(prefix, str) and prefix.strip() else None) \
        or DEFAULT_REFERENCE[kind]
    dup = LineDict()
    dup.lines = {}
    _check_duplicates([("reference_instruction", reference)]
                      + [(f"observed[{i}]", t) for i, t in enumerate(observed)]
                      + [(f"unobserved[{i}]", t) for i, t in enumerate(unobserved)], p, dup)
    return Task(
        name=name or (meta.get("name") if isinstance(meta.get("name"), str) else None) or p.stem,
        items=tuple(items),
        reference_instruction=reference,
        observed=tuple(observed),
        unobserved=tuple(unobserved),
        format=fmt,  # type: ignore[arg-type]
        kind=kind,  # type: ignore[arg-type]
        length_norm=length_norm,  # type: ignore[arg-type]
        source=str(p),
        source_hash=_sha256(p.read_bytes()),
    )


def load_tasks(paths: Sequence[str | os.PathLike[str]], *, allow_outside: bool = False) -> list[Task]:
    """Load several suites for one run; two tasks with the same name would be mixed up in results."""
    tasks: list[Task] = []
    seen: dict[str, str] = {}
    for p in paths:
        task = load_task(p, allow_outside=allow_outside)
        if task.name in seen:
            raise InputError(f"task name {task.name!r} is also the name of the task in {seen[task.name]}; "
                             "names must be unique in one run", file=p, field="name")
        seen[task.name] = str(p)
        tasks.append(task)
    return tasks
