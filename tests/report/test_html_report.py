"""The HTML report: self-contained, plots present and non-empty, user text escaped, numbers read from the file."""

from __future__ import annotations

import json
import re

import pytest
from report_fixtures import HOSTILE, PNG_SIGNATURE, SCRIPT, data_pngs, small_run  # noqa: F401
from typer.testing import CliRunner

from promptcheck.cli.main import app
from promptcheck.report.html import render_report

runner = CliRunner()


def test_run_json_carries_the_statistics_the_report_shows(small_run):
    doc = json.loads(small_run.read_text())
    assert doc["statistics"] == {"threshold": 0.05, "confidence": 0.95, "n_boot": 2000}
    (task,) = doc["tasks"]
    rob = task["robustness"]
    # Observed instructions are their own set; the headline verdict is on the new phrasings.
    assert rob["kinds"] == ["unobserved"] and rob["claim"] == "phrasings"
    lo, hi = rob["drop_interval"]
    assert lo <= rob["drop"] + 1e-12 and rob["drop"] <= hi + 1e-12
    assert rob["verdict"] in ("pass", "fail", "inconclusive")
    observed = next(s for s in task["sets"] if s["kind"] == "observed")
    assert observed["claim"] == "instructions" and len(observed["drop_interval"]) == 2
    ref = task["reference_accuracy"]
    for ins in task["instructions"]:
        assert abs(ins["drop"] - (ref - ins["accuracy"])) < 1e-12 and 0 <= ins["mcnemar_p"] <= 1
    # flips: instructions whose prediction differs from the reference's, recomputable from predictions.
    for item in task["items"]:
        assert item["flips"] == sum(p != item["predictions"][0] for p in item["predictions"][1:])


def test_report_is_self_contained_with_nonempty_plots_and_escaped_text(small_run, tmp_path):
    out = tmp_path / "report.html"
    res = runner.invoke(app, ["report", str(small_run), "--out", str(out)])
    assert res.exit_code == 0, res.output
    html = out.read_text()
    pngs = data_pngs(html)
    assert len(pngs) == 4  # accuracy, drop, projection, distance
    assert all(p.startswith(PNG_SIGNATURE) and len(p) > 2000 for p in pngs)
    assert SCRIPT not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script" not in html.lower() and not re.search(r'(src|href)="(https?:)?//', html)
    assert "sentiment-small" in html and "Representations" in html


def test_report_renders_numbers_from_the_file_not_its_own(small_run):
    doc = json.loads(small_run.read_text())
    doc["tasks"][0]["robustness"].update(drop=0.4242, drop_interval=[0.3131, 0.5353], verdict="fail")
    html = render_report(doc)
    assert "+42.4" in html and "[+31.3, +53.5]" in html and 'v-fail">fail' in html


def test_worst_instructions_show_the_edits_that_made_them(small_run):
    doc = json.loads(small_run.read_text())
    task = doc["tasks"][0]
    ins = task["instructions"][-1]
    ins.update(kind="generated", accuracy=0.0, edits=["synonym: sentiment -> feeling"])
    html = render_report(doc)
    worst = html.split("Worst instructions", 1)[1].split("</table>", 1)[0]
    assert "synonym: sentiment -&gt; feeling" in worst


def test_fix_report_renders_before_and_after():
    fix = {
        "schema_version": 1,
        "model": {"id": "m"},
        "adapter": {"path": "adapters/fix"},
        "harm_check": {"ok": True, "tolerance": 0.01, "harmed_tasks": []},
        "tasks": [
            {
                "name": "capitals",
                "source": "suites/capitals.yaml",
                "train_items": 20,
                "heldout_items": 20,
                "heldout_instructions": [HOSTILE],
                "before": {
                    "reference_accuracy": 0.8,
                    "observed_drop": 0.2,
                    "heldout_drop": 0.25,
                    "heldout_drop_interval": [0.1, 0.4],
                },
                "after": {
                    "reference_accuracy": 0.8,
                    "observed_drop": 0.05,
                    "heldout_drop": 0.075,
                    "heldout_drop_interval": [0.0, 0.15],
                },
            }
        ],
    }
    html = render_report(fix)
    assert "+25.0" in html and "+7.5" in html and "[+0.0, +15.0]" in html
    assert SCRIPT not in html and len(data_pngs(html)) == 1
    assert "gap not closed" not in html
    fix["problems"] = ["GAP NOT CLOSED: capitals: held-out drop +25.0 -> +15.0 points, needs at most +12.5"]
    assert "gap not closed</span>  capitals: held-out drop +25.0 -&gt; +15.0 points" in render_report(fix)


def test_report_of_a_bad_file_is_one_line_and_exit_2(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    res = runner.invoke(app, ["report", str(bad)])
    assert res.exit_code == 2 and "bad.json:1: not JSON" in res.output and "Traceback" not in res.output
    other = tmp_path / "other.json"
    other.write_text('{"hello": 1}')
    res = runner.invoke(app, ["report", str(other)])
    assert res.exit_code == 2 and "not a promptcheck results file" in res.output
    res = runner.invoke(app, ["report", str(tmp_path / "missing.json")])
    assert res.exit_code == 2 and "no such file" in res.output


def test_run_json_verdict_agrees_with_assert_robust(examples_dir):
    """The report's verdict and the gate's come from the same rule and the same numbers."""
    from dataclasses import replace

    from tiny_models import RuleModel

    import promptcheck as pc
    from promptcheck.evaluation.results import RunResult
    from promptcheck.report.jsonio import run_to_json

    task = pc.load_task(examples_dir / "sentiment.yaml")
    task = replace(task, items=task.items[:16])
    model = RuleModel("rule", lambda ctx: "review" in ctx.split("\n")[0].lower() and len(ctx) % 3 != 0)
    result = pc.evaluate(model, task)
    doc = run_to_json(RunResult((result,), model.identity, seed=4), timestamp=False)
    rob = doc["tasks"][0]["robustness"]
    verdict = pc.assert_robust(result, on_inconclusive="pass", seed=4, max_accuracy_drop=0.05)
    assert rob["drop"] == pytest.approx(verdict.drop)
    assert rob["drop_interval"] == pytest.approx(verdict.interval.to_json())
    assert (rob["verdict"], rob["claim"], rob["consistency"]) == (verdict.verdict, verdict.claim, verdict.consistency)
    assert rob["spread_sd"] == pytest.approx(verdict.spread_sd)
