"""Fuzz every loader: random bytes and random-but-plausible JSON/YAML/CSV/TOML.

Whatever a user's file holds, a loader either returns a task or raises promptcheck's own
error (one line, with the file); any other exception is a bug. Examples are bounded and
derandomized so CI runs the same few hundred cases in seconds.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promptcheck.errors import PromptcheckError
from promptcheck.failures import tasks_from_failures
from promptcheck.models.aliases import read_aliases
from promptcheck.tasks.items import load_bigbench_json, load_jsonl_items, load_mmlu_csv
from promptcheck.tasks.suite import SUITE_KEYS, load_task

FUZZ = settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**30), 10**30)
    | st.floats(allow_nan=True)
    | st.text(max_size=12)
    | st.sampled_from(["", " ", "A", "b", "0", "1.0", "yes", "Paris", "\ufeff", "\ud800"])
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)
choices = st.lists(scalars, max_size=5) | values
item_dicts = st.fixed_dictionaries(
    {}, optional={"question": scalars | values, "choices": choices, "answer": scalars | values, "id": scalars}
)
suite_dicts = st.dictionaries(st.sampled_from([*SUITE_KEYS, "observed", "refrence"]), values, max_size=8).map(
    lambda d: {**d, "items": d.get("items", "i.jsonl")}
)
raw = st.binary(max_size=300)


def _dump_json(value) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=True)


def _surrogate_safe(text: str) -> bytes:
    return text.encode("utf-8", errors="surrogatepass")


def _write(path: Path, data: bytes | str) -> Path:
    path.write_bytes(data if isinstance(data, bytes) else _surrogate_safe(data))
    return path


def _only_our_errors(load, path: Path) -> None:
    try:
        load(path)
    except PromptcheckError as exc:
        assert "\n" not in str(exc)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@FUZZ
@given(data=raw | st.lists(item_dicts | values, max_size=4).map(lambda rows: "\n".join(map(_dump_json, rows))))
def test_jsonl_loader_raises_only_promptcheck_errors(folder, data):
    _only_our_errors(load_jsonl_items, _write(folder / "i.jsonl", data))


@FUZZ
@given(
    data=raw
    | st.lists(st.lists(st.text(max_size=8) | st.sampled_from(["A", "E", "question", ""]), max_size=7), max_size=4).map(
        lambda rows: _csv(rows)
    )
)
def test_mmlu_csv_loader_raises_only_promptcheck_errors(folder, data):
    _only_our_errors(load_mmlu_csv, _write(folder / "i.csv", data))


def _csv(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue()


examples = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            "input": scalars,
            "target_scores": st.dictionaries(st.text(max_size=5), scalars, max_size=4) | values,
            "id": scalars,
        },
    )
    | values,
    max_size=4,
)


@FUZZ
@given(
    data=raw
    | values.map(_dump_json)
    | st.fixed_dictionaries({"examples": examples}, optional={"name": scalars, "task_prefix": scalars}).map(_dump_json)
)
def test_bigbench_loader_raises_only_promptcheck_errors(folder, data):
    _only_our_errors(load_bigbench_json, _write(folder / "t.json", data))


def _yaml(value) -> str:
    return yaml.safe_dump(value, allow_unicode=True)


@FUZZ
@given(
    suite=raw | values.map(_yaml) | suite_dicts.map(_yaml) | st.text(max_size=200),
    items=raw | st.lists(item_dicts, max_size=3).map(lambda rows: "\n".join(map(_dump_json, rows))),
)
def test_suite_loader_raises_only_promptcheck_errors(folder, suite, items):
    _write(folder / "i.jsonl", items)
    _only_our_errors(load_task, _write(folder / "s.yaml", suite))


toml_values = st.recursive(
    st.text(max_size=8) | st.integers() | st.booleans(), lambda inner: st.lists(inner, max_size=3), max_leaves=6
)


def _toml(table: dict) -> str:
    lines = ["[tool.promptcheck.aliases]"]
    for k, v in table.items():
        lines.append(f"{json.dumps(k)} = {json.dumps(v)}")
    return "\n".join(lines) + "\n"


@FUZZ
@given(data=raw | st.dictionaries(st.text(min_size=1, max_size=6), toml_values, max_size=4).map(_toml))
def test_alias_config_reader_raises_only_promptcheck_errors(folder, data):
    _only_our_errors(read_aliases, _write(folder / "pyproject.toml", data))


@FUZZ
@given(
    data=raw
    | values.map(_dump_json)
    | st.fixed_dictionaries(
        {"tasks": st.lists(st.fixed_dictionaries({}, optional={"source": scalars}) | values, max_size=3)},
        optional={"model_option": scalars},
    ).map(_dump_json)
)
def test_failures_file_reader_raises_only_promptcheck_errors(folder, data):
    _only_our_errors(tasks_from_failures, _write(folder / "failures.json", data))
