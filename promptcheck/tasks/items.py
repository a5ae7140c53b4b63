"""Loaders for item files: JSONL, MMLU-style CSV and BIG-bench JSON.

Each returns validated :class:`MCItem` records or raises :class:`InputError` naming the file,
the line and the field, so a user can fix their data from the message alone.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import re
import stat
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from promptcheck.errors import InputError
from promptcheck.tasks.records import LETTERS, GenItem, Item, MCItem, stable_item_id
from promptcheck.tasks.sampling import Collected, collect, duplicate_id_error

ITEM_SUFFIXES = (".jsonl", ".csv", ".json")


#: Largest file read (bytes): a suite or items file bigger than this is a mistake (a model, a
#: dataset dump), and reading it whole would take the machine's memory first.
MAX_FILE_BYTES = 512 * 1024 * 1024

#: JSONL records are separated by newlines; U+2028, U+0085 etc. may sit raw inside a JSON
#: string, so ``str.splitlines`` (which splits on them) must not be used.
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def type_name(value: Any) -> str:
    """A YAML/JSON user's name for a value's type (not Python's ``LineDict`` or ``NoneType``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bytes):
        return "binary data"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    return f"a {type(value).__name__}"


def yaml_hint(value: Any) -> str:
    """Why a YAML value the user wrote as text arrived as something else, and what to do."""
    import datetime

    if isinstance(value, bool):
        return ' (unquoted yes/no/true/false/on/off are booleans in YAML: write "yes")'
    if isinstance(value, (datetime.date, datetime.datetime)):
        return " (an unquoted date is a date in YAML: quote it)"
    return ""


def _check_regular(path: Path) -> None:
    """Only regular files of a sane size are read: a FIFO or a device would block or never end."""
    st = os.stat(path)
    if stat.S_ISDIR(st.st_mode):
        raise InputError("is a directory, expected a file", file=path)
    if not stat.S_ISREG(st.st_mode):
        raise InputError("is not a regular file", file=path)
    if st.st_size > MAX_FILE_BYTES:
        raise InputError(f"is {st.st_size} bytes; larger than {MAX_FILE_BYTES} is not a suite or items file", file=path)


@contextlib.contextmanager
def _os_errors(path: Path) -> Iterator[None]:
    """Every OS problem opening ``path`` as a one-line InputError naming it."""
    try:
        yield
    except FileNotFoundError:
        raise InputError("file not found", file=path) from None
    except IsADirectoryError:
        raise InputError("is a directory, expected a file", file=path) from None
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror or exc}", file=path) from None
    except ValueError:  # a NUL byte in the path
        raise InputError("not a valid file name", file=repr(str(path))) from None


def read_text(path: Path) -> str:
    """Read a UTF-8 text file, turning every OS or decoding problem into an InputError.

    Only regular files are read: a FIFO or a device would block or never end.
    """
    with _os_errors(path):
        _check_regular(path)
        data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError("not valid UTF-8 text", file=path, line=line) from None


def file_bytes(path: Path) -> bytes:
    """A file's bytes (for hashing), with OS problems as an InputError."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror or exc}", file=path) from None


def iter_lines(path: Path) -> Iterator[tuple[int, str]]:
    """``(line number, text)`` of a UTF-8 file, read as a stream (a large JSONL file is never held whole).

    Line breaks are ``\\n``, ``\\r\\n`` and ``\\r``, counted as :data:`_LINE_BREAK` counts them; the
    same OS and decoding checks as :func:`read_text` apply.
    """
    with _os_errors(path):
        _check_regular(path)
        handle = path.open("rb")
    lineno = 0
    with handle:
        for raw in handle:
            if lineno == 0 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            body = raw[:-1] if raw.endswith(b"\n") else raw
            body = body[:-1] if body.endswith(b"\r") else body
            for part in body.split(b"\r"):
                lineno += 1
                try:
                    yield lineno, part.decode("utf-8")
                except UnicodeDecodeError:
                    raise InputError("not valid UTF-8 text", file=path, line=lineno) from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            # json keeps the last value silently; in target_scores that changes the answer.
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def loads_strict(text: str) -> Any:
    """``json.loads`` refusing what would silently change meaning: duplicate keys, NaN/Infinity.

    Raises ``json.JSONDecodeError`` for bad syntax, ``ValueError`` for the refusals above and for
    integers too long to convert, ``RecursionError`` for absurd nesting.
    """
    return json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant)


def json_error(exc: Exception, *, file: Path, line: int | None) -> InputError:
    """The one-line InputError for anything :func:`loads_strict` raised."""
    if isinstance(exc, json.JSONDecodeError):
        # A JSONL line is parsed alone: its error is on that line of the file.
        return InputError(
            f"invalid JSON: {exc.msg} (column {exc.colno})", file=file, line=line if line is not None else exc.lineno
        )
    if isinstance(exc, RecursionError):
        return InputError("invalid JSON: nested too deeply", file=file, line=line)
    message = str(exc).split(":")[0] if "int_max_str_digits" in str(exc) else str(exc)
    return InputError(f"invalid JSON: {message}", file=file, line=line)


def check_text(value: str, err: Callable[[str], InputError]) -> str:
    """Refuse strings that cannot be encoded (lone surrogates from ``"\\ud800"`` escapes)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise err("contains an unpaired surrogate (\\ud800-\\udfff escape); not valid text") from None
    return value


def short(value: Any, limit: int = 40) -> str:
    """``repr`` cut to ``limit`` characters: a message must stay one readable line."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def parse_answer(value: Any, choices: Sequence[str], err: Callable[[str], InputError]) -> int:
    """An answer given as a 0-based index, a letter (A, B, ...) or the exact text of a choice."""
    n = len(choices)
    if isinstance(value, bool):
        raise err(
            f"must be a choice index (0..{n - 1}), a letter or a choice's text, got "
            f"{str(value).lower()}{yaml_hint(value)}"
        )
    if isinstance(value, int):
        if not 0 <= value < n:
            raise err(f"index {short(value)} is out of range for {n} choices (0..{n - 1})")
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return parse_answer(int(value), choices, err)
    if isinstance(value, str):
        text = value.strip()
        as_text = [i for i, c in enumerate(choices) if c.strip() == text]
        index: int | None = None
        if len(text) == 1 and text.upper() in LETTERS:
            index = LETTERS.index(text.upper())
        elif text.isascii() and text.isdecimal():
            index = int(text)
        if index is not None and as_text:
            if index < n and as_text[0] != index:
                # "a" with choices ["b", "a"], or "1" with ["1", "2"]: the position or the text?
                # Guessing would be a silently wrong answer key.
                raise err(
                    f"{short(value)} is ambiguous: as a letter or index it is choice {index}, but choice "
                    f"{as_text[0]} has that text; say which: a JSON integer index (JSONL), or the letter of "
                    "the choice when the choices are not themselves letters or numbers (CSV)"
                )
            return as_text[0]
        if index is not None:
            if index >= n:
                if len(text) == 1 and text.upper() in LETTERS:
                    raise err(f"letter {text!r} is not among the {n} choices ({LETTERS[0]}-{LETTERS[n - 1]})")
                raise err(f"index {short(index)} is out of range for {n} choices (0..{n - 1})")
            return index
        if as_text:
            return as_text[0]
        raise err(f"{short(value)} is neither a choice index, a letter, nor the text of a choice")
    raise err(f"must be a choice index (0..{n - 1}), a letter or a choice's text, got {type_name(value)}")


def parse_answers(
    value: Any,
    choices: Sequence[str],
    err: Callable[[str], InputError],
    err_at: Callable[[int], Callable[[str], InputError]],
) -> tuple[int, ...]:
    """One answer, or a list of several correct ones (each an index, a letter or a choice's text).

    Strict as a single answer is, plus: an empty list, a choice named twice and a list that
    makes every choice correct (an item nothing can get wrong) are refused.
    """
    if not isinstance(value, (list, tuple)):
        return (parse_answer(value, choices, err),)
    if not value:
        raise err("is an empty list; give at least one correct choice")
    out: list[int] = []
    for i, v in enumerate(value):
        index = parse_answer(v, choices, err_at(i))
        if index in out:
            raise err_at(i)(f"names choice {index} ({short(choices[index])}) again")
        out.append(index)
    if len(out) == len(choices):
        raise err(f"marks all {len(choices)} choices correct; the item cannot be got wrong")
    return tuple(sorted(out))


def _identity(
    raw_id: Any, question: str, parts: list[str], err: Callable[[str], InputError], file: Path | str, line: int | None
) -> tuple[str, str]:
    """An item's id (its own, checked, else a hash of its content) and where it was read ("file:line")."""
    if raw_id is None:
        item_id = stable_item_id(question, tuple(parts))
    elif isinstance(raw_id, (str, int)) and not isinstance(raw_id, bool) and str(raw_id).strip():
        item_id = check_text(str(raw_id), err)
    else:
        raise err("must be a non-empty string or integer")
    return item_id, f"{file}:{line}" if line else str(file)


def make_item(
    raw_id: Any,
    question: Any,
    choices: Any,
    answer: Any,
    *,
    file: Path | str,
    line: int | None,
    prefix: str = "",
    allow_empty_question: bool = False,
) -> MCItem:
    """Validate one item's fields and build the record.

    ``allow_empty_question``: BIG-bench items may have an empty ``input`` (the choices are the
    statements to judge, as in misconceptions_russian).
    """

    def err(field: str) -> Callable[[str], InputError]:
        return lambda msg: InputError(msg, file=file, line=line, field=prefix + field)

    if not isinstance(question, str):
        raise err("question")("missing" if question is None else f"must be a string, got {type_name(question)}")
    if not question.strip() and not allow_empty_question:
        raise err("question")("is empty")
    check_text(question, err("question"))
    if not isinstance(choices, (list, tuple)):
        raise err("choices")("missing" if choices is None else f"must be a list of strings, got {type_name(choices)}")
    if len(choices) < 2:
        raise err("choices")(f"needs at least 2 choices, got {len(choices)}")
    if len(choices) > len(LETTERS):
        raise err("choices")(f"at most {len(LETTERS)} choices are supported, got {len(choices)}")
    clean: list[str] = []
    for i, choice in enumerate(choices):
        if isinstance(choice, (int, float)) and not isinstance(choice, bool) and math.isfinite(choice):
            choice = str(choice)
        if not isinstance(choice, str):
            raise err(f"choices[{i}]")(f"must be a string, got {type_name(choice)}{yaml_hint(choice)}")
        check_text(choice, err(f"choices[{i}]"))
        if not choice.strip():
            raise err(f"choices[{i}]")("is empty")
        if choice.strip() in (c.strip() for c in clean):
            raise err(f"choices[{i}]")(f"duplicate choice {short(choice)}")
        clean.append(choice)
    if answer is None:
        raise err("answer")("missing")
    answers = parse_answers(answer, clean, err("answer"), lambda i: err(f"answer[{i}]"))
    item_id, source = _identity(raw_id, question, clean, err("id"), file, line)
    return MCItem(
        id=item_id, question=question, choices=tuple(clean), answer=answers[0], source=source, answers=answers
    )


def make_gen_item(
    raw_id: Any,
    question: Any,
    targets: Any,
    *,
    file: Path | str,
    line: int | None,
    prefix: str = "",
    field: str = "targets",
) -> GenItem:
    """Validate a free-form item's fields (its input and accepted answers) and build the record.

    ``targets`` is one accepted answer (a string; a number is read as its text) or a list of
    them; any matches (BIG-bench's ``target``). ``field`` names them as the file does
    (``targets``, ``target``, ``answer``).
    """

    def err(name: str) -> Callable[[str], InputError]:
        return lambda msg: InputError(msg, file=file, line=line, field=prefix + name)

    if not isinstance(question, str):
        raise err("question")("missing" if question is None else f"must be a string, got {type_name(question)}")
    if not question.strip():
        raise err("question")("is empty")
    check_text(question, err("question"))
    values = targets if isinstance(targets, (list, tuple)) else [targets]
    if not values:
        raise err(field)("is an empty list; give at least one accepted answer")
    clean: list[str] = []
    for i, value in enumerate(values):
        at = field if values is not targets else f"{field}[{i}]"
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            # 5.0 -> "5": a YAML or JSON number written as a float is read as the answer a model writes
            value = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
        if not isinstance(value, str):
            raise err(at)(f"must be a string, got {type_name(value)}{yaml_hint(value)}")
        check_text(value, err(at))
        if not value.strip():
            raise err(at)("is empty; an accepted answer needs text")
        if value not in clean:
            clean.append(value)
    item_id, source = _identity(raw_id, question, clean, err("id"), file, line)
    return GenItem(id=item_id, question=question, targets=tuple(clean), source=source)


#: Where a free-form item's accepted answers may be, in the order they are looked for.
TARGET_FIELDS = ("targets", "target")


def item_from_mapping(obj: dict[str, Any], *, file: Path | str, line: int | None, prefix: str = "") -> Item:
    """A multiple-choice item when ``obj`` has ``choices``; else a free-form one, its accepted answers
    in ``targets``, ``target`` or a text ``answer``. A number ``answer`` with no choices is a
    multiple-choice item missing its choices, and is refused as one."""
    given = [name for name in TARGET_FIELDS if name in obj]

    def err(name: str, message: str) -> InputError:
        return InputError(message, file=file, line=line, field=prefix + name)

    if len(given) > 1:  # one would be dropped without a word
        raise err(given[1], f"an item gives {' and '.join(given)}: put every accepted answer in targets")
    if given and obj.get("choices") is not None:
        raise err(given[0], "an item has choices and an answer, or targets and no choices, not both")
    if given:
        name = given[0]
        if obj[name] is None:
            raise err(name, "missing: give the accepted answer (or a list of them)")
        return make_gen_item(
            obj.get("id"), obj.get("question"), obj[name], file=file, line=line, prefix=prefix, field=name
        )
    answer = obj.get("answer")
    # A text answer with no choices is an accepted answer; a number is an index into choices the
    # item forgot (said as "choices: missing", never read as a free-form target "0").
    text_answer = isinstance(answer, str) or (
        isinstance(answer, list) and bool(answer) and all(isinstance(a, str) for a in answer)
    )
    if obj.get("choices") is None and text_answer:
        return make_gen_item(
            obj.get("id"), obj.get("question"), answer, file=file, line=line, prefix=prefix, field="answer"
        )
    return make_item(
        obj.get("id"), obj.get("question"), obj.get("choices"), obj.get("answer"), file=file, line=line, prefix=prefix
    )


def check_unique_ids(items: Sequence[Item], file: Path) -> None:
    seen: dict[str, str] = {}
    for item in items:
        if item.id in seen:
            raise duplicate_id_error(item, seen[item.id], file)
        seen[item.id] = item.source


def load_jsonl_items(path: Path, *, limit: int | None = None, seed: int = 0) -> list[Item]:
    """One JSON object per line: ``{"question", "choices", "answer", "id"?}``; blank lines skipped.

    ``answer`` may be a list of several correct choices. With ``limit``, a seeded sample
    (promptcheck.tasks.sampling); the file is streamed, so only the sample is kept as items.
    """
    return collect(_jsonl_items(path), path, limit=limit, seed=seed).items


def _jsonl_items(path: Path) -> Iterator[Item]:
    for lineno, line in iter_lines(path):
        if not line.strip():
            continue
        try:
            obj = loads_strict(line)
        except (ValueError, RecursionError) as exc:
            raise json_error(exc, file=path, line=lineno) from None
        if not isinstance(obj, dict):
            raise InputError(f"each line must be a JSON object, got {type_name(obj)}", file=path, line=lineno)
        yield item_from_mapping(obj, file=path, line=lineno)


def load_mmlu_csv(path: Path, *, limit: int | None = None, seed: int = 0) -> list[Item]:
    """MMLU-style CSV (see :func:`_mmlu_items`); ``limit``: a seeded sample."""
    return collect(_mmlu_items(path), path, limit=limit, seed=seed).items


# -- MMLU-style CSV -------------------------------------------------------------------------------
# Header names are compared after :func:`_column_key`: case-folded, stripped, and runs of spaces,
# ``-`` and ``_`` read as one ``_`` (``Answer Key`` is ``answer_key``).

#: Names of the question column in a header row.
CSV_QUESTION_NAMES = ("question", "input", "prompt", "query")
#: Names of the answer column. Its values are read as every answer is (parse_answer): a letter
#: naming a choice column, a 0-based index, or a choice's text.
CSV_ANSWER_NAMES = ("answer", "answer_index", "answer_key", "answerkey", "label", "target")
#: Names of an optional column whose values become the items' ids.
CSV_ID_NAMES = ("id", "item_id", "question_id")
#: Metadata columns that are read past. Any other unknown column is refused: a choice column
#: under a name not recognised would otherwise vanish, leaving items with fewer choices.
CSV_IGNORED_NAMES = ("subject", "category", "topic", "source", "explanation")

#: A choice column: its letter (``A``; ``choice_a``, ``option_a``; MedMCQA's ``opa``) is its
#: place among the choices, whatever the column order. Numbered names (``choice1``) are not read:
#: datasets count them from 1 but give the answer from 0 (PIQA's ``label``) or from 1
#: (WinoGrande's ``answer``), and a digit answer would be a guess either way.
_CHOICE_COLUMN = re.compile(r"([a-z])|(?:choice|option)_([a-z])|op([a-z])")
_NUMBERED_CHOICE = re.compile(r"(?:choice|option|opt|op|ending|sol|ans|answer)_?\d+")
_LIST_COLUMN = ("choices", "options", "endings")


def _column_key(name: str) -> str:
    """A header cell as compared with the accepted names (``" Answer Key"`` -> ``answer_key``)."""
    return re.sub(r"[\s_-]+", "_", name.strip().casefold())


def _column_role(name: str) -> tuple[str, int] | None:
    """What a header cell names: ``("question"|"answer"|"id"|"ignored", 0)``, ``("choice", k)``, or None."""
    key = _column_key(name)
    for role, names in (
        ("question", CSV_QUESTION_NAMES),
        ("answer", CSV_ANSWER_NAMES),
        ("id", CSV_ID_NAMES),
        ("ignored", CSV_IGNORED_NAMES),
    ):
        if key in names:
            return role, 0
    match = _CHOICE_COLUMN.fullmatch(key)
    if match:
        letter = next(g for g in match.groups() if g)
        return "choice", LETTERS.index(letter.upper())
    return None


def _is_header(row: Sequence[str]) -> bool:
    """Whether a file's first row names its columns.

    MMLU's own files have no header: their first row is a question, its choices and a letter, so
    its first cell is a question's text. A row is a header when its first cell is a question
    column's name (``question,A,B,C,D``), when it names both a question and an answer column
    (``id,question,A,B,C,D,answer,notes``), or when every cell is a column name and one of them
    is a question or answer column (``answer,A,B,C,D``: read as a header so the missing question
    column is reported, not taken as an item). A data row whose choices happen to be ``A``, ``B``...
    has neither a question nor an answer name, and stays an item.
    """
    roles = [_column_role(cell) for cell in row]
    kinds = {role[0] for role in roles if role}
    if roles and roles[0] is not None and roles[0][0] == "question":
        return True
    if {"question", "answer"} <= kinds:
        return True
    if all(role is not None for role in roles) and bool(kinds & {"question", "answer"}):
        return True
    # Choice columns "A", "B", ... with a question column, or ending the row (where an item has its
    # answer): a header whose other names are not known ("stem,A,B,C,D"), refused at its unknown
    # column rather than read as an item with "D" for its answer.
    cells = [c.strip() for c in row]
    if "A" in cells and "B" in cells:
        start = cells.index("A")
        run = 0
        while start + run < len(cells) and cells[start + run] == LETTERS[run]:
            run += 1
        return run >= 2 and ("question" in kinds or start + run == len(cells))
    return False


@dataclass(frozen=True)
class _CsvColumns:
    """Where each part of an item is in a CSV with a header (0-based column indexes)."""

    names: tuple[str, ...]  # the header's cells as the file writes them (stripped)
    question: int
    choices: tuple[int, ...]  # in choice order: the A column, the B column, ...
    answer: int
    id: int | None

    def field(self, make_item_field: str | None) -> str | None:
        """The file's own column name for a field :func:`make_item` reports (``choices[1]`` -> ``B``)."""
        if make_item_field is None:
            return None
        match = re.fullmatch(r"choices\[(\d+)\]", make_item_field)
        if match:
            return self.names[self.choices[int(match.group(1))]]
        column = {"question": self.question, "answer": self.answer, "id": self.id}.get(make_item_field.split("[")[0])
        return make_item_field if column is None else self.names[column]


def _accepted_names() -> str:
    """The accepted header names, for messages (one line)."""
    return (
        f"question: {', '.join(CSV_QUESTION_NAMES)}; choices: A, B, C, ... (or choice_a, option_a, opa, ...); "
        f"answer: {', '.join(CSV_ANSWER_NAMES)}; id: {', '.join(CSV_ID_NAMES)}; "
        f"ignored: {', '.join(CSV_IGNORED_NAMES)}"
    )


def _unknown_column(name: str, file: Path, line: int) -> InputError:
    """The error for a header cell that names no known column, with the likely reason where there is one."""
    key = _column_key(name)
    if key in _LIST_COLUMN:
        message = "one column holding every choice is not read; give each choice its own column (A, B, C, ...)"
    elif _NUMBERED_CHOICE.fullmatch(key):
        message = (
            "numbered choice columns are not read (a digit answer may count from 0 or from 1); "
            "name them A, B, C, ... and give the answer as a letter"
        )
    else:
        message = f"unknown column; accepted names are {_accepted_names()}"
    return InputError(message, file=file, line=line, field=name)


def _csv_columns(header: Sequence[str], file: Path, line: int) -> _CsvColumns:
    """Read a header row: every column known, none twice, one question and one answer, choices A, B, ... in full."""
    names = tuple(cell.strip() for cell in header)
    where: dict[tuple[str, int], int] = {}  # role -> its column
    seen: dict[str, int] = {}  # compared name -> its column
    for col, name in enumerate(names):
        if not name:
            raise InputError(
                f"column {col + 1} has no name; a header row names every column"
                + (
                    " (pandas writes its index as an unnamed first column: use to_csv(index=False))" if col == 0 else ""
                ),
                file=file,
                line=line,
            )
        key = _column_key(name)
        if key in seen:
            raise InputError(f"duplicate column name (also column {seen[key] + 1})", file=file, line=line, field=name)
        seen[key] = col
        role = _column_role(name)
        if role is None:
            raise _unknown_column(name, file, line)
        if role[0] != "ignored" and role in where:
            what = f"choice {LETTERS[role[1]]}" if role[0] == "choice" else f"the {role[0]}"
            raise InputError(
                f"gives {what}, as column {where[role] + 1} ({names[where[role]]!r}) does; keep one",
                file=file,
                line=line,
                field=name,
            )
        where[role] = col
    listed = ", ".join(names)
    for part, accepted in (("question", CSV_QUESTION_NAMES), ("answer", CSV_ANSWER_NAMES)):
        if (part, 0) not in where:
            raise InputError(
                f"the header has no {part} column; its columns are {listed}; "
                f"name the {part} column one of {', '.join(accepted)}",
                file=file,
                line=line,
            )
    letters = sorted(k for r, k in where if r == "choice")
    if len(letters) < 2:
        raise InputError(
            f"the header has {len(letters)} choice column(s); its columns are {listed}; "
            "at least 2 are needed, named A, B, C, ... (or choice_a, option_a, opa, ...)",
            file=file,
            line=line,
        )
    for k, letter in enumerate(letters):
        if letter != k:
            raise InputError(
                f"choice columns skip {LETTERS[k]}; name them A, B, C, ... with no letter missing",
                file=file,
                line=line,
                field=names[where["choice", letter]],
            )
    return _CsvColumns(
        names=names,
        question=where["question", 0],
        choices=tuple(where["choice", k] for k in letters),
        answer=where["answer", 0],
        id=where.get(("id", 0)),
    )


def _csv_rows(path: Path) -> list[tuple[int, list[str]]]:
    """The non-blank rows of a CSV file, each with the line it starts on (a quoted cell may span lines)."""
    text = read_text(path)
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[tuple[int, list[str]]] = []
    start = 1
    try:
        for row in reader:
            if row and any(cell.strip() for cell in row):
                rows.append((start, row))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise InputError(f"invalid CSV: {exc}", file=path) from None
    return rows


def _headed_item(row: Sequence[str], columns: _CsvColumns, path: Path, line: int) -> MCItem:
    """One item of a CSV with a header, its columns found by name; errors name the file's column."""
    try:
        return make_item(
            None if columns.id is None else row[columns.id],
            row[columns.question],
            [row[c] for c in columns.choices],
            row[columns.answer],
            file=path,
            line=line,
        )
    except InputError as exc:
        raise InputError(exc.message, file=exc.file, line=exc.line, field=columns.field(exc.field)) from None


def _without_empty_trailing_columns(rows: list[tuple[int, list[str]]]) -> list[tuple[int, list[str]]]:
    """Rows without the columns that are empty in every row at their end: Excel saves a sheet
    whose rows end in "," that way, and such a column holds nothing to read (or to misread)."""
    if not rows:
        return rows
    width = max(len(r) for _, r in rows)
    cut = 0
    while cut < width - 1 and all(len(r) < width - cut or not r[width - cut - 1].strip() for _, r in rows):
        cut += 1
    if cut == 0:
        return rows
    return [(line, r[: width - cut]) for line, r in rows]


def _mmlu_items(path: Path) -> list[MCItem]:
    """MMLU-style CSV: one item a row, with or without a header row.

    With a header (see :func:`_is_header`) columns are found by name, in any order: a question
    column, choice columns ``A``, ``B``, ... and an answer column (:data:`CSV_QUESTION_NAMES`,
    :data:`CSV_ANSWER_NAMES`...), so a file without an answer column is refused rather than read
    with its last choice as the answer. Without one (the original MMLU files), each row is
    ``question, choice, ..., choice, answer``: the first cell is the question, the last the answer.
    """
    rows = _without_empty_trailing_columns(_csv_rows(path))
    columns: _CsvColumns | None = None
    width: int | None = None
    if rows and _is_header(rows[0][1]):
        line, header = rows.pop(0)
        columns = _csv_columns(header, path, line)
        width = len(header)
    items = []
    for lineno, row in rows:
        if columns is None and len(row) < 4:
            other = next((sep for sep in (";", "\t", "|") if any(sep in cell for cell in row)), None)
            raise InputError(
                f"expected columns question, A, B, ..., answer; got {len(row)} column(s)"
                + (f" (the file looks separated by {other!r}: promptcheck reads comma-separated CSV)" if other else ""),
                file=path,
                line=lineno,
            )
        if width is None:
            width = len(row)
        elif len(row) != width:
            # A short row would silently become an item with fewer choices.
            raise InputError(f"has {len(row)} columns where the file has {width}", file=path, line=lineno)
        if columns is None:
            items.append(make_item(None, row[0], row[1:-1], row[-1], file=path, line=lineno))
        else:
            items.append(_headed_item(row, columns, path, lineno))
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


def _conflicting_examples(examples: list[Any]) -> set[int]:
    """Indexes of examples that repeat another's input and choices with other scores.

    Real BIG-bench files have a few (winowhy: 3 pairs in 2,865): the same question marked both
    "correct" and "incorrect". No answer key exists for them, so they are dropped, each copy.
    """
    seen: dict[str, list[tuple[int, str]]] = {}
    for i, ex in enumerate(examples):
        if not isinstance(ex, dict) or not isinstance(ex.get("target_scores"), dict):
            continue
        scores = ex["target_scores"]
        try:
            key = json.dumps([ex.get("input"), list(scores)], ensure_ascii=False)
            value = json.dumps(list(scores.values()))
        except (TypeError, ValueError):
            continue  # malformed: reported by the loader
        seen.setdefault(key, []).append((i, value))
    return {i for group in seen.values() if len({v for _, v in group}) > 1 for i, _ in group}


def load_bigbench_json(path: Path, *, limit: int | None = None, seed: int = 0) -> tuple[list[Item], dict[str, Any]]:
    """A BIG-bench JSON task: ``examples`` with ``input`` and ``target_scores`` or ``target``.

    The correct choices are those with the highest (positive) target score; several tied at the
    top are all correct, as BIG-bench's multiple-choice grade counts them. A task whose examples
    all have only a free-text ``target`` (a string or a list: any is accepted, BIG-bench's
    ``exact_str_match``) is free-form: its items are :class:`GenItem` records. In a task with
    both kinds the free-text-only examples are skipped with one counted warning (a task's items
    are of one kind). Returns the items and the task's top-level metadata (``name``,
    ``description``, ``task_prefix``, ``stop_string``, ``output_regex``...) plus
    ``"promptcheck"``: ``{"population", "generative_skipped"}``.
    """
    text = read_text(path)
    try:
        data = loads_strict(text)
    except (ValueError, RecursionError) as exc:
        raise json_error(exc, file=path, line=None) from None
    if not isinstance(data, dict):
        raise InputError("a BIG-bench task file must be a JSON object", file=path, line=1)
    examples = data.get("examples")
    if not isinstance(examples, list):
        raise InputError("missing or not a list", file=path, field="examples")
    offsets = _example_offsets(text, data)
    # Line of each example, counted incrementally (counting from the start each time is quadratic:
    # minutes on vitaminc_fact_verification's 54,668 examples).
    lines: list[int] = []
    last, line_no = 0, 1
    for off in offsets:
        line_no += text.count("\n", last, off)
        last = off
        lines.append(line_no)
    skipped = 0
    conflicts = _conflicting_examples(examples)
    dropped: list[int] = []
    free = not any(isinstance(ex, dict) and ex.get("target_scores") is not None for ex in examples)

    def items() -> Iterator[Item]:
        nonlocal skipped
        for i, ex in enumerate(examples):
            line = lines[i] if i < len(lines) else None
            prefix = f"examples[{i}]."
            if not isinstance(ex, dict):
                raise InputError("must be an object", file=path, line=line, field=f"examples[{i}]")
            if i in conflicts:
                dropped.append(line or i)
                continue
            scores = ex.get("target_scores")
            if scores is None and "target" in ex:
                if free:  # every example is free-form: the task is
                    yield make_gen_item(
                        ex.get("id"), ex.get("input"), ex["target"], file=path, line=line, prefix=prefix, field="target"
                    )
                else:
                    skipped += 1  # free-form among multiple-choice examples: one kind per task
                continue
            if not isinstance(scores, dict) or not scores:
                raise InputError(
                    "missing or not an object of {choice: score}",
                    file=path,
                    line=line,
                    field=prefix + "target_scores",
                )
            choices = list(scores)
            values = []
            for c in choices:
                v = scores[c]
                if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                    raise InputError(
                        f"score of {c!r} must be a finite number",
                        file=path,
                        line=line,
                        field=prefix + "target_scores",
                    )
                values.append(float(v))
            best = max(values)
            if best <= 0:
                raise InputError(
                    "needs a choice with a positive score (the correct one)",
                    file=path,
                    line=line,
                    field=prefix + "target_scores",
                )
            top = [k for k, v in enumerate(values) if v == best]
            if len(top) == len(values):
                raise InputError(
                    f"all {len(values)} choices share the top score; the item cannot be got wrong",
                    file=path,
                    line=line,
                    field=prefix + "target_scores",
                )
            yield make_item(
                ex.get("id"),
                ex.get("input"),
                choices,
                top if len(top) > 1 else top[0],
                file=path,
                line=line,
                prefix=prefix.replace(".", "", 0),
                allow_empty_question=True,
            )

    got = collect(items(), path, limit=limit, seed=seed, drop_repeats=True)
    if not got.items:
        raise InputError("has no examples", file=path, field="examples")
    if skipped:
        warnings.warn(
            f"{path}: skipped {skipped} of {len(examples)} examples without target_scores "
            "(generative; promptcheck scores multiple choice only)",
            RuntimeWarning,
            stacklevel=2,
        )
    if dropped:
        shown = ", ".join(str(x) for x in dropped[:6]) + (", ..." if len(dropped) > 6 else "")
        warnings.warn(
            f"{path}: skipped {len(dropped)} examples whose input and choices repeat with a different "
            f"correct answer (no answer key; lines {shown})",
            RuntimeWarning,
            stacklevel=2,
        )
    if got.repeats:
        warnings.warn(
            f"{path}: skipped {got.repeats} example(s) repeating an earlier one (same input, choices and answer)",
            RuntimeWarning,
            stacklevel=2,
        )
    meta = {k: v for k, v in data.items() if k != "examples"}
    meta["promptcheck"] = {"population": got.population, "generative_skipped": skipped}
    return got.items, meta


def collect_items(path: Path, *, limit: int | None = None, seed: int = 0) -> Collected:
    """Items of a file (picked by suffix) or a seeded sample of ``limit``, with the file's item count."""
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return collect(_jsonl_items(path), path, limit=limit, seed=seed)
    if suffix == ".csv":
        return collect(_mmlu_items(path), path, limit=limit, seed=seed)
    if suffix == ".json":
        items, meta = load_bigbench_json(path, limit=limit, seed=seed)
        return Collected(items, meta["promptcheck"]["population"])
    raise InputError(f"unknown items file type {suffix!r}; expected one of {', '.join(ITEM_SUFFIXES)}", file=path)


def load_items(path: Path, *, limit: int | None = None, seed: int = 0) -> list[Item]:
    """Load items from a file, picking the reader by its suffix; ``limit``: a seeded sample of that many."""
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return load_jsonl_items(path, limit=limit, seed=seed)
    if suffix == ".csv":
        return load_mmlu_csv(path, limit=limit, seed=seed)
    if suffix == ".json":
        return load_bigbench_json(path, limit=limit, seed=seed)[0]
    raise InputError(f"unknown items file type {suffix!r}; expected one of {', '.join(ITEM_SUFFIXES)}", file=path)
