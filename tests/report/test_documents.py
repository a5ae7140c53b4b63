"""The family of results documents: each says its kind and version, readers dispatch on the kind
and refuse the wrong or an unknown one in one line, and earlier files (no kind) still read."""

from __future__ import annotations

import json

import pytest
from report_fixtures import small_run  # noqa: F401
from schema_check import assert_documented, documented_keys
from typer.testing import CliRunner

from promptcheck.cli.main import app
from promptcheck.errors import InputError
from promptcheck.report.documents import KINDS, kind_of, read_document, stamp

runner = CliRunner()


def test_the_docs_table_lists_every_kind_this_promptcheck_writes_at_its_version():
    table = documented_keys()
    assert {k: v for k, (v, _) in table.items()} == KINDS
    assert all({"kind", "schema_version"} <= keys for _, keys in table.values())


def test_plan_and_compare_write_documents_that_say_their_kind(small_run):
    run = json.loads(small_run.read_text())
    assert_documented(run)
    plan = runner.invoke(app, ["plan", str(small_run), "--json"])
    assert plan.exit_code == 0, plan.output
    assert_documented(json.loads(plan.output))
    same = runner.invoke(app, ["compare", str(small_run), str(small_run), "--json"])
    assert same.exit_code == 0, same.output
    doc = json.loads(same.output)
    assert_documented(doc)
    assert doc["kind"] == "compare" and doc["worse"] == [] and doc["changes"][0]["verdict"] == "unchanged"


def test_readers_refuse_a_document_of_another_kind_in_one_line(small_run, tmp_path):
    plan = tmp_path / "plan.json"
    plan.write_text(runner.invoke(app, ["plan", str(small_run), "--json"]).output)
    for args in (["compare", str(plan), str(small_run)], ["plan", str(plan)], ["report", str(plan)]):
        res = runner.invoke(app, args)
        assert res.exit_code == 2, (args, res.output)
        (line,) = res.output.strip().splitlines()
        assert f"{plan}: kind: a plan document (promptcheck plan --json);" in line and "reads" in line, line
    odd = tmp_path / "odd.json"
    odd.write_text(json.dumps({"kind": "verdicts", "schema_version": 1, "tasks": []}))
    res = runner.invoke(app, ["report", str(odd)])
    assert res.exit_code == 2 and "kind: unknown kind 'verdicts'; promptcheck writes run, pytest, fix" in res.output


def test_files_written_before_documents_said_their_kind_still_read(small_run, tmp_path):
    run = json.loads(small_run.read_text())
    old = {k: v for k, v in run.items() if k != "kind"}
    assert kind_of(old) == "run"
    path = tmp_path / "old.json"
    path.write_text(json.dumps(old))
    assert read_document(path)["tasks"][0]["name"] == run["tasks"][0]["name"]
    assert kind_of({"schema_version": 2, "tests": []}) == "pytest"
    assert kind_of({"schema_version": 2, "tasks": [{"name": "t", "before": {}}]}) == "fix"
    assert kind_of({"schema_version": 2, "per_task_adapters": True, "tasks": []}) == "fix"
    with pytest.raises(InputError, match="schema_version 9 of a run document is not supported"):
        path.write_text(json.dumps(stamp("run", {**old, "schema_version": 9}) | {"schema_version": 9}))
        read_document(path)


def test_fix_reports_of_version_1_still_read_and_failures_json_is_refused_by_the_result_readers(small_run, tmp_path):
    """A review: a fix report written before 2026-12-06 (schema 1) no longer rendered, and the gate's
    failures.json passed the reader as a run file, then crashed compare with a KeyError."""
    old_fix = tmp_path / "fix_report.json"
    old_fix.write_text(
        json.dumps({"schema_version": 1, "adapter": {}, "tasks": [{"name": "t", "before": {}, "after": {}}]})
    )
    assert read_document(old_fix)["tasks"][0]["name"] == "t"
    failures = tmp_path / "failures.json"
    failures.write_text(json.dumps({"schema_version": 1, "seed": 0, "tasks": [{"name": "t", "verdicts": []}]}))
    assert kind_of(json.loads(failures.read_text())) == "failures"
    for args in (["compare", str(failures), str(small_run)], ["plan", str(failures)], ["report", str(failures)]):
        res = runner.invoke(app, args)
        assert res.exit_code == 2, (args, res.output)
        (line,) = res.output.strip().splitlines()
        assert "kind: a failures document (the gate's failures.json, fix's input)" in line, line


def test_verdict_options_take_numpy_numbers_as_markers_did():
    import numpy as np

    from promptcheck.options import VerdictOptions

    v = VerdictOptions(max_accuracy_drop=np.float64(0.1), confidence=np.float32(0.9), n_boot=np.int64(500))
    assert v.max_accuracy_drop == 0.1 and v.n_boot == 500
    with pytest.raises(InputError, match="n_boot: must be a number, got '2000'"):
        VerdictOptions(n_boot="2000")


@pytest.mark.parametrize(
    ("edit", "field", "message"),
    [
        (lambda t: t.pop("instructions"), "tasks[0].instructions", "must be a list of instructions"),
        (lambda t: t.pop("name"), "tasks[0].name", "must be the task's name"),
        (lambda t: t.update(reference_accuracy="high"), "tasks[0].reference_accuracy", "must be a number"),
        (lambda t: t["items"][0].update(answer=5), "tasks[0].items[0].answer", "must be a choice index"),
        (
            lambda t: t["items"][1].update(predictions=[9] * len(t["instructions"])),
            "tasks[0].items[1].predictions",
            "must be choice indices",
        ),
        (
            lambda t: t["items"][2].update(predictions=[0, 1]),
            "tasks[0].items[2].predictions",
            "must hold one prediction per instruction",
        ),
        (lambda t: t.update(items=t["items"][:3]), "tasks[0].items", "holds 3 items where n_items says"),
    ],
    ids=[
        "no-instructions",
        "no-name",
        "text-accuracy",
        "answer-out-of-range",
        "prediction-out-of-range",
        "short-predictions",
        "items-cut",
    ],
)
def test_a_hand_edited_run_file_is_refused_in_one_line_by_every_reader(small_run, tmp_path, edit, field, message):
    """A new user's edits of a run file: KeyError, TypeError and IndexError tracebacks from report,
    plan and compare, or silently wrong figures (answers out of range, items cut)."""
    doc = json.loads(small_run.read_text())
    edit(doc["tasks"][0])
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(doc))
    for args in (["report", str(path)], ["plan", str(path)], ["compare", str(small_run), str(path)]):
        res = runner.invoke(app, args)
        assert res.exit_code == 2, (args, res.output)
        (line,) = res.output.strip().splitlines()
        assert f"{path}: {field}: {message}" in line, line
