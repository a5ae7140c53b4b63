"""Hypothesis strategies: they shrink to the smallest edit that breaks a model."""

from __future__ import annotations

import pytest
from hypothesis import find, given, settings

import promptcheck as pc
from promptcheck.paraphrase import Paraphrase, load_bank
from promptcheck.prompts.rendering import DEFAULT_FORMAT, PromptFormat
from promptcheck.strategies import formats, instructions_for, model_test, paraphrases_of

REF = "Answer the following multiple choice question."


def OneWordModel():
    """A model built in code whose answer depends on one word of the instruction.

    It picks the right choice (index 0 in the task below) only while the prompt says "following".
    """
    from tiny_models import RuleModel

    return RuleModel("one-word-model", lambda ctx: "following" in ctx.lower())


@pytest.fixture(scope="module")
def task():
    items = (
        pc.MCItem("q1", "What is the capital of France?", ("Paris", "Rome"), 0),
        pc.MCItem("q2", "What is 2 + 2?", ("4", "5"), 0),
    )
    return pc.Task(name="toy", items=items, reference_instruction=REF)


def test_given_search_fails_and_shrinks_to_a_single_edit(task):
    model = OneWordModel()
    assert pc.evaluate(model, task, [REF]).reference_accuracy == 1.0
    failing: list[Paraphrase] = []

    @model_test(seed=0, max_examples=200)
    @given(instruction=paraphrases_of(REF))
    def never_flips(instruction):
        result = pc.evaluate(model, task, [instruction])
        if result.instructions[-1].accuracy < 1.0:
            failing.append(instruction)
        assert result.instructions[-1].accuracy == 1.0

    with pytest.raises(AssertionError):
        never_flips()
    minimal = failing[-1]  # hypothesis replays the shrunk example last
    assert len(minimal.edits) == 1, minimal
    assert "following" not in minimal.text.lower()
    assert minimal.edits[0].split(":")[0] in {
        "syntactic.demonstrative",
        "syntactic.following_to_below",
        "syntactic.clause_reorder",
        "lexical.curated_synonym",
        "lexical.wordnet_synonym",
    }


def test_example_database_replays_the_failure_first(task, tmp_path):
    from hypothesis.database import DirectoryBasedExampleDatabase

    db = DirectoryBasedExampleDatabase(str(tmp_path / "db"))
    model = OneWordModel()
    calls: list[str] = []

    @settings(database=db, deadline=None, max_examples=200)
    @given(instruction=paraphrases_of(REF))
    def never_flips(instruction):
        calls.append(instruction.text)
        assert pc.evaluate(model, task, [instruction]).instructions[-1].accuracy == 1.0

    with pytest.raises(AssertionError):
        never_flips()
    shrunk = calls[-1]
    calls.clear()
    with pytest.raises(AssertionError):
        never_flips()
    assert calls[0] == shrunk, "the saved failure is tried before anything new"


def test_paraphrases_of_shrinks_toward_one_edit():
    found = find(
        paraphrases_of(REF), lambda p: "this" in p.text.lower(), settings=settings(max_examples=500, database=None)
    )
    assert len(found.edits) == 1 and found.text == "Answer this multiple choice question."


def test_formats_shrink_to_the_default_format():
    assert find(formats(), lambda f: True, settings=settings(database=None)) == DEFAULT_FORMAT
    odd = find(formats(), lambda f: f.separator != "\n\n", settings=settings(database=None))
    assert odd.choice_label == DEFAULT_FORMAT.choice_label and odd.answer_cue == DEFAULT_FORMAT.answer_cue


def test_formats_render_into_prompts(task):
    fmt = PromptFormat(separator=" -- ", choice_label="({letter}) ", answer_cue="\nA:")
    letters = pc.Task(**{**task.__dict__, "format": "letters"})
    prompt = pc.render(REF, letters.items[0], letters, prompt_format=fmt)
    assert prompt.context == REF + " -- What is the capital of France?\n(A) Paris\n(B) Rome\nA:"
    assert prompt.continuations == (" A", " B")


@settings(max_examples=30, deadline=None)
@given(instruction=instructions_for("classification", split="unobserved"))
def test_instructions_for_draws_from_the_bank_split(instruction):
    bank = load_bank("classification")
    assert instruction in bank.unobserved and instruction not in bank.observed
