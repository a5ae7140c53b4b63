"""A release gate a model team would copy: fail the build when paraphrases cost accuracy.

    pytest examples/test_release_gate.py --promptcheck-model=default \
        --promptcheck-json gate.json --promptcheck-markdown gate.md --junitxml gate.xml

Each test states a claim about the model with a threshold and a confidence; promptcheck
answers pass, fail (the whole interval is beyond the threshold) or inconclusive (too few items
to tell). On the packaged default model (SmolLM2-135M-Instruct) the sentiment gate really
fails: it loses about 24 points when the instruction is reworded.
"""

import pytest

import promptcheck as pc


@pytest.mark.promptcheck(max_accuracy_drop=0.05, confidence=0.95)
def test_sentiment_survives_rewording(promptcheck_model, promptcheck_suite):
    """Expected on the default model: FAIL (drop ~24 points, interval above 5)."""
    task = promptcheck_suite("suites/sentiment.yaml")
    pc.assert_robust(promptcheck_model, task)


@pytest.mark.promptcheck(max_accuracy_drop=0.15)
def test_capitals_survive_rewording(promptcheck_model, promptcheck_suite):
    """Expected on the default model: PASS (drop ~0, interval below 15 points)."""
    task = promptcheck_suite("suites/capitals.yaml")
    pc.assert_robust(promptcheck_model, task)


def test_yesno_is_decided_or_says_so(promptcheck_model, promptcheck_suite):
    """Expected on the default model: INCONCLUSIVE at 32 items, reported but not failing the build."""
    task = promptcheck_suite("suites/yesno.yaml")
    verdict = pc.assert_robust(promptcheck_model, task, max_accuracy_drop=0.05, on_inconclusive="pass")
    assert verdict.verdict in ("pass", "inconclusive")
