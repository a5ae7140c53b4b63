"""BIG-bench task folders as they are: a folder or its ``task.json``, parents with subtasks.

A BIG-bench JSON task is ``<task>/task.json``. Some tasks (``logical_deduction``,
``bbq_lite_json``, ...) are parents: their ``task.json`` has no ``examples``, and each subtask is
a sub-folder with its own ``task.json``. Each subtask is its own task (named
``parent/subtask``), because subtasks differ in what they ask and how many choices they offer;
``pool=True`` makes one task of them all (item ids prefixed with the subtask's folder name).
"""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path
from typing import Any

from promptcheck.errors import InputError
from promptcheck.tasks.items import load_bigbench_json, loads_strict, read_text
from promptcheck.tasks.records import MCItem
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
    """Subtasks with multiple-choice examples; generative-only ones are left out with one warning.

    A task none of whose subtasks can be scored raises :class:`GenerativeOnly` naming the task.
    """
    if len(srcs) < 2 or len(srcs[0].files) > 1:
        return srcs
    from promptcheck.tasks.items import GenerativeOnly

    kept, left = [], []
    for src in srcs:
        data = _quick_json(src.files[0])
        examples = data.get("examples") if isinstance(data, dict) else None
        if (
            isinstance(examples, list)
            and examples
            and all(isinstance(e, dict) and "target_scores" not in e and "target" in e for e in examples)
        ):
            left.append(src.name.split("/", 1)[-1])
        else:
            kept.append(src)
    if not kept:
        raise GenerativeOnly(
            f"generative-only task: none of its {len(srcs)} subtasks has examples with "
            "'target_scores'; promptcheck scores multiple-choice tasks only",
            file=path,
        )
    if left:
        warnings.warn(
            f"{path}: skipped {len(left)} generative-only subtask(s): {', '.join(left)}", RuntimeWarning, stacklevel=2
        )
    return kept


def load_source(src: BigbenchSource, *, limit: int | None = None, seed: int = 0) -> tuple[list[MCItem], dict[str, Any]]:
    """Items and metadata of a source; pooled subtasks are sampled as one pool."""
    if len(src.files) == 1:
        return load_bigbench_json(src.files[0], limit=limit, seed=seed)
    pooled: list[MCItem] = []
    metas = []
    skipped = 0
    from promptcheck.tasks.items import GenerativeOnly

    for f in src.files:
        try:
            items, meta = load_bigbench_json(f)
        except GenerativeOnly:
            continue
        metas.append(meta)
        skipped += meta["promptcheck"]["generative_skipped"]
        sub = f.parent.name
        pooled += [dataclasses.replace(it, id=f"{sub}/{it.id}") for it in items]
    if not pooled:
        raise InputError(
            "no subtask has multiple-choice examples (generative-only task)", file=src.root, field="examples"
        )
    got = collect(pooled, src.root, limit=limit, seed=seed)
    parent = src.root / TASK_FILE
    meta = dict(_quick_json(parent) or {}) if parent.is_file() else {}
    prefixes = {m.get("task_prefix") for m in metas}
    if "task_prefix" not in meta and len(prefixes) == 1:
        meta["task_prefix"] = prefixes.pop()
    shows = {m.get("append_choices_to_input", True) for m in metas}
    if "append_choices_to_input" not in meta and len(shows) == 1:
        meta["append_choices_to_input"] = shows.pop()
    meta["promptcheck"] = {"population": got.population, "generative_skipped": skipped}
    return got.items, meta
