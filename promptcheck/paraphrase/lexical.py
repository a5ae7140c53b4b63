"""nlpaug-backed edits: WordNet synonyms and character noise, made deterministic.

nlpaug draws from the global ``random`` (and numpy) state; every call here seeds both from the
operator's own ``random.Random`` and restores them afterwards, so a paraphrase depends only on
its seed and the caller's random state is left alone.
"""

from __future__ import annotations

import contextlib
import random
import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from promptcheck.paraphrase.edits import EditResult, protected_intact

#: Words SynonymAug must leave alone besides the protected ones: function words and the
#: answer-format vocabulary ("option", "letter") that small models key on.
_KEEP = (
    "the",
    "a",
    "an",
    "this",
    "that",
    "of",
    "or",
    "and",
    "as",
    "to",
    "with",
    "is",
    "are",
    "be",
    "it",
    "its",
    "your",
    "you",
    "one",
    "following",
    "below",
    "option",
    "options",
    "letter",
    "only",
    # fixed phrases ("multiple choice") and verbs whose synonyms change the grammar ("reply to")
    "multiple",
    "choice",
    "answer",
    "classify",
    "true",
    "false",
)


@contextlib.contextmanager
def _seeded(seed: int) -> Iterator[None]:
    import numpy as np

    state, np_state = random.getstate(), np.random.get_state()
    random.seed(seed)
    np.random.seed(seed % (2**32))
    try:
        yield
    finally:
        random.setstate(state)
        np.random.set_state(np_state)


def _casings(words: set[str] | frozenset[str]) -> tuple[str, ...]:
    """nlpaug compares stopwords case-sensitively: every casing a protected word may appear in."""
    return tuple(sorted({v for w in words for v in (w, w.capitalize(), w.upper())}))


@lru_cache(maxsize=32)
def _synonym_aug(stopwords: tuple[str, ...]) -> Any:
    from promptcheck.paraphrase.nltk_data import activate

    activate()
    import nlpaug.augmenter.word as naw

    return naw.SynonymAug(aug_src="wordnet", aug_min=1, aug_max=1, stopwords=list(stopwords))


@lru_cache(maxsize=4096)
def _close_synonyms(word: str) -> frozenset[str]:
    """Lemmas of the word's two most common senses that are attested in WordNet's sense counts.

    SynonymAug draws from every sense ("question" -> "head"); keeping only common senses and
    lemmas seen in the tagged corpus (count >= 1) drops the rare and the wrong ones.
    """
    from nltk.corpus import wordnet as wn

    out: set[str] = set()
    for synset in wn.synsets(word)[:2]:
        out.update(lemma.name().replace("_", " ").lower() for lemma in synset.lemmas() if lemma.count() >= 1)
    out.discard(word)
    return frozenset(out)


def _one_word_change(before: str, after: str) -> tuple[str, str] | None:
    a, b = before.split(), after.split()
    if len(a) != len(b):
        return None
    diffs = [(x, y) for x, y in zip(a, b) if x != y]
    if len(diffs) != 1:
        return None
    return diffs[0]


def wordnet_substitute(text: str, rng: random.Random, protected: frozenset[str], tries: int = 6) -> EditResult:
    """One WordNet synonym swap that stays within the word's common senses, or None."""
    aug = _synonym_aug(_casings(set(protected) | set(_KEEP)))
    for _ in range(tries):
        with _seeded(rng.randrange(2**31)):
            out = aug.augment(text)
        new = out[0] if isinstance(out, list) else out
        if not isinstance(new, str) or new == text:
            continue
        change = _one_word_change(text, new)
        if change is None:
            continue
        old_w, new_w = (re.sub(r"[^\w' -]", "", w) for w in change)
        if new_w.lower().replace("_", " ") not in _close_synonyms(old_w.lower()):
            continue
        if protected_intact(text, new, protected):
            return new.replace("_", " "), f"'{old_w}' -> '{new_w.replace('_', ' ')}'"
    return None


@lru_cache(maxsize=64)
def _char_aug(kind: str, stopwords: tuple[str, ...]) -> Any:
    import nlpaug.augmenter.char as nac

    common = dict(aug_char_min=1, aug_char_max=1, aug_word_min=1, aug_word_max=1, stopwords=list(stopwords))
    if kind == "keyboard":
        return nac.KeyboardAug(include_special_char=False, include_numeric=False, **common)
    return nac.OcrAug(**common)


def char_noise(text: str, rng: random.Random, protected: frozenset[str], *, kind: str) -> EditResult:
    """One character typo in one unprotected word."""
    aug = _char_aug(kind, _casings(protected))
    with _seeded(rng.randrange(2**31)):
        out = aug.augment(text)
    new = out[0] if isinstance(out, list) else out
    if not isinstance(new, str) or not protected_intact(text, new, protected):
        return None
    change = _one_word_change(text, new)
    detail = f"'{change[0]}' -> '{change[1]}'" if change else "typo"
    return new, f"{kind} typo {detail}"
