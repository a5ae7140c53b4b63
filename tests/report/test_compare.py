"""Release comparison: a paired interval of the change in drop, exit 1 on a significant regression."""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import pytest
from report_fixtures import small_run  # noqa: F401
from typer.testing import CliRunner

from promptcheck.cli.main import app
from promptcheck.errors import PromptcheckError
from promptcheck.report.compare import Evidence, compare_evidence
from promptcheck.stats import judge_change

runner = CliRunner()


def test_paired_change_finds_a_regression_and_not_a_non_change():
    rng = np.random.default_rng(0)
    ref = rng.random(60) < 0.8
    para = np.vstack([ref & (rng.random(60) < 0.95) for _ in range(5)])
    same = judge_change(ref, para, ref, para)
    assert same.interval.low <= 0 <= same.interval.high and same.verdict(0.05) == "unchanged"
    worse_para = para & (rng.random(para.shape) < 0.6)
    worse = judge_change(ref, para, ref, worse_para)
    assert worse.interval.low > 0 and worse.verdict(0.05) == "worse"
    assert judge_change(ref, worse_para, ref, para).verdict(0.05) == "better"
    assert judge_change(ref, para, ref, worse_para) == worse, "deterministic"


def test_paired_interval_is_narrower_than_ignoring_the_pairing():
    """Pairing is the point: item difficulty is shared by both releases and cancels."""
    rng = np.random.default_rng(1)
    easy = rng.random(80) < 0.5  # half the items are easy for both releases
    ref = easy | (rng.random(80) < 0.3)
    old = np.vstack([easy | (rng.random(80) < 0.2) for _ in range(4)])
    new = np.vstack([easy | (rng.random(80) < 0.15) for _ in range(4)])
    paired = judge_change(ref, old, ref, new)
    rng2 = np.random.default_rng(2)
    # Unpaired: resample the two releases' items independently.
    idx_a, idx_b = rng2.integers(0, 80, (2000, 80)), rng2.integers(0, 80, (2000, 80))
    unpaired = (ref[idx_b].mean(1) - new[:, idx_b].mean(2).mean(0)) - (
        ref[idx_a].mean(1) - old[:, idx_a].mean(2).mean(0)
    )
    lo, hi = np.quantile(unpaired, [0.05, 0.95])
    assert paired.interval.high - paired.interval.low < 0.8 * (hi - lo)


def test_paired_change_rejects_different_items():
    with pytest.raises(PromptcheckError, match="same items"):
        judge_change(np.ones(5, bool), np.ones((2, 5), bool), np.ones(6, bool), np.ones((2, 6), bool))


def _evidence(task: str, correct: np.ndarray, texts: list[str]) -> Evidence:
    return Evidence(
        key=task,
        task=task,
        item_ids=tuple(f"i{k}" for k in range(correct.shape[1])),
        texts=("ref", *texts),
        kinds=("reference",) + ("unobserved",) * len(texts),
        correct=correct,
    )


def test_instructions_are_matched_by_text_and_different_sets_are_said_so():
    rng = np.random.default_rng(3)
    rows = rng.random((5, 80)) < 0.7
    old = _evidence("t", rows, ["a", "b", "c", "d"])
    shuffled = _evidence("t", rows[[0, 3, 1, 4, 2]], ["c", "a", "d", "b"])
    (change,), _ = compare_evidence({"t": old}, {"t": shuffled})
    # Paired by text, the two runs are identical: a zero change whose bounds are only the variance
    # floor of 80 items (one pseudo discordant pair each way), not the spread of mismatched rows.
    floor = 1.6448536 * math.sqrt(2.0) / 82
    assert change.change == pytest.approx(0.0) and change.interval == pytest.approx((-floor, floor), rel=0.02)
    assert change.verdict == "unchanged"
    assert change.pairing.startswith("items and instructions paired")
    other = _evidence("t", rows, ["a", "b", "c", "e"])
    (change,), _ = compare_evidence({"t": old}, {"t": other})
    assert "instruction sets differ" in change.pairing


def test_several_tasks_are_holm_corrected():
    """Twenty tasks that did not change: unadjusted one-sided tests would call some "worse"."""
    rng = np.random.default_rng(10)
    old, new = {}, {}
    for k in range(20):
        base = rng.random(60) < 0.7
        o = np.vstack([base] + [base & (rng.random(60) < 0.9) for _ in range(6)])
        n = np.vstack([base] + [base & (rng.random(60) < 0.9) for _ in range(6)])
        old[f"t{k}"] = _evidence(f"t{k}", o, list("abcdef"))
        new[f"t{k}"] = _evidence(f"t{k}", n, list("abcdef"))
    changes, _ = compare_evidence(old, new)
    assert any(c.p_worse < 0.05 for c in changes), "this seed has a task that looks worse by chance"
    assert all(c.p_worse_holm >= c.p_worse for c in changes)
    assert [c.verdict for c in changes].count("worse") == 0


def _regressed(doc: dict) -> dict:
    """The same run, but every non-reference instruction now gets every item wrong."""
    new = copy.deepcopy(doc)
    task = new["tasks"][0]
    assert task["reference_accuracy"] >= 0.3  # else there is no drop to gain
    for item in task["items"]:
        wrong = (item["answer"] + 1) % item["n_choices"]
        item["predictions"] = [item["predictions"][0]] + [wrong] * (len(item["predictions"]) - 1)
    return new


def test_compare_cli_exit_codes(small_run, tmp_path):
    doc = json.loads(small_run.read_text())
    new = tmp_path / "new.json"
    new.write_text(json.dumps(_regressed(doc)))
    res = runner.invoke(app, ["compare", str(small_run), str(small_run)])
    assert res.exit_code == 0, res.output
    assert "unchanged" in res.output
    html = tmp_path / "cmp.html"
    res = runner.invoke(app, ["compare", str(small_run), str(new), "--html", str(html)])
    assert res.exit_code == 1, res.output
    assert "worse" in res.output and "robustness got worse on sentiment-small" in res.output
    assert "data:image/png;base64," in html.read_text()
    # The other way round it got better, which is not a failure.
    res = runner.invoke(app, ["compare", str(new), str(small_run)])
    assert res.exit_code == 0 and "better" in res.output


def test_compare_refuses_different_suites_in_one_line(small_run, tmp_path):
    doc = json.loads(small_run.read_text())
    doc["tasks"][0]["items"] = doc["tasks"][0]["items"][:-2]
    doc["tasks"][0]["n_items"] = 8  # a consistent file of other items
    other = tmp_path / "other.json"
    other.write_text(json.dumps(doc))
    res = runner.invoke(app, ["compare", str(small_run), str(other)])
    assert res.exit_code == 2
    assert "different items" in res.output and "Traceback" not in res.output


def test_plan_on_a_run_json_gives_power_and_sizes_per_task(small_run):
    res = runner.invoke(app, ["plan", str(small_run), "--json"])
    assert res.exit_code == 0, res.output
    (task,) = json.loads(res.output)["tasks"]
    assert task["task"] == "sentiment-small" and task["items"] == 10 and task["instructions"] == 3
    assert task["claim"] == "phrasings" and task["minimum_detectable_drop"] >= 0.05
    for key in ("items_needed", "instructions_needed"):
        assert task[key] is None or (isinstance(task[key], int) and task[key] >= 2)
    table = runner.invoke(app, ["plan", str(small_run)])
    assert table.exit_code == 0 and "would decide" in table.output and "sentiment-small" in table.output
    bad = runner.invoke(app, ["plan", str(small_run), "--confidence", "2"])
    assert bad.exit_code == 2 and len(bad.output.strip().splitlines()) == 1


def test_plan_on_a_run_plans_for_the_threshold_the_run_judged_at(tiny_causal_dir, tmp_path):
    """plan on a run made with --max-accuracy-drop 0.10 used 0.05, the default, not what the file records."""
    from report_fixtures import write_suite

    out = tmp_path / "run.json"
    suite = write_suite(tmp_path)
    res = runner.invoke(
        app, ["run", str(suite), "--model", str(tiny_causal_dir), "--json", str(out), "--max-accuracy-drop", "0.10"]
    )
    assert res.exit_code == 0, res.output
    assert json.loads(out.read_text())["statistics"]["threshold"] == 0.10
    (task,) = json.loads(runner.invoke(app, ["plan", str(out), "--json"]).output)["tasks"]
    assert task["threshold"] == 0.10
    (own,) = json.loads(runner.invoke(app, ["plan", str(out), "--json", "--max-accuracy-drop", "0.2"]).output)["tasks"]
    assert own["threshold"] == 0.2, "an explicit threshold still wins"


def test_independent_instruction_sets_never_give_a_zero_width_change():
    """A user compared a run with 12 instructions against one with 3 (every instruction at 70%, the
    same items right): "[+0.0, +0.0]" from 10 items, narrower than the file compared with itself."""
    ref = np.array([True] * 7 + [False] * 3)
    old = np.tile(ref, (12, 1))
    new = np.tile(ref, (3, 1))
    change = judge_change(ref, old, ref, new, paired_instructions=False)
    same = judge_change(ref, old, ref, old)
    assert change.interval.high - change.interval.low > 0.1
    assert change.interval.high - change.interval.low >= 0.5 * (same.interval.high - same.interval.low)
