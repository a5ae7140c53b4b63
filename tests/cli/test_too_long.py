"""Prompts longer than the model's context: fail naming the item, or skip it everywhere with a count."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from promptcheck.cli.main import app


@pytest.fixture
def suite_with_a_long_item(tmp_path):
    items = [
        {
            "id": f"q{i}",
            "question": f"Is {i} an even number?",
            "choices": ["yes", "no"],
            "answer": 0 if i % 2 == 0 else 1,
        }
        for i in range(6)
    ]
    # The tiny model's context is 512 positions; this question alone is longer.
    items.insert(
        3,
        {
            "id": "essay",
            "question": "Is this long? " + "words and more words " * 200,
            "choices": ["yes", "no"],
            "answer": 0,
        },
    )
    (tmp_path / "items.jsonl").write_text("\n".join(json.dumps(i) for i in items) + "\n")
    (tmp_path / "suite.yaml").write_text(
        "name: parity\nitems: items.jsonl\nreference_instruction: Answer yes or no.\n"
        "instructions:\n  unobserved:\n    - Reply with yes or no.\n"
    )
    return tmp_path / "suite.yaml"


def test_a_too_long_prompt_fails_naming_the_item(tiny_causal_dir, suite_with_a_long_item):
    res = CliRunner().invoke(app, ["run", str(suite_with_a_long_item), "--model", str(tiny_causal_dir)])
    assert res.exit_code == 2, res.output
    line = res.output.strip().splitlines()[-1]
    assert "suite.yaml" in line and "item essay" in line and "longer than the model's context (512)" in line
    assert "Traceback" not in res.output


def test_skip_leaves_the_item_out_under_every_instruction_and_counts_it(
    tiny_causal_dir, suite_with_a_long_item, tmp_path
):
    out = tmp_path / "r.json"
    res = CliRunner().invoke(
        app,
        ["run", str(suite_with_a_long_item), "--model", str(tiny_causal_dir), "--too-long", "skip", "--json", str(out)],
    )
    assert res.exit_code == 0, res.output
    assert "skipped 1 of 7 items longer than the model's context (512 tokens): essay" in res.output
    assert "6 items (1 too long, skipped)" in res.output
    task = json.loads(out.read_text())["tasks"][0]
    assert task["skipped_items"] == ["essay"] and task["n_items"] == 6
    assert all(item["id"] != "essay" for item in task["items"])
    assert task["prompts_scored"] == 6 * 2


def test_too_long_option_is_checked_before_loading(suite_with_a_long_item):
    res = CliRunner().invoke(app, ["run", str(suite_with_a_long_item), "--too-long", "truncate"])
    assert res.exit_code == 2
    assert "--too-long: must be one of fail, skip, got 'truncate'" in res.output
