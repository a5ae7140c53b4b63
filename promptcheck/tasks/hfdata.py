"""Items from a Hugging Face dataset (the ``datasets`` library), named in a suite's ``items:``.

    items:
      dataset: cais/mmlu          # a hub id (cached copy used offline), or
      files: [astronomy.parquet]  # local .parquet/.json/.jsonl/.csv files, read by datasets' own builders
      config: astronomy           # optional
      split: test                 # default: test for a hub dataset, train for files (datasets' name)
      question: question          # field names
      choices: choices            # a field holding the list, or a list of fields: [A, B, C, D]
      answer: answer              # index, letter, choice text, or a list of several correct ones
      id: id                      # optional; default: a hash of question and choices
      # or, for a free-form task: targets: FIELD (the accepted answer, or a list of them), no choices/answer

``datasets`` is an optional extra (``pip install 'promptcheck[datasets]'``); it is imported only
when a suite names a dataset. Rows are read through ``datasets`` (memory-mapped Arrow), and with a
``limit`` only the sampled rows become items.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from promptcheck.errors import InputError
from promptcheck.tasks.items import make_gen_item, make_item, short, type_name
from promptcheck.tasks.records import Item
from promptcheck.tasks.sampling import Collected, collect

KEYS = ("dataset", "files", "config", "split", "question", "choices", "answer", "targets", "id")
BUILDERS = {".parquet": "parquet", ".json": "json", ".jsonl": "json", ".csv": "csv"}
INSTALL = "pip install 'promptcheck[datasets]'"


def _import_datasets() -> Any:
    try:
        import datasets
    except ImportError:
        raise InputError(f"items from a dataset need the datasets library: {INSTALL}", field="items") from None
    # Its progress bars and info logs would break the one-line-per-problem output of the CLI.
    datasets.utils.logging.disable_progress_bar()
    datasets.utils.logging.set_verbosity_error()
    return datasets


def check_spec(spec: dict, *, file: Path, line: int | None) -> dict[str, Any]:
    """Validate the ``items:`` mapping's keys and value types (before anything is downloaded)."""
    lines = getattr(spec, "lines", {})
    for key in spec:
        if key not in KEYS:
            raise InputError(
                f"unknown key; expected one of {', '.join(KEYS)}",
                file=file,
                line=lines.get(key, line),
                field=f"items.{key}",
            )
    if ("dataset" in spec) == ("files" in spec):
        raise InputError(
            "name either a hub dataset (dataset: ID) or local files (files: [...]), not both or neither",
            file=file,
            line=line,
            field="items",
        )
    out: dict[str, Any] = {}
    for key in ("dataset", "config", "split", "question", "answer", "targets", "id"):
        if key in spec and spec[key] is not None:
            if not isinstance(spec[key], str) or not spec[key].strip():
                raise InputError(
                    f"must be a non-empty string, got {type_name(spec[key])}",
                    file=file,
                    line=lines.get(key, line),
                    field=f"items.{key}",
                )
            out[key] = spec[key]
    free = "targets" in spec
    for key in ("choices", "answer"):
        if free and key in spec:
            raise InputError(
                "a free-form dataset names its targets field; choices and answer are for multiple-choice ones",
                file=file,
                line=lines.get(key, line),
                field=f"items.{key}",
            )
    for key in ("question",) if free else ("question", "choices", "answer"):
        if key not in spec:
            raise InputError(
                "missing: name the dataset field that holds it", file=file, line=line, field=f"items.{key}"
            )
    choices = spec.get("choices") if not free else ["-", "-"]
    if free:
        pass  # no choices: the model writes its answer
    elif isinstance(choices, str) and choices.strip():
        out["choices"] = choices
    elif isinstance(choices, list) and len(choices) >= 2 and all(isinstance(c, str) and c for c in choices):
        out["choices"] = list(choices)
    else:
        raise InputError(
            "must be a field name, or a list of at least 2 field names (one per choice)",
            file=file,
            line=lines.get("choices", line),
            field="items.choices",
        )
    if "files" in spec:
        files = spec["files"]
        files = [files] if isinstance(files, str) else files
        if not isinstance(files, list) or not files or not all(isinstance(f, str) and f for f in files):
            raise InputError(
                "must be a file name or a list of them", file=file, line=lines.get("files", line), field="items.files"
            )
        out["files"] = files
    return out


def load_dataset(spec: dict[str, Any], paths: list[Path] | None, *, file: Path, line: int | None) -> Any:
    """The ``datasets.Dataset`` the spec names; offline without a cached copy: one line saying what to do."""
    datasets = _import_datasets()
    if paths is not None:
        suffixes = {p.suffix.lower() for p in paths}
        builders = {BUILDERS.get(s) for s in suffixes}
        if None in builders or len(builders) != 1:
            raise InputError(
                f"files must all be one of {', '.join(BUILDERS)} (got {', '.join(sorted(suffixes))})",
                file=file,
                line=line,
                field="items.files",
            )
        for p in paths:
            if not p.is_file():
                raise InputError(f"file not found: {p}", file=file, line=line, field="items.files")
        label = ", ".join(str(p) for p in paths)
        args: tuple = (builders.pop(),)
        kwargs: dict[str, Any] = {"data_files": [str(p) for p in paths], "split": spec.get("split", "train")}
    else:
        label = spec["dataset"] + (f" ({spec['config']})" if "config" in spec else "")
        args = (spec["dataset"],) + ((spec["config"],) if "config" in spec else ())
        kwargs = {"split": spec.get("split", "test")}
    try:
        return datasets.load_dataset(*args, **kwargs)
    except Exception as exc:
        text = " ".join(str(exc).split())
        offline = any(
            s in text.lower()
            for s in (
                "offline",
                "connection",
                "couldn't reach",
                "could not reach",
                "name resolution",
                "max retries",
                "timed out",
                "hf_hub_offline",
            )
        )
        if paths is None and (
            offline or type(exc).__name__ in ("ConnectionError", "OfflineModeIsEnabled", "LocalEntryNotFoundError")
        ):
            raise InputError(
                f"dataset {label}: no cached copy and the Hugging Face hub cannot be reached; run "
                "once online (it is then cached), or point HF_HOME at a cache holding it, or download "
                "its files and name them under items.files",
                file=file,
                line=line,
                field="items.dataset",
            ) from None
        if (
            "split" in text.lower()
            and "unknown" in text.lower()
            or type(exc).__name__ == "ValueError"
            and "split" in text
        ):
            raise InputError(f"dataset {label}: {text[:200]}", file=file, line=line, field="items.split") from None
        raise InputError(
            f"dataset {label} cannot be read ({type(exc).__name__}: {text[:200]})", file=file, line=line, field="items"
        ) from None


def dataset_items(
    ds: Any, spec: dict[str, Any], *, file: Path, line: int | None, limit: int | None, seed: int
) -> Collected:
    """Items from the rows of ``ds``, fields mapped as the spec says; sampled with ``limit``."""
    columns = list(getattr(ds, "column_names", None) or [])
    free = "targets" in spec
    roles = (
        [("question", spec["question"]), ("targets", spec["targets"])]
        if free
        else [
            ("question", spec["question"]),
            *(("choices", c) for c in (spec["choices"] if isinstance(spec["choices"], list) else [spec["choices"]])),
            ("answer", spec["answer"]),
        ]
    )
    roles += [("id", spec["id"])] if "id" in spec else []
    for key, name in roles:
        if columns and name not in columns:
            raise InputError(
                f"the dataset has no field {name!r} (fields: {', '.join(columns)})",
                file=file,
                line=line,
                field=f"items.{key}",
            )

    def rows() -> Iterator[Item]:
        for n, row in enumerate(ds):
            raw_id = row[spec["id"]] if "id" in spec else None
            where = dict(file=file, line=line, prefix=f"items: row {n}: ")
            if free:
                yield make_gen_item(raw_id, row[spec["question"]], row[spec["targets"]], **where)  # type: ignore[arg-type]
                continue
            if isinstance(spec["choices"], list):
                choices = [row[c] for c in spec["choices"]]
            else:
                choices = row[spec["choices"]]
            yield make_item(raw_id, row[spec["question"]], choices, row[spec["answer"]], **where)  # type: ignore[arg-type]

    return collect(rows(), file, limit=limit, seed=seed)


def fingerprint(ds: Any, spec: dict[str, Any]) -> bytes:
    """What identifies the items for ``suite_hash``: the dataset's own fingerprint and the field mapping."""
    return json.dumps([getattr(ds, "_fingerprint", None), spec], sort_keys=True, default=str).encode()


__all__ = ["check_spec", "dataset_items", "fingerprint", "load_dataset", "short"]
