"""``paraphrases()``: n distinct, guarded rephrasings of an instruction, each with its edit list.

A paraphrase is the reference with a short sequence of operator edits applied. Everything
random flows from one ``random.Random(seed)``, so the same seed gives the same list on any
machine (given the same WordNet data).
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from promptcheck.errors import InputError
from promptcheck.paraphrase.operators import Operator, operators, protected_intact
from promptcheck.tasks.records import INPUT_SLOT

#: Words that name an answer space; an instruction that contains one depends on it verbatim.
LABEL_WORDS = frozenset(
    {
        "positive",
        "negative",
        "neutral",
        "yes",
        "no",
        "maybe",
        "true",
        "false",
        "entailment",
        "contradiction",
        "entail",
        "entails",
        "contradict",
        "contradicts",
    }
)


@dataclass(frozen=True)
class Paraphrase:
    """A generated instruction: its text, the edits that made it, and where it came from.

    ``str(p)`` is the text, so a paraphrase can go wherever an instruction string goes.
    """

    text: str
    edits: tuple[str, ...]
    reference: str
    similarity: float | None = field(default=None, compare=False)
    kind: str = "generated"

    def __str__(self) -> str:
        return self.text

    def to_json(self) -> dict:
        return {"text": self.text, "edits": list(self.edits), "similarity": self.similarity}


def protected_words(text: str, extra: Iterable[str] = ()) -> frozenset[str]:
    """Words an edit must not touch: label words, "X or Y" alternatives, answer letters, and ``extra``."""
    words = {w.lower() for w in re.findall(r"[A-Za-z]+", text)}
    out = {w for w in words if w in LABEL_WORDS}
    for a, b in re.findall(r"\b(\w+),? or (\w+)\b", text):
        out.update({a.lower(), b.lower()})
    letters = re.findall(r"\b([A-H])\b(?=\s*(?:,|or\b|and\b|\)|\.|$))", text)
    if len(letters) >= 2:
        out.update(x.lower() for x in letters)
    out.update(w.lower() for w in extra)
    return frozenset(out)


def _norm(text: str) -> str:
    # Distinct means a distinct string once outer whitespace is ignored: a trailing space alone
    # is not a paraphrase a reader could tell apart.
    return text.strip()


def apply_edits(reference: str, steps: Sequence[tuple[Operator, int]], protected: frozenset[str]) -> Paraphrase:
    """Apply (operator, seed) steps in order; steps that do not apply are skipped."""
    text, edits = reference, []
    for op, seed in steps:
        res = op.apply(text, random.Random(seed), protected)
        if res is None:
            continue
        new, detail = res
        if not protected_intact(text, new, protected):
            continue
        text = new
        edits.append(f"{op.id}: {detail}")
    return Paraphrase(text=text, edits=tuple(edits), reference=reference)


def paraphrases(
    reference: str,
    n: int = 10,
    *,
    seed: int = 0,
    families: Sequence[str] | None = None,
    max_edits: int = 2,
    protect: Iterable[str] = (),
    min_similarity: float | None = None,
) -> list[Paraphrase]:
    """``n`` distinct paraphrases of ``reference`` with their edit sequences.

    ``families`` picks operator families (default: lexical, syntactic, framing, formatting;
    ``noise`` is opt-in). Label and answer-format words are protected automatically
    (``protect`` adds more). ``min_similarity`` turns on the embedding guard: paraphrases whose
    cosine similarity to the reference (all-MiniLM-L6-v2) is below it are rejected.

    >>> [p.text for p in paraphrases("Answer the following question.", n=2, seed=0)]  # doctest: +SKIP
    """
    if not isinstance(reference, str) or not reference.strip():
        raise InputError("the reference instruction is empty", field="reference")
    if n < 0:
        raise InputError("must be >= 0", field="n")
    if min_similarity is not None and not -1.0 <= min_similarity <= 1.0:  # also refuses NaN
        # A cosine similarity above 1 would reject every paraphrase and print an empty list.
        raise InputError(f"must be a cosine similarity between -1 and 1, got {min_similarity}", field="min_similarity")
    ops = operators(families)
    protected = protected_words(reference, protect)
    rng = random.Random(seed)
    seen = {_norm(reference)}
    out: list[Paraphrase] = []
    embedder = None
    if min_similarity is not None:
        from promptcheck.paraphrase.guard import Embedder

        embedder = Embedder.shared()
    ks = [x for x in (1, 1, 2, 2, 3) if x <= max_edits] or [1]
    attempts = 0
    while len(out) < n and attempts < 200 + 100 * n:
        attempts += 1
        k = rng.choice(ks)
        chosen = rng.sample(ops, k=min(k, len(ops)))
        p = apply_edits(reference, [(op, rng.randrange(2**31)) for op in chosen], protected)
        key = _norm(p.text)
        if not p.edits or key in seen or p.text.count(INPUT_SLOT) != reference.count(INPUT_SLOT):
            continue  # an edit that broke or moved the input slot is not a paraphrase
        if embedder is not None:
            sim = embedder.similarity(reference, p.text)
            if sim < min_similarity:  # type: ignore[operator]
                continue
            p = Paraphrase(p.text, p.edits, p.reference, similarity=sim)
        seen.add(key)
        out.append(p)
    return out
