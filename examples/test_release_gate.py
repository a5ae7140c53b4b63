"""A release gate a model team would copy: fail the build when paraphrases cost accuracy.

    pytest examples/test_release_gate.py --promptcheck-model=default \
        --promptcheck-json gate.json --promptcheck-markdown gate.md --junitxml gate.xml

Each test states a claim about the model with a threshold and a confidence; promptcheck
answers pass, fail (the drop's one-sided bound is beyond the threshold: wrong at most 5% of the
time) or inconclusive (too few items or instructions to tell; the message says how many would
decide, and `promptcheck plan gate.json` prints it per task). On the packaged default model
(SmolLM2-135M-Instruct) the sentiment gate really fails: it loses about 24 points when the
instruction is reworded.
"""

import pytest

import promptcheck as pc


# By default a verdict compares the reference with the *unobserved* instructions, the paper's
# honest test (observed ones may have been trained on). The default model was tuned on neither
# set, so both are new phrasings to it: pooling them (12 instead of 6 instructions) is the
# cheapest way to a decision here, and it is stated explicitly.
@pytest.mark.promptcheck(max_accuracy_drop=0.05, confidence=0.95, kinds=["observed", "unobserved"])
def test_sentiment_survives_rewording(promptcheck_model, promptcheck_suite):
    """Expected on the default model: FAIL (drop ~24 points, lower bound above 5)."""
    task = promptcheck_suite("suites/sentiment.yaml")
    pc.assert_robust(promptcheck_model, task)


@pytest.mark.promptcheck(max_accuracy_drop=0.15)
def test_capitals_survive_rewording(promptcheck_model, promptcheck_suite):
    """Expected on the default model: PASS (drop ~1, upper bound below 15 points)."""
    task = promptcheck_suite("suites/capitals.yaml")
    pc.assert_robust(promptcheck_model, task)


def test_yesno_is_decided_or_says_so(promptcheck_model, promptcheck_suite):
    """Expected on the default model: INCONCLUSIVE at 32 items, reported but not failing the build."""
    task = promptcheck_suite("suites/yesno.yaml")
    verdict = pc.assert_robust(promptcheck_model, task, max_accuracy_drop=0.05, on_inconclusive="pass")
    assert verdict.verdict in ("pass", "inconclusive")
