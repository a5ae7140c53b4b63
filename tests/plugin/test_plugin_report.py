"""The plugin's HTML report (--promptcheck-html) and release comparison (--promptcheck-baseline), with pytester."""

from __future__ import annotations

import base64
import re
import shutil

from conftest import ROOT

pytest_plugins = ["pytester"]

# An in-code scorer with a known answer per item: release "old" is always right; release "new"
# is right under the reference but wrong on every other item under any other instruction.
GATE = """
import os
import pytest
import promptcheck as pc
from promptcheck.models.base import ChoiceScores, ModelIdentity


class Release:
    def __init__(self, task, name):
        self.identity = ModelIdentity(id=f"release-{name}")
        self.task, self.name = task, name

    def chat_formatter(self):
        return None

    def score(self, prompts, *, progress=None):
        out = []
        for p in prompts:
            n, item = next((n, it) for n, it in enumerate(self.task.items) if it.question.strip() in p.context)
            right = self.name == "old" or p.context.startswith(self.task.reference_instruction) or n % 2
            best = item.answer if right else (item.answer + 1) % len(item.choices)
            k = len(p.continuations)
            out.append(ChoiceScores(tuple(-0.1 if i == best else -2.0 for i in range(k)), (1,) * k, (1,) * k))
        return out


@pytest.mark.promptcheck(on_inconclusive="pass", n_boot=300, max_accuracy_drop=0.9)
def test_gate(promptcheck_suite):
    task = promptcheck_suite("suites/sentiment.yaml")
    task = pc.Task(**{**task.__dict__, "items": task.items[:20]})
    pc.assert_robust(Release(task, os.environ["RELEASE"]), task, instructions=task.instructions()[:4] + [
        pc.Instruction("<script>alert(1)</script> Label this review.", "unobserved")])
"""


def _setup(pytester):
    shutil.copytree(ROOT / "examples" / "suites", pytester.path / "suites")
    pytester.makepyfile(test_gate=GATE)


def test_promptcheck_html_writes_a_self_contained_report(pytester, monkeypatch):
    _setup(pytester)
    monkeypatch.setenv("RELEASE", "new")
    result = pytester.runpytest("--promptcheck-html=gate.html", "--promptcheck-json=gate.json")
    result.assert_outcomes(passed=1)
    html = (pytester.path / "gate.html").read_text()
    assert "test_gate.py::test_gate" in html and "sentiment" in html
    pngs = [base64.b64decode(m) for m in re.findall(r'src="data:image/png;base64,([^"]+)"', html)]
    assert len(pngs) == 2 and all(p.startswith(b"\x89PNG") and len(p) > 2000 for p in pngs)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_baseline_comparison_fails_the_session_on_a_regression(pytester, monkeypatch):
    _setup(pytester)
    monkeypatch.setenv("RELEASE", "old")
    pytester.runpytest("--promptcheck-json=old.json").assert_outcomes(passed=1)
    same = pytester.runpytest("--promptcheck-baseline=old.json")
    assert same.ret == 0, same.stdout.str()[-3000:]
    assert "unchanged" in same.stdout.str()
    monkeypatch.setenv("RELEASE", "new")
    worse = pytester.runpytest("--promptcheck-baseline=old.json")
    worse.assert_outcomes(passed=1)  # the gate itself passes (threshold 0.9); the comparison fails it
    assert worse.ret == 8, worse.stdout.str()[-3000:]
    worse.stdout.fnmatch_lines(["*robustness got worse than the baseline on test_gate.py::test_gate::sentiment*"])


def test_a_baseline_of_another_suite_is_a_one_line_error(pytester, monkeypatch):
    _setup(pytester)
    monkeypatch.setenv("RELEASE", "old")
    pytester.runpytest("--promptcheck-json=old.json").assert_outcomes(passed=1)
    (pytester.path / "test_gate.py").write_text(GATE.replace("items[:20]", "items[:18]"))
    result = pytester.runpytest("--promptcheck-baseline=old.json")
    assert result.ret == 7
    result.stdout.fnmatch_lines(
        ["*baseline comparison failed: items: task 'sentiment': the two runs scored different items*"]
    )


def test_a_gate_too_small_to_decide_is_told_before_it_runs_and_plan_says_what_would(pytester, monkeypatch):
    """The baseline is the pilot: at 20 items the 5-point gate cannot pass a model with no drop."""
    import json

    from typer.testing import CliRunner

    from promptcheck.cli.main import app

    shutil.copytree(ROOT / "examples" / "suites", pytester.path / "suites")
    pytester.makepyfile(test_gate=GATE.replace("max_accuracy_drop=0.9", "max_accuracy_drop=0.05"))
    monkeypatch.setenv("RELEASE", "old")
    pytester.runpytest("--promptcheck-json=old.json").assert_outcomes(passed=1)
    again = pytester.runpytest("--promptcheck-baseline=old.json")
    again.stdout.fnmatch_lines(
        [
            "*promptcheck: test_gate.py::test_gate::sentiment: at 20 items x 1 instructions "
            "(baseline) this gate passes a model with no drop less than 80% of the time*"
        ]
    )
    res = CliRunner().invoke(app, ["plan", str(pytester.path / "old.json"), "--json", "--target-drop", "0"])
    assert res.exit_code == 0, res.output
    (task,) = json.loads(res.output)["tasks"]
    assert task["task"] == "test_gate.py::test_gate::sentiment" and task["items"] == 20
    assert task["minimum_detectable_drop"] > 0.05
    assert task["items_needed"] is None or task["items_needed"] > 20
    assert set(task) >= {"minimum_detectable_drop", "items_needed", "instructions_needed"}


def test_failures_json_lists_failed_gates_and_inconclusive_ones_that_failed_above_the_threshold(pytester, monkeypatch):
    """Release "new" drops 50 points with bounds about [+30, +70]: at a 45-point gate that is
    inconclusive with the drop above the threshold (for fix if the test failed), at 60 it is not."""
    import json

    shutil.copytree(ROOT / "examples" / "suites", pytester.path / "suites")
    monkeypatch.setenv("RELEASE", "new")
    failures = pytester.path / ".promptcheck" / "failures.json"
    cases = [("0.45", "fail", True), ("0.45", "pass", False), ("0.6", "fail", False), ("0.2", "pass", True)]
    for threshold, on_inconclusive, listed in cases:
        gate = GATE.replace("max_accuracy_drop=0.9", f"max_accuracy_drop={threshold}").replace(
            'on_inconclusive="pass"', f'on_inconclusive="{on_inconclusive}"'
        )
        (pytester.path / "test_gate.py").write_text(gate)
        pytester.runpytest("--promptcheck-json=gate.json")
        (record,) = json.loads((pytester.path / "gate.json").read_text())["tests"]
        assert record["verdict"] == ("fail" if threshold == "0.2" else "inconclusive"), record["interval"]
        assert failures.is_file() == listed, (threshold, on_inconclusive)
        if listed:
            (task,) = json.loads(failures.read_text())["tasks"]
            assert task["name"] == "sentiment" and task["verdicts"][0]["threshold"] == float(threshold)


ITEMS_GATE = """
import pytest
import promptcheck as pc
from test_gate_release import Release


@pytest.mark.promptcheck(n_boot=300, max_accuracy_drop=0.2)
def test_gate():
    task = pc.load_task(
        "suites/sentiment.jsonl", name="reviews", reference_instruction="Is this review positive or negative?",
        observed=["Label the review's sentiment."], unobserved=["Positive or negative?", "How does the writer feel?"],
        kind="classification", limit=20, sample_seed=3,
    )
    pc.assert_robust(Release(task, "new"), task)
"""


def test_failures_json_rebuilds_a_task_loaded_from_an_items_file_with_its_instructions(pytester):
    """A gate on ``load_task("items.jsonl", observed=..., unobserved=...)``: fix --from reloads the
    file with the same options. Reloading the bare file found no unobserved instructions, and fix
    refused the task the gate had just failed."""
    import json

    import promptcheck as pc
    from promptcheck.failures import tasks_from_failures
    from promptcheck.fix.config import FixConfig
    from promptcheck.fix.data import split_task

    shutil.copytree(ROOT / "examples" / "suites", pytester.path / "suites")
    release = GATE.split("@pytest.mark")[0]
    pytester.makepyfile(
        test_gate_release=release.replace("import promptcheck as pc", "import promptcheck as pc  # noqa")
    )
    pytester.makepyfile(test_items_gate=ITEMS_GATE)
    pytester.runpytest("test_items_gate.py").assert_outcomes(failed=1)
    failures = pytester.path / ".promptcheck" / "failures.json"
    (entry,) = json.loads(failures.read_text())["tasks"]
    assert entry["load"]["unobserved"] == ["Positive or negative?", "How does the writer feel?"]
    (task,) = tasks_from_failures(failures)[0]
    gated = pc.load_task(
        pytester.path / "suites/sentiment.jsonl",
        name="reviews",
        reference_instruction="Is this review positive or negative?",
        observed=["Label the review's sentiment."],
        unobserved=["Positive or negative?", "How does the writer feel?"],
        kind="classification",
        limit=20,
        sample_seed=3,
    )
    assert task == gated  # same name, instructions, kind and the same 20 sampled items
    assert split_task(task, FixConfig(generated=0)).heldout_instructions == gated.unobserved
    (smaller,) = tasks_from_failures(failures, limit=8)[0]  # fix's --limit wins over the gate's
    assert len(smaller.items) == 8
