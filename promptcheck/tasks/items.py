"""Loaders for item files: JSONL, MMLU-style CSV and BIG-bench JSON.

Each returns validated :class:`MCItem` records or raises :class:`InputError` naming the file,
the line and the field, so a user can fix their data from the message alone.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from promptcheck.errors import InputError
from promptcheck.tasks.records import LETTERS, MCItem, stable_item_id

ITEM_SUFFIXES = (".jsonl", ".csv", ".json")


def read_text(path: Path) -> str:
    """Read a UTF-8 text file, turning every OS or decoding problem into an InputError."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError("file not found", file=path) from None
    except IsADirectoryError:
        raise InputError("is a directory, expected a file", file=path) from None
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror or exc}", file=path) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError("not valid UTF-8 text", file=path, line=line) from None


def parse_answer(value: Any, choices: Sequence[str], err: Callable[[str], InputError]) -> int:
    """An answer given as a 0-based index, a letter (A, B, ...) or the exact text of a choice."""
    n = len(choices)
    if isinstance(value, bool):
        raise err(f"must be a choice index (0..{n - 1}) or letter, got {value!r}")
    if isinstance(value, int):
        if not 0 <= value < n:
            raise err(f"index {value} is out of range for {n} choices (0..{n - 1})")
        return value
    if isinstance(value, float) and value.is_integer():
        return parse_answer(int(value), choices, err)
    if isinstance(value, str):
        text = value.strip()
        if len(text) == 1 and text.upper() in LETTERS:
            index = LETTERS.index(text.upper())
            if index >= n:
                raise err(f"letter {text!r} is not among the {n} choices ({LETTERS[0]}-{LETTERS[n - 1]})")
            return index
        if text.isascii() and text.isdecimal():
            return parse_answer(int(text), choices, err)
        if value in choices:
            return list(choices).index(value)
        raise err(f"{value!r} is neither a choice index, a letter, nor the text of a choice")
    raise err(f"must be a choice index (0..{n - 1}) or letter, got {type(value).__name__}")


def make_item(
    raw_id: Any,
    question: Any,
    choices: Any,
    answer: Any,
    *,
    file: Path,
    line: int | None,
    prefix: str = "",
) -> MCItem:
    """Validate one item's fields and build the record."""

    def err(field: str) -> Callable[[str], InputError]:
        return lambda msg: InputError(msg, file=file, line=line, field=prefix + field)

    if not isinstance(question, str):
        raise err("question")("missing or not a string" if question is None else "must be a string")
    if not question.strip():
        raise err("question")("is empty")
    if not isinstance(choices, (list, tuple)):
        raise err("choices")("missing or not a list" if choices is None else "must be a list of strings")
    if len(choices) < 2:
        raise err("choices")(f"needs at least 2 choices, got {len(choices)}")
    if len(choices) > len(LETTERS):
        raise err("choices")(f"at most {len(LETTERS)} choices are supported, got {len(choices)}")
    clean: list[str] = []
    for i, choice in enumerate(choices):
        if isinstance(choice, (int, float)) and not isinstance(choice, bool):
            choice = str(choice)
        if not isinstance(choice, str):
            raise err(f"choices[{i}]")("must be a string")
        if not choice.strip():
            raise err(f"choices[{i}]")("is empty")
        if choice.strip() in (c.strip() for c in clean):
            raise err(f"choices[{i}]")(f"duplicate choice {choice!r}")
        clean.append(choice)
    if answer is None:
        raise err("answer")("missing")
    index = parse_answer(answer, clean, err("answer"))
    if raw_id is None:
        item_id = stable_item_id(question, tuple(clean))
    elif isinstance(raw_id, (str, int)) and not isinstance(raw_id, bool) and str(raw_id).strip():
        item_id = str(raw_id)
    else:
        raise err("id")("must be a non-empty string or integer")
    source = f"{file}:{line}" if line else str(file)
    return MCItem(id=item_id, question=question, choices=tuple(clean), answer=index, source=source)


def check_unique_ids(items: Sequence[MCItem], file: Path) -> None:
    seen: dict[str, str] = {}
    for item in items:
        if item.id in seen:
            line = item.source.rsplit(":", 1)[-1]
            raise InputError(
                f"duplicate item id {item.id!r} (first at {seen[item.id]})",
                file=file,
                line=int(line) if line.isdigit() else None,
                field="id",
            )
        seen[item.id] = item.source


def load_jsonl_items(path: Path) -> list[MCItem]:
    """One JSON object per line: ``{"question", "choices", "answer", "id"?}``; blank lines skipped."""
    items = []
    for lineno, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"invalid JSON: {exc.msg} (column {exc.colno})", file=path, line=lineno) from None
        except RecursionError:
            raise InputError("invalid JSON: nested too deeply", file=path, line=lineno) from None
        if not isinstance(obj, dict):
            raise InputError("each line must be a JSON object", file=path, line=lineno)
        items.append(
            make_item(
                obj.get("id"), obj.get("question"), obj.get("choices"), obj.get("answer"),
                file=path, line=lineno,
            )
        )
    check_unique_ids(items, path)
    return items


def load_mmlu_csv(path: Path) -> list[MCItem]:
    """MMLU-style CSV: ``question, A, B, C, D, answer`` (any number of choice columns).

    The original MMLU files have no header row; a first row whose first cell is
    ``question`` is taken as a header and skipped.
    """
    text = read_text(path)
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise InputError(f"invalid CSV: {exc}", file=path) from None
    items = []
    # csv rows can span lines (quoted newlines): track the line each row starts on.
    reader = csv.reader(io.StringIO(text, newline=""))
    line_starts = []
    start = 1
    for _ in rows:
        line_starts.append(start)
        next(reader)
        start = reader.line_num + 1
    width: int | None = None
    for row, lineno in zip(rows, line_starts):
        if not row or all(not cell.strip() for cell in row):
            continue
        if lineno == line_starts[0] and row[0].strip().lower() == "question":
            width = len(row)
            continue
        if len(row) < 4:
            raise InputError(
                f"expected columns question, A, B, ..., answer; got {len(row)} column(s)",
                file=path, line=lineno,
            )
        if width is None:
            width = len(row)
        elif len(row) != width:
            # A short row would silently become an item with fewer choices.
            raise InputError(f"has {len(row)} columns where the file has {width}", file=path, line=lineno)
        items.append(make_item(None, row[0], row[1:-1], row[-1], file=path, line=lineno))
    check_unique_ids(items, path)
    return items


def _json_line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _example_offsets(text: str, data: dict) -> list[int]:
    """Character offsets where each element of the top-level ``examples`` array starts.

    ``json`` keeps no positions, so walk the array with ``raw_decode`` to give each example
    its own line number in error messages.
    """
    decoder = json.JSONDecoder()
    key = text.find('"examples"')
    pos = text.find("[", key) + 1 if key >= 0 else -1
    offsets: list[int] = []
    if pos <= 0:
        return offsets
    for _ in data["examples"]:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        offsets.append(pos)
        try:
            _, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError:
            break
    return offsets


def load_bigbench_json(path: Path) -> tuple[list[MCItem], dict[str, Any]]:
    """A BIG-bench JSON task: ``examples`` with ``input`` and ``target_scores``.

    The correct choice is the one with the highest target score. Returns the items and the
    task's top-level metadata (``name``, ``description``, ``task_prefix``...).
    """
    text = read_text(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"invalid JSON: {exc.msg}", file=path, line=exc.lineno) from None
    except RecursionError:
        raise InputError("invalid JSON: nested too deeply", file=path) from None
    if not isinstance(data, dict):
        raise InputError("a BIG-bench task file must be a JSON object", file=path, line=1)
    examples = data.get("examples")
    if not isinstance(examples, list):
        raise InputError("missing or not a list", file=path, field="examples")
    offsets = _example_offsets(text, data)
    items = []
    for i, ex in enumerate(examples):
        line = _json_line(text, offsets[i]) if i < len(offsets) else None
        prefix = f"examples[{i}]."
        if not isinstance(ex, dict):
            raise InputError("must be an object", file=path, line=line, field=f"examples[{i}]")
        scores = ex.get("target_scores")
        if not isinstance(scores, dict) or not scores:
            raise InputError(
                "missing or not an object of {choice: score}", file=path, line=line,
                field=prefix + "target_scores",
            )
        choices = list(scores)
        values = []
        for c in choices:
            v = scores[c]
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise InputError(
                    f"score of {c!r} must be a finite number", file=path, line=line, field=prefix + "target_scores"
                )
            values.append(float(v))
        best = max(values)
        if values.count(best) != 1 or best <= 0:
            raise InputError(
                "needs exactly one choice with the highest (positive) score", file=path, line=line,
                field=prefix + "target_scores",
            )
        items.append(
            make_item(ex.get("id"), ex.get("input"), choices, values.index(best),
                      file=path, line=line, prefix=prefix.replace(".", "", 0))
        )
    if not items:
        raise InputError("has no examples", file=path, field="examples")
    check_unique_ids(items, path)
    meta = {k: v for k, v in data.items() if k != "examples"}
    return items, meta


def load_items(path: Path) -> list[MCItem]:
    """Load items from a file, picking the reader by its suffix."""
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return load_jsonl_items(path)
    if suffix == ".csv":
        return load_mmlu_csv(path)
    if suffix == ".json":
        return load_bigbench_json(path)[0]
    raise InputError(
        f"unknown items file type {suffix!r}; expected one of {', '.join(ITEM_SUFFIXES)}", file=path
    )
