"""Copy me: let hypothesis search paraphrases of your instruction for one that flips an answer.

    pytest examples/test_paraphrase_search.py --promptcheck-model=default

When a paraphrase flips the model's answer, hypothesis shrinks it to the fewest edits that
still flip it and prints it (with its edit list); its example database replays it first on the
next run, so the failure stays reproducible while you fix the model.
"""

import pytest
from hypothesis import given

import promptcheck as pc
from promptcheck.strategies import model_test, paraphrases_of

SUITE = "examples/suites/sentiment.yaml"
REFERENCE = "Classify the sentiment of the following review as negative or positive."


@pytest.fixture(scope="module")
def solved(promptcheck_model):
    """Items the model gets right under the reference: a paraphrase must not change them."""
    task = pc.load_task(SUITE)
    baseline = pc.evaluate(promptcheck_model, task, [REFERENCE])
    right = tuple(item for item, ok in zip(task.items, baseline.instructions[0].correct) if ok)[:8]
    return pc.Task(name=task.name, items=right, reference_instruction=REFERENCE, kind=task.kind)


@model_test(seed=0, max_examples=15)
@given(instruction=paraphrases_of(REFERENCE, families=["syntactic", "framing", "formatting"]))
def test_clear_reviews_never_flip(promptcheck_model, solved, instruction):
    result = pc.evaluate(promptcheck_model, solved, [instruction])
    flipped = [item.question for item, ok in zip(solved.items, result.instructions[-1].correct) if not ok]
    assert not flipped, f"{instruction.text!r} (edits: {list(instruction.edits)}) flips {flipped}"
