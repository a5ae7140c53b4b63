"""What a CI log shows: no terminal, COLUMNS unset. Tables and --help must not split names mid-word."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from report_fixtures import small_run  # noqa: F401

from promptcheck.report.compare import compare_files

LONG_NAME = "emoji_movie_plot_guessing_from_emoji"


def _ci(*args: str, columns: str | None = None) -> subprocess.CompletedProcess:
    """The CLI as a CI job runs it: every standard stream a pipe, COLUMNS unset (or ``columns``)."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "TERMINAL_WIDTH")}
    if columns is not None:
        env["COLUMNS"] = columns
    return subprocess.run(
        [sys.executable, "-m", "promptcheck", *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_compare_table_keeps_task_names_and_claims_whole_in_a_ci_log(small_run, tmp_path):
    doc = json.loads(small_run.read_text())
    for task in doc["tasks"]:
        task["name"] = LONG_NAME
    path = tmp_path / "long.json"
    path.write_text(json.dumps(doc))
    claims = {c.claim for c in compare_files(path, path)[0]}
    res = _ci("compare", str(path), str(path))
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert any(LONG_NAME in line for line in lines), res.stdout
    for claim in claims:
        assert any(claim in line for line in lines), f"claim {claim!r} split:\n{res.stdout}"
    # An explicit COLUMNS is the user's choice and is honoured; at rich's old default of 80 the name splits.
    narrow = _ci("compare", str(path), str(path), columns="80").stdout
    assert max(len(line) for line in narrow.splitlines()) <= 80
    assert not any(LONG_NAME in line for line in narrow.splitlines())


def test_help_in_a_ci_log_is_plain_and_wide():
    res = _ci("run", "--help")
    assert res.returncode == 0, res.stderr
    assert "│" not in res.stdout and "╭" not in res.stdout, "no box drawing in a log"
    text = res.stdout
    assert max(len(line) for line in text.splitlines()) <= 120
    # The first clause of --model's help stays on one line instead of a narrow column.
    assert "Model to test: 'default' (packaged SmolLM2-135M-Instruct), an alias" in text


def _record(test: str, task: str, claim: str = "unobserved_vs_observed") -> dict:
    return {
        "test": test,
        "task": task,
        "claim": claim,
        "drop": 0.123,
        "interval": [-0.031, 0.204],
        "threshold": 0.05,
        "judgment": {"minimum_detectable_drop": 0.301},
        "items": 40,
        "instructions": 12,
        "prompts_scored": 480,
        "verdict": "inconclusive",
        "model": {"id": "tiny"},
        "confidence": 0.95,
    }


def test_gate_summary_never_breaks_a_name_or_a_number():
    from promptcheck.gate.tables import summary_table

    test_id = "tests/release/test_robustness_of_the_candidate.py::test_emoji_movie_survives_unobserved_phrasings"
    records = [_record(test_id, LONG_NAME), _record(test_id + "_too", "conceptual_combinations/invented_words")]
    for width in (80, 120):
        lines = summary_table(records, width=width).splitlines()
        for r in records:
            # the task, the claim, the numbers and the verdict on one row; the test id whole on its own line
            row = next(line for line in lines if r["task"] in line)
            assert "unobserved_vs_observed" in row and "+12.3 [-3.1, +20.4]" in row and "inconclusive" in row
            assert "5.0" in row and "30.1" in row and "40x12" in row
            assert any(line.strip().endswith(r["test"]) for line in lines)
        # the prose under the table keeps to the terminal's width
        assert all(
            len(line) <= width for line in lines if line.startswith("drop and bounds") or "prompts scored" in line
        )
    # short names fit an 80-column terminal
    short = summary_table([_record("t.py::test_a", "capitals", "phrasings")], width=80).splitlines()
    assert max(len(line.rstrip()) for line in short) <= 80
