"""Served-model options on the command line: one-line errors before any scoring."""

from __future__ import annotations

from typer.testing import CliRunner

from promptcheck.cli.main import app

runner = CliRunner()


def test_run_against_an_unreachable_server_is_one_line_naming_it(examples_dir):
    res = runner.invoke(app, ["run", str(examples_dir / "yesno.yaml"), "--model", "http://127.0.0.1:9/v1"])
    assert res.exit_code == 2
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert lines[-1].startswith("promptcheck: error:") and "http://127.0.0.1:9/v1" in lines[-1]
    assert "Traceback" not in res.output


def test_fix_refuses_a_served_model(examples_dir, tmp_path):
    res = runner.invoke(
        app,
        ["fix", str(examples_dir / "yesno.yaml"), "--model", "http://127.0.0.1:9/v1", "--out", str(tmp_path / "fix")],
    )
    assert res.exit_code == 2
    assert "fix trains a soft prompt in-process" in res.output


def test_max_concurrency_must_be_positive(examples_dir):
    res = runner.invoke(
        app, ["run", str(examples_dir / "yesno.yaml"), "--model", "http://127.0.0.1:9/v1", "--max-concurrency", "0"]
    )
    assert res.exit_code == 2 and "max-concurrency" in res.output
