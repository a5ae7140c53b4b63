"""What every paraphrase edit shares: its signature and the protected-word check.

Kept apart from the operator registry (``operators.py``) so the nlpaug-backed edits
(``lexical.py``) and the registry that lists them each import this, not each other.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable

#: An edit's result: the new text and a short description of the change, or None (does not apply).
EditResult = tuple[str, str] | None
EditFn = Callable[[str, random.Random, frozenset[str]], EditResult]

WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")


def words_of(text: str) -> list[str]:
    return [w.lower() for w in WORD.findall(text)]


def protected_intact(before: str, after: str, protected: frozenset[str]) -> bool:
    """Every protected word keeps its count, as a whole word, ignoring case."""
    if not protected:
        return True
    b, a = words_of(before), words_of(after)
    return all(b.count(p) == a.count(p) for p in protected)
