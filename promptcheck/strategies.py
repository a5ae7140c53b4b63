"""Hypothesis strategies for instructions and prompt formats, and settings for model tests.

Strategies shrink toward the reference: fewer edits, earlier operators, seed 0. So when a
``@given`` test fails, hypothesis reports the smallest edit of the reference that still breaks
the model, and its example database replays that instruction first on the next run.

>>> from hypothesis import given
>>> import promptcheck as pc
>>> @pc.strategies.model_test(seed=0)
... @given(instruction=pc.strategies.paraphrases_of("Answer the following question."))
... def test_never_flips(instruction): ...
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from hypothesis import HealthCheck, assume, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from promptcheck.paraphrase.banks import load_bank
from promptcheck.paraphrase.generate import Paraphrase, apply_edits, protected_words
from promptcheck.paraphrase.operators import operators
from promptcheck.prompts.rendering import PromptFormat

__all__ = ["MODEL_PROFILE", "formats", "instructions_for", "model_settings", "model_test", "paraphrases_of"]

F = TypeVar("F", bound=Callable[..., Any])

#: Settings profile for tests that call a model: a forward pass can take longer than
#: hypothesis's default 200 ms deadline, and each example costs real compute.
MODEL_PROFILE = "promptcheck"
settings.register_profile(
    MODEL_PROFILE,
    deadline=None,
    max_examples=25,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def model_settings(max_examples: int = 25) -> settings:
    """Settings for a model test: no deadline, bounded examples, slow-data checks off."""
    return settings(settings.get_profile(MODEL_PROFILE), max_examples=max_examples)


def model_test(seed: int = 0, max_examples: int = 25) -> Callable[[F], F]:
    """Decorator: :func:`model_settings` plus a fixed hypothesis seed.

    Put it above ``@given``. The same seed explores the same instructions on every run;
    a failure found earlier is still replayed first from the example database.
    """

    def wrap(fn: F) -> F:
        return hypothesis_seed(seed)(model_settings(max_examples)(fn))

    return wrap


def paraphrases_of(
    reference: str,
    *,
    families: Sequence[str] | None = None,
    max_edits: int = 3,
    protect: Iterable[str] = (),
) -> st.SearchStrategy[Paraphrase]:
    """Paraphrases of ``reference``: 1..max_edits operator edits, shrinking toward one edit.

    Each example is a :class:`~promptcheck.paraphrase.Paraphrase` (``.text``, ``.edits``);
    ``str(example)`` is the instruction text. Label and answer-format words are protected.
    """
    ops = operators(families)
    protected = protected_words(reference, protect)

    @st.composite
    def build(draw: st.DrawFn) -> Paraphrase:
        n = draw(st.integers(min_value=1, max_value=max(1, max_edits)), label="number of edits")
        steps = [
            (draw(st.sampled_from(ops), label="operator"), draw(st.integers(0, 2**16 - 1), label="seed"))
            for _ in range(n)
        ]
        p = apply_edits(reference, steps, protected)
        assume(p.edits and p.text.strip() != reference.strip())
        return p

    return build()


def instructions_for(task_kind: str, split: str = "all") -> st.SearchStrategy[str]:
    """Hand-written instructions from the bank for ``task_kind`` (mcqa, classification, yesno, nli).

    ``split``: ``observed``, ``unobserved`` or ``all``. Shrinks toward the bank's first entry.
    """
    bank = load_bank(task_kind)
    return st.sampled_from(bank.instructions(split))


_SEPARATORS = ["\n\n", "\n", " ", "\n\n\n", " -- ", "\n---\n"]
# Each list starts with the default, so formats() shrinks to DEFAULT_FORMAT (a test checks it).
_CHOICE_LABELS = ["{letter}. ", "({letter}) ", "{letter}) ", "{letter}: ", "[{letter}] ", "{letter} - "]
_ANSWER_CUES = ["\nAnswer:", "\nA:", "\nAnswer: ", "\nThe answer is", "\n\nAnswer:", " Answer:"]
_OPTION_PREFIXES = ["Options: ", "Choices: ", "Options:\n", "Possible answers: "]


def formats() -> st.SearchStrategy[PromptFormat]:
    """Prompt formats (separators, choice labels, answer cue), shrinking toward the default format."""
    return st.builds(
        PromptFormat,
        separator=st.sampled_from(_SEPARATORS),
        choice_label=st.sampled_from(_CHOICE_LABELS),
        answer_cue=st.sampled_from(_ANSWER_CUES),
        options_prefix=st.sampled_from(_OPTION_PREFIXES),
    )
