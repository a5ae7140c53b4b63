"""BIG-bench task folders as they are: a folder or its ``task.json``, parents with subtasks.

A BIG-bench JSON task is ``<task>/task.json``. Some tasks (``logical_deduction``,
``bbq_lite_json``, ...) are parents: their ``task.json`` has no ``examples``, and each subtask is
a sub-folder with its own ``task.json``. Each subtask is its own task (named
``parent/subtask``), because subtasks differ in what they ask and how many choices they offer;
``pool=True`` makes one task of them all (item ids prefixed with the subtask's folder name).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from promptcheck.errors import InputError
from promptcheck.tasks.items import load_bigbench_json, loads_strict, read_text
from promptcheck.tasks.records import Item
from promptcheck.tasks.sampling import collect

TASK_FILE = "task.json"


@dataclasses.dataclass(frozen=True)
class BigbenchSource:
    """One loadable BIG-bench task: its name and its ``task.json`` (or several, pooled)."""

    name: str
    files: tuple[Path, ...]
    root: Path


def task_file(path: Path) -> Path:
    """The ``task.json`` of a folder (or the file itself)."""
    if path.is_dir():
        f = path / TASK_FILE
        if not f.is_file():
            subs = [d.name for d in sorted(path.iterdir()) if (d / TASK_FILE).is_file()] if path.is_dir() else []
            if subs:
                return f  # a parent without its own task.json: resolved by sources()
            raise InputError(f"is a folder without a {TASK_FILE}; expected a BIG-bench task folder", file=path)
        return f
    return path


def _has_examples(file: Path) -> bool:
    if not file.is_file():
        return False
    data = _quick_json(file)
    return isinstance(data, dict) and "examples" in data


def _quick_json(file: Path) -> Any:
    try:
        return loads_strict(read_text(file))
    except (ValueError, RecursionError):
        return None  # load_bigbench_json reports it with its line


def subtask_dirs(folder: Path) -> list[Path]:
    return [d for d in sorted(folder.iterdir()) if d.is_dir() and (d / TASK_FILE).is_file()]


def sources(path: Path, *, pool: bool = False) -> list[BigbenchSource]:
    """The tasks a BIG-bench path stands for: one, or one per subtask (or one pooled)."""
    file = task_file(path)
    folder = file.parent
    if _has_examples(file) or not folder.is_dir():
        return [BigbenchSource(folder.name if file.name == TASK_FILE else file.stem, (file,), folder)]
    subs = subtask_dirs(folder)
    if not subs:
        if file.is_file() and _quick_json(file) is None:
            return [BigbenchSource(folder.name, (file,), folder)]  # let the loader report the JSON error
        raise InputError(
            f"has no examples and {folder} has no subtask folders with a {TASK_FILE}", file=file, field="examples"
        )
    if pool:
        return [BigbenchSource(folder.name, tuple(d / TASK_FILE for d in subs), folder)]
    return [BigbenchSource(f"{folder.name}/{d.name}", (d / TASK_FILE,), folder) for d in subs]


def usable(srcs: list[BigbenchSource], path: Path) -> list[BigbenchSource]:
    """The subtasks to load: every one (free-form subtasks are tasks too, since free-form items are
    scored by generation). Kept as the one place a future filter would go."""
    return srcs


def load_source(src: BigbenchSource, *, limit: int | None = None, seed: int = 0) -> tuple[list[Item], dict[str, Any]]:
    """Items and metadata of a source; pooled subtasks are sampled as one pool (of one kind of item:
    a parent mixing free-form and multiple-choice subtasks is loaded one subtask at a time)."""
    if len(src.files) == 1:
        return load_bigbench_json(src.files[0], limit=limit, seed=seed)
    pooled: list[Item] = []
    metas = []
    skipped = 0
    kinds: dict[bool, str] = {}
    for f in src.files:
        items, meta = load_bigbench_json(f)
        kinds.setdefault(bool(items) and not items[0].choices, f.parent.name)
        if len(kinds) > 1:
            free, choice = kinds[True], kinds[False]
            raise InputError(
                f"pools free-form subtasks ({free}) with multiple-choice ones ({choice}); a task's items are "
                "of one kind: load the folder without pooling (each subtask its own task: promptcheck run "
                "without --pool-subtasks), or a subtask's folder in a suite",
                file=src.root,
                field="examples",
            )
        metas.append(meta)
        skipped += meta["promptcheck"]["generative_skipped"]
        sub = f.parent.name
        pooled += [dataclasses.replace(it, id=f"{sub}/{it.id}") for it in items]
    if not pooled:
        raise InputError("no subtask has examples", file=src.root, field="examples")
    got = collect(pooled, src.root, limit=limit, seed=seed)
    parent = src.root / TASK_FILE
    meta = dict(_quick_json(parent) or {}) if parent.is_file() else {}
    prefixes = {m.get("task_prefix") for m in metas}
    if "task_prefix" not in meta and len(prefixes) == 1:
        meta["task_prefix"] = prefixes.pop()
    shows = {m.get("append_choices_to_input", True) for m in metas}
    if "append_choices_to_input" not in meta and len(shows) == 1:
        meta["append_choices_to_input"] = shows.pop()
    for key in ("stop_string", "output_regex"):  # free-form settings the subtasks agree on
        values = {m.get(key) for m in metas}
        if key not in meta and len(values) == 1 and None not in values:
            meta[key] = values.pop()
    meta["promptcheck"] = {"population": got.population, "generative_skipped": skipped}
    return got.items, meta
