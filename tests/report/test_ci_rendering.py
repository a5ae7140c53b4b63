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
