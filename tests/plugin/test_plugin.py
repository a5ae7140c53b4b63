"""The pytest plugin end to end with pytester: options, ini, marker, fixtures, outputs, xdist."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET

import pytest
from conftest import ROOT, assert_documented

pytest_plugins = ["pytester"]

ROBUST_TEST = """
import pytest
import promptcheck as pc

@pytest.mark.promptcheck(on_inconclusive="pass", n_boot=300)
def test_{name}(promptcheck_model, promptcheck_suite):
    task = promptcheck_suite("{suite}")
    task = pc.Task(**{{**task.__dict__, "items": task.items[:{n}]}})
    pc.assert_robust(promptcheck_model, task, max_accuracy_drop=0.5)
"""


@pytest.fixture
def suites(pytester):
    shutil.copytree(ROOT / "examples" / "suites", pytester.path / "suites")
    return pytester.path / "suites"


def test_help_lists_the_promptcheck_options(pytester):
    out = pytester.runpytest("--help").stdout.str()
    for opt in (
        "--promptcheck-model",
        "--promptcheck-adapter",
        "--promptcheck-device",
        "--promptcheck-dtype",
        "--promptcheck-seed",
        "--promptcheck-json",
        "--promptcheck-cache",
        "--promptcheck-require-model",
        "--promptcheck-markdown",
        "promptcheck_model (string)",
    ):
        assert opt in out, opt


@pytest.mark.parametrize(("ini", "cli", "expected"), [(None, None, 0), ("5", None, 5), ("5", "7", 7), (None, "9", 9)])
def test_command_line_beats_ini_beats_default(pytester, ini, cli, expected):
    if ini is not None:
        pytester.makeini(f"[pytest]\npromptcheck_seed = {ini}\npromptcheck_dtype = bfloat16\n")
    pytester.makepyfile(f"""
        def test_settings(promptcheck_settings):
            assert promptcheck_settings.seed == {expected}
            assert promptcheck_settings.dtype == {"'bfloat16'" if ini else "'float32'"}
    """)
    args = [f"--promptcheck-seed={cli}"] if cli else []
    pytester.runpytest(*args).assert_outcomes(passed=1)


def test_without_a_model_tests_skip_with_a_reason_and_require_model_errors(pytester):
    pytester.makepyfile("def test_needs_model(promptcheck_model):\n    pass\n")
    result = pytester.runpytest("-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*no model to test: pass --promptcheck-model=PATH_OR_ID*"])
    strict = pytester.runpytest("--promptcheck-require-model")
    assert strict.ret == pytest.ExitCode.USAGE_ERROR
    strict.stderr.fnmatch_lines(["*--promptcheck-require-model is set but no model is named*"])


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        ("max_drop=0.1", "unknown option(s) max_drop"),
        ("0.1", "keyword options only"),
        ("confidence=1.5", "confidence: must be between 0.5 and 1 (the level of each one-sided test), got 1.5"),
        ("max_accuracy_drop='5%'", "max_accuracy_drop: must be a number, got '5%'"),
        ("claim='phrasing'", "claim: must be one of auto, instructions, phrasings, got 'phrasing'"),
        ("n_boot=10", "n_boot: must be at least 100, got 10"),
    ],
)
def test_marker_options_are_validated_at_collection(pytester, marker, message):
    pytester.makepyfile(f"import pytest\n\n@pytest.mark.promptcheck({marker})\ndef test_x():\n    pass\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert message in result.stderr.str()


def test_marker_overrides_reach_assert_robust(pytester, tiny_causal_dir, suites):
    pytester.makepyfile("""
        import pytest
        import promptcheck as pc

        @pytest.mark.promptcheck(max_accuracy_drop=0.9, confidence=0.8, on_inconclusive="pass", n_boot=200)
        def test_marked(promptcheck_model, promptcheck_suite):
            task = promptcheck_suite("suites/yesno.yaml")
            v = pc.assert_robust(promptcheck_model, task)
            assert (v.threshold, v.confidence) == (0.9, 0.8)
            v = pc.assert_robust(promptcheck_model, task, max_accuracy_drop=0.95)
            assert v.threshold == 0.95, "an explicit argument beats the marker"
    """)
    pytester.runpytest(f"--promptcheck-model={tiny_causal_dir}").assert_outcomes(passed=1)


def test_bad_suite_fails_the_test_with_one_line(pytester, tiny_causal_dir):
    (pytester.path / "bad.yaml").write_text("name: t\nitems: i.jsonl\n")
    pytester.makepyfile("def test_bad(promptcheck_suite):\n    promptcheck_suite('bad.yaml')\n")
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*bad.yaml:1: reference_instruction: missing required key*"])
    assert "Traceback" not in result.stdout.str()


def test_outputs_json_junit_markdown_and_summary_under_default_junit_family(pytester, tiny_causal_dir, suites):
    pytester.makepyfile(test_a=ROBUST_TEST.format(name="yesno", suite="suites/yesno.yaml", n=16))
    result = pytester.runpytest(
        f"--promptcheck-model={tiny_causal_dir}",
        "--promptcheck-json=out.json",
        "--junitxml=out.xml",
        "--promptcheck-markdown=pr.md",
        "-W",
        "error",
    )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*promptcheck: robustness to instruction paraphrases*", "*yesno*", "model: *"])
    doc = json.loads((pytester.path / "out.json").read_text())
    assert_documented(doc)
    (record,) = doc["tests"]
    for key in (
        "verdict",
        "drop",
        "interval",
        "threshold",
        "confidence",
        "items",
        "instructions",
        "prompts_scored",
        "model",
        "claim",
    ):
        assert key in record, key
    assert record["verdict"] in ("pass", "inconclusive") and record["items"] == 16
    assert record["model"]["weights_hash"]
    props = {p.get("name"): p.get("value") for p in ET.parse(pytester.path / "out.xml").iter("property")}
    assert json.loads(props["promptcheck.verdict"]) == record["verdict"]
    assert json.loads(props["promptcheck.items"]) == 16 and "promptcheck.model" in props
    assert "| test | task |" in (pytester.path / "pr.md").read_text()


def test_exit_status_tells_fail_inconclusive_and_error_apart(pytester, tiny_causal_dir, suites):
    pytester.makepyfile("""
        import pytest
        import promptcheck as pc

        def test_inconclusive(promptcheck_model, promptcheck_suite):
            task = promptcheck_suite("suites/yesno.yaml")
            pc.assert_robust(promptcheck_model, task, max_accuracy_drop=0.0, n_boot=200)
    """)
    inconclusive = pytester.runpytest(f"--promptcheck-model={tiny_causal_dir}")
    assert inconclusive.ret == 6, inconclusive.stdout.str()[-2000:]
    assert "inconclusive" in inconclusive.stdout.str()
    pytester.makepyfile(test_error="def test_error(promptcheck_model):\n    raise RuntimeError('boom')\n")
    error = pytester.runpytest(f"--promptcheck-model={tiny_causal_dir}", "test_error.py")
    assert error.ret == 7
    # A crash beside an inconclusive gate: 7, not 6 ("score more items" would hide the crash).
    both = pytester.runpytest(f"--promptcheck-model={tiny_causal_dir}")
    assert both.ret == 7, both.stdout.str()[-2000:]
    pytester.makepyfile(test_plain="def test_plain():\n    assert 1 == 2\n")
    plain = pytester.runpytest(f"--promptcheck-model={tiny_causal_dir}", "test_plain.py", "test_error.py")
    assert plain.ret == 1


def test_xdist_two_workers_complete_summary_and_json(pytester, tiny_causal_dir, suites):
    pytester.makepyfile(
        test_one=ROBUST_TEST.format(name="yesno", suite="suites/yesno.yaml", n=12),
        test_two=ROBUST_TEST.format(name="sentiment", suite="suites/sentiment.yaml", n=12),
    )
    result = pytester.runpytest_subprocess(
        "-n",
        "2",
        f"--promptcheck-model={tiny_causal_dir}",
        "--promptcheck-json=out.json",
        "-p",
        "no:cacheprovider",
        timeout=600,
    )
    result.assert_outcomes(passed=2)
    out = result.stdout.str()
    # Test ids are listed under the table, each whole on one line (a CI log does not widen).
    lines = out.splitlines()
    assert any(line.strip().endswith("test_one.py::test_yesno") for line in lines), out[-3000:]
    assert any(line.strip().endswith("test_two.py::test_sentiment") for line in lines), out[-3000:]
    doc = json.loads((pytester.path / "out.json").read_text())
    assert sorted(r["task"] for r in doc["tests"]) == ["sentiment", "yesno"]
    assert all(r["prompts_scored"] > 0 for r in doc["tests"])
