"""examples/test_release_gate.py on the packaged default model: the outcomes the docs promise."""

from __future__ import annotations

import json
import shutil

import pytest
from conftest import ROOT

pytestmark = pytest.mark.default_model


def test_release_gate_example_fails_sentiment_passes_capitals_and_reports_yesno(pytester):
    shutil.copytree(ROOT / "examples", pytester.path / "examples")
    result = pytester.runpytest_subprocess(
        "examples/test_release_gate.py",
        "--promptcheck-model=default",
        "--promptcheck-json=gate.json",
        "--promptcheck-markdown=gate.md",
        "--junitxml=gate.xml",
        "-p",
        "no:cacheprovider",
        timeout=1800,
    )
    result.assert_outcomes(failed=1, passed=2)
    assert result.ret == 1
    out = result.stdout.str()
    assert "robustness FAIL on task 'sentiment'" in out
    assert "SmolLM2-135M-Instruct" in out and "promptcheck: robustness to instruction paraphrases" in out
    records = {r["task"]: r for r in json.loads((pytester.path / "gate.json").read_text())["tests"]}
    assert records["sentiment"]["verdict"] == "fail" and records["sentiment"]["interval"][0] > 0.05
    assert records["capitals"]["verdict"] == "pass"
    assert records["yesno"]["verdict"] in ("inconclusive", "pass")
    failures = json.loads((pytester.path / ".promptcheck" / "failures.json").read_text())
    names = [t["name"] for t in failures["tasks"]]
    assert names == ["sentiment"], 'yes/no is inconclusive but its test passes (on_inconclusive="pass"): not for fix'
    sentiment = next(t for t in failures["tasks"] if t["name"] == "sentiment")
    assert sentiment["source"].endswith("sentiment.yaml") and sentiment["failing_instructions"]
    assert failures["seed"] == 0 and failures["model"]["weights_hash"]
    assert "❌ fail" in (pytester.path / "gate.md").read_text()
