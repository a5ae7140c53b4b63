"""The user's loop on the default model: failing gate -> failures.json -> fix -> same gate with the adapter.

The gate judges the blind-written held-out instructions (examples/heldout/sentiment.yaml,
``kinds=["unobserved"]``): fix never trains or selects on them, and reports its before/after
on items it never trained on either.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT

# About 10 minutes on 2 cores: outside the README's quick test command, in `pytest -m e2e` (CI runs it).
pytestmark = [pytest.mark.default_model, pytest.mark.e2e]

GATE = """
import promptcheck as pc

def test_sentiment_gate(promptcheck_model, promptcheck_suite):
    task = promptcheck_suite("examples/heldout/sentiment.yaml")
    pc.assert_robust(promptcheck_model, task, max_accuracy_drop=0.05, kinds=["unobserved"])
"""


def test_failing_gate_then_fix_then_the_gate_shows_a_smaller_heldout_drop(pytester):
    shutil.copytree(ROOT / "examples" / "heldout", pytester.path / "examples" / "heldout")
    pytester.makepyfile(test_gate=GATE)
    before = pytester.runpytest_subprocess(
        "--promptcheck-model=default", "--promptcheck-json=before.json", "-p", "no:cacheprovider", timeout=1800
    )
    # The default model does not pass this gate: inconclusive (exit 6) at +19 points with 40 items,
    # a drop above the threshold, so it is listed for fix like a definite failure.
    assert before.ret in (1, 6), before.stdout.str()[-3000:]
    failures = pytester.path / ".promptcheck" / "failures.json"
    assert failures.is_file()

    # fix with its defaults, as a user runs it after a failing gate.
    fix = subprocess.run(
        [sys.executable, "-m", "promptcheck", "fix", "--from", str(failures), "--out", "adapter"],
        cwd=pytester.path,
        capture_output=True,
        text=True,
        timeout=2400,
    )
    report = json.loads((pytester.path / "adapter" / "fix_report.json").read_text())
    (task,) = report["tasks"]
    assert report["config"]["gate_threshold"] == 0.05  # the failed gate's threshold
    # Issue 16's bar, judged by fix itself (exit 0 only if it is met): on held-out items under
    # the blind-written held-out instructions, the drop at least halved and the reference kept.
    assert fix.returncode == 0, fix.stderr[-3000:]
    assert report["ok"] and not report["problems"]
    o = task["outcome"]
    assert o["gap_closed"] and o["reference_kept"] and report["selection"]["ok"], o
    assert task["after"]["heldout_drop"] <= task["before"]["heldout_drop"] / 2
    assert task["after"]["reference_accuracy"] >= task["before"]["reference_accuracy"] - 0.01

    after = pytester.runpytest_subprocess(
        "--promptcheck-model=default",
        "--promptcheck-adapter=adapter",
        "--promptcheck-json=after.json",
        "-p",
        "no:cacheprovider",
        timeout=1800,
    )
    drop_before = json.loads((pytester.path / "before.json").read_text())["tests"][0]["drop"]
    record = json.loads((pytester.path / "after.json").read_text())["tests"][0]
    assert record["model"]["adapter_hash"] == report["adapter"]["hash"]
    assert record["drop"] < drop_before
    print(
        f"gate drop before {drop_before:+.3f}, with adapter {record['drop']:+.3f} ({record['verdict']}); "
        f"held-out drop {task['before']['heldout_drop']:+.3f} -> {task['after']['heldout_drop']:+.3f}"
    )
    assert after.ret in (0, 1, 6)
