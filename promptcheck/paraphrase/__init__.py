"""Paraphrase generation: operators, written banks, the equivalence guard (never the model under test)."""

from promptcheck.paraphrase.banks import Bank, load_bank
from promptcheck.paraphrase.generate import Paraphrase, apply_edits, paraphrases, protected_words
from promptcheck.paraphrase.operators import DEFAULT_FAMILIES, FAMILIES, REGISTRY, Operator, operators

__all__ = [
    "DEFAULT_FAMILIES",
    "FAMILIES",
    "REGISTRY",
    "Bank",
    "Operator",
    "Paraphrase",
    "apply_edits",
    "load_bank",
    "operators",
    "paraphrases",
    "protected_words",
]
