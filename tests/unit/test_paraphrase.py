"""Paraphrase operators and generation: deterministic, distinct, guarded, label words untouched."""

from __future__ import annotations

import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import promptcheck as pc
from promptcheck.paraphrase import REGISTRY, load_bank, paraphrases, protected_words
from promptcheck.paraphrase.operators import DEFAULT_FAMILIES, operators, protected_intact

REFERENCES = [
    "Answer the following multiple choice question.",
    "Classify the sentiment of the following review as negative or positive.",
    "Answer the following question with yes or no.",
    "Does the premise entail the hypothesis? Answer yes, no, or maybe.",
    "Pick the correct option: A, B, C or D.",
    "Read the passage below. Then answer the question.",
]
# Written instructions from every bank: operators must behave on text they were not tuned on.
BANK_TEXTS = sorted({t for k in ("mcqa", "classification", "yesno", "nli") for t in load_bank(k).instructions()})
TEXTS = st.sampled_from(REFERENCES + BANK_TEXTS)


@pytest.mark.parametrize("op_id", sorted(REGISTRY))
@settings(max_examples=40, deadline=None)
@given(text=TEXTS, seed=st.integers(0, 2**31 - 1))
def test_every_operator_is_deterministic_nonempty_and_keeps_label_words(op_id, text, seed):
    op = REGISTRY[op_id]
    protected = protected_words(text)
    first = op.apply(text, random.Random(seed), protected)
    second = op.apply(text, random.Random(seed), protected)
    assert first == second, "same seed, same edit"
    if first is not None:
        new, detail = first
        assert new.strip() and new != text and detail
        assert protected_intact(text, new, protected), f"{op_id} touched a protected word: {text!r} -> {new!r}"


def test_protected_words_cover_labels_alternatives_and_letters():
    assert {"negative", "positive"} <= protected_words(REFERENCES[1])
    assert {"yes", "no", "maybe"} <= protected_words(REFERENCES[3])
    assert {"a", "b", "c", "d"} <= protected_words(REFERENCES[4])
    assert "foo" in protected_words("Say foo.", extra=["Foo"])


def test_fifty_paraphrases_are_distinct_new_guarded_and_reproducible():
    ref = "Answer the following multiple choice question."
    ps = paraphrases(ref, n=50, seed=0, min_similarity=0.7)
    texts = [p.text for p in ps]
    assert len(ps) == 50 and len(set(t.strip() for t in texts)) == 50
    assert ref not in texts
    assert all(p.similarity is not None and p.similarity >= 0.7 for p in ps)
    assert all(p.edits and all(re.match(r"^\w+\.\w+: ", e) for e in p.edits) for p in ps)
    assert [p.text for p in paraphrases(ref, n=50, seed=0, min_similarity=0.7)] == texts
    assert [p.text for p in paraphrases(ref, n=50, seed=1, min_similarity=0.7)] != texts


def test_default_families_exclude_noise_and_noise_is_opt_in():
    assert "noise" not in DEFAULT_FAMILIES
    assert all(op.family != "noise" for op in operators())
    noisy = paraphrases("Answer the following multiple choice question.", n=5, seed=0, families=["noise"])
    assert len(noisy) == 5 and all(e.startswith("noise.") for p in noisy for e in p.edits)


def test_sentiment_paraphrases_never_lose_the_label_words():
    ref = REFERENCES[1]
    for p in paraphrases(ref, n=40, seed=3, families=["lexical", "syntactic", "framing", "formatting", "noise"]):
        low = re.findall(r"[a-z]+", p.text.lower())
        assert low.count("negative") == 1 and low.count("positive") == 1, p


def test_unknown_family_and_empty_reference_are_clear_errors():
    with pytest.raises(pc.InputError, match="families: unknown paraphrase family 'typo'"):
        paraphrases("Answer.", families=["typo"])
    with pytest.raises(pc.InputError, match="reference"):
        paraphrases("   ")


@pytest.mark.parametrize("kind", ["mcqa", "classification", "yesno", "nli"])
def test_banks_have_twenty_plus_distinct_phrasings_split_and_keep_labels(kind):
    bank = load_bank(kind)
    texts = bank.instructions()
    assert len(texts) >= 20 and bank.observed and bank.unobserved
    assert not set(bank.observed) & set(bank.unobserved)
    assert len({t.lower() for t in texts}) == len(texts) and bank.reference not in texts
    for t in texts:
        words = re.findall(r"[a-z]+", t.lower())
        assert all(label in words for label in bank.labels), t
