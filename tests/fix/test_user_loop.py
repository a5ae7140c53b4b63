"""The user's loop on the default model: failing gate -> failures.json -> fix -> same gate with the adapter.

The gate judges the blind-written held-out instructions (examples/heldout/sentiment.yaml,
``kinds=["unobserved"]``): fix never trains or selects on them.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT

pytestmark = pytest.mark.default_model

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

    fix = subprocess.run(
        [
            sys.executable,
            "-m",
            "promptcheck",
            "fix",
            "--from",
            str(failures),
            "--out",
            "adapter",
            "--steps",
            "20",
            "--eval-every",
            "10",
            "--search",
            "1",
        ],
        cwd=pytester.path,
        capture_output=True,
        text=True,
        timeout=2400,
    )
    report = json.loads((pytester.path / "adapter" / "fix_report.json").read_text())
    (task,) = report["tasks"]
    assert report["config"]["gate_threshold"] == 0.05  # the failed gate's threshold
    if fix.returncode == 3:
        # fix says itself that it could not close the gap safely, with the reason, and the
        # report agrees (CI on 2026-12-03, 20 steps: the held-out reference fell, HARM).
        assert "HARM" in fix.stderr or "NO SAFE FIX" in fix.stderr, fix.stderr[-3000:]
        assert not report["harm_check"]["ok"] or not report["selection"]["ok"]
        assert not task["outcome"]["gap_closed"]
        return
    assert fix.returncode == 0, fix.stderr[-3000:]
    # The held-out drop shrinks and the reference is kept. (Issue 16 asks for it at least halved;
    # that is not yet shown in CI: docs/fix.md has the measured runs.)
    assert task["after"]["heldout_drop"] < task["before"]["heldout_drop"], task["outcome"]
    assert task["outcome"]["reference_kept"] and report["selection"]["ok"], task["outcome"]

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
