"""Release comparison: a paired interval of the change in drop, exit 1 on a significant regression."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
from report_fixtures import small_run  # noqa: F401
from typer.testing import CliRunner

from promptcheck.cli.main import app
from promptcheck.stats.robustness import bootstrap_drop_change, change_verdict

runner = CliRunner()


def test_paired_change_finds_a_regression_and_not_a_non_change():
    rng = np.random.default_rng(0)
    ref = rng.random(60) < 0.8
    para = np.vstack([ref & (rng.random(60) < 0.95) for _ in range(5)])
    same = bootstrap_drop_change(ref, para, ref, para, claim="phrasings")
    assert same.low <= 0 <= same.high and change_verdict(same) == "unchanged"
    worse_para = para & (rng.random(para.shape) < 0.6)
    worse = bootstrap_drop_change(ref, para, ref, worse_para, claim="phrasings")
    assert worse.low > 0 and change_verdict(worse) == "worse"
    assert bootstrap_drop_change(ref, worse_para, ref, para) .high < 0
    again = bootstrap_drop_change(ref, para, ref, worse_para, claim="phrasings")
    assert (again.low, again.high) == (worse.low, worse.high), "same seed, same interval"


def test_paired_interval_is_narrower_than_ignoring_the_pairing():
    """Pairing is the point: item difficulty is shared by both releases and cancels."""
    rng = np.random.default_rng(1)
    easy = rng.random(80) < 0.5  # half the items are easy for both releases
    ref = easy | (rng.random(80) < 0.3)
    old = np.vstack([easy | (rng.random(80) < 0.2) for _ in range(4)])
    new = np.vstack([easy | (rng.random(80) < 0.15) for _ in range(4)])
    paired = bootstrap_drop_change(ref, old, ref, new)
    rng2 = np.random.default_rng(2)
    # Unpaired: resample the two releases' items independently.
    idx_a, idx_b = rng2.integers(0, 80, (2000, 80)), rng2.integers(0, 80, (2000, 80))
    unpaired = ((ref[idx_b].mean(1) - new[:, idx_b].mean(2).mean(0)) - (ref[idx_a].mean(1) - old[:, idx_a].mean(2).mean(0)))
    lo, hi = np.quantile(unpaired, [0.025, 0.975])
    assert paired.high - paired.low < 0.8 * (hi - lo)


def test_paired_change_rejects_different_items():
    with pytest.raises(ValueError, match="same items"):
        bootstrap_drop_change(np.ones(5, bool), np.ones((2, 5), bool), np.ones(6, bool), np.ones((2, 6), bool))


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
    other = tmp_path / "other.json"
    other.write_text(json.dumps(doc))
    res = runner.invoke(app, ["compare", str(small_run), str(other)])
    assert res.exit_code == 2
    assert "different items" in res.output and "Traceback" not in res.output
