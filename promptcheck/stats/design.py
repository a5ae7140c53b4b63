"""Which instructions score which items: balanced incomplete items x instructions designs.

A gate need not score every item under every instruction. Scoring each item under ``per_item``
of the ``n_instructions`` instructions (the reference on every item) spends the prompts on more
phrasings instead of on the same phrasings again: :func:`promptcheck.stats.judge` takes the
result as a float matrix with NaN where a cell was not scored (:func:`mask_matrix`), and its
variance is that of the incomplete design (docs/statistics.md, "Incomplete designs").

:func:`balanced_design` is built for sequential looks, which judge the first k items: the
instructions are dealt to items from a stream of seeded permutations of all instructions, so
every prefix of the items covers the instructions evenly (counts within one of each other), and
the design for n items is the first n items of the design for more.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from promptcheck.errors import InputError
from promptcheck.options import instructions_per_item_problem


def _count(value: Any, field: str, what: str, *, least: int) -> int:
    """``value`` as an int >= ``least``, or a one-line InputError naming ``field``."""
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool) and int(value) >= least
    if not ok:
        raise InputError(f"{what} must be an integer >= {least}, got {value!r}", field=field)
    return int(value)


def _repair_head(perm: np.ndarray, forbidden: np.ndarray, head: int) -> np.ndarray:
    """Swap the ``forbidden`` instructions out of the first ``head`` places of ``perm``.

    The item that straddles two permutations takes the tail of one and the head of the next: its
    instructions are distinct when the next head avoids the previous tail. Swapping keeps ``perm``
    a permutation, so the counts stay balanced; ``head + len(forbidden) <= n_instructions``
    guarantees enough allowed instructions after the head.
    """
    perm = perm.copy()
    bad = np.flatnonzero(np.isin(perm[:head], forbidden))
    if bad.size:
        allowed = head + np.flatnonzero(~np.isin(perm[head:], forbidden))
        perm[bad], perm[allowed[: bad.size]] = perm[allowed[: bad.size]], perm[bad].copy()
    return perm


def _stream(n_cells: int, n_instructions: int, per_item: int, rng: np.random.Generator) -> np.ndarray:
    """The first ``n_cells`` instructions of the dealing stream (concatenated, repaired permutations)."""
    parts: list[np.ndarray] = []
    dealt = 0
    while dealt < n_cells:
        perm = rng.permutation(n_instructions)
        tail = dealt % per_item  # cells the straddling item already took from the previous permutation
        if parts and tail:
            perm = _repair_head(perm, parts[-1][n_instructions - tail :], per_item - tail)
        parts.append(perm)
        dealt += n_instructions
    return np.concatenate(parts)[:n_cells] if parts else np.zeros(0, dtype=np.int64)


def balanced_design(n_items: int, n_instructions: int, per_item: int, seed: int) -> np.ndarray:
    """A bool mask (instructions, items): item ``i`` is scored under the ``per_item`` instructions
    marked in column ``i``.

    Every item gets exactly ``per_item`` distinct instructions; every instruction gets
    ``n_items * per_item / n_instructions`` items, within one, and so does every prefix of the
    items (a sequential look judges the first k items). Items take consecutive cells of a stream
    of seeded permutations of the instructions, so the pairs of instructions that share an item
    vary from one permutation to the next (the design estimates how instructions co-vary). The
    stream depends on ``seed``, ``n_instructions`` and ``per_item`` only: the design for fewer
    items is a prefix of the design for more.

    >>> balanced_design(6, 4, 2, seed=0).sum(axis=0).tolist()
    [2, 2, 2, 2, 2, 2]
    """
    n = _count(n_items, "items", "the number of items", least=0)
    m = _count(n_instructions, "instructions", "the number of instructions", least=1)
    k = _count(per_item, "instructions_per_item", "instructions per item", least=1)
    if k > m:
        raise InputError(f"{k} instructions per item, but only {m} instructions", field="instructions_per_item")
    seed_int = _count(seed, "seed", "the seed", least=0)
    stream = _stream(n * k, m, k, np.random.default_rng([seed_int, m, k]))
    mask = np.zeros((m, n), dtype=bool)
    mask[stream, np.repeat(np.arange(n), k)] = True
    return mask


def mask_matrix(paraphrases: Any, mask: Any) -> np.ndarray:
    """``paraphrases`` (instructions, items; correct or not) as floats with NaN where ``mask`` is
    False: the form :func:`promptcheck.stats.judge` takes for an incomplete design."""
    para = np.asarray(paraphrases)
    keep = np.asarray(mask)
    if keep.dtype != bool or keep.shape != para.shape:
        raise InputError(
            f"mask must be a bool array of the paraphrases' shape {para.shape}, got {keep.dtype} {keep.shape}",
            field="mask",
        )
    return np.where(keep, para.astype(np.float64), np.nan)


@dataclass(frozen=True)
class Design:
    """An incomplete design as :func:`promptcheck.evaluate` applies it: every item is scored under
    the reference and ``instructions_per_item`` of the compared instructions, dealt by
    :func:`balanced_design` (seeded with ``seed``) over the items in the order they are given (a
    ``--limit`` sample's order, so a sample of 20 gets the first 20 columns of a sample of 40's).

    The compared instructions are those of ``kinds`` (default: :func:`promptcheck.stats.sets.compared_kinds`,
    the unobserved and generated ones, else the observed ones, as every verdict compares); any
    other instruction given to ``evaluate`` is scored on every item. ``start``: the design's
    columns from this item on (a later look of a sequential gate scores items ``start..``).

    >>> Design(3, seed=0).mask(["reference", "unobserved", "unobserved", "unobserved", "unobserved"], 4).sum(axis=0).tolist()
    [4, 4, 4, 4]
    """

    instructions_per_item: int
    seed: int = 0
    kinds: tuple[str, ...] | None = None
    start: int = 0

    def __post_init__(self) -> None:
        problem = instructions_per_item_problem(self.instructions_per_item)
        if problem:
            raise InputError(problem, field="instructions_per_item")
        _count(self.seed, "seed", "the seed", least=0)
        _count(self.start, "start", "the first item", least=0)

    def dealt(self, kinds: Sequence[str]) -> list[int]:
        """The rows (of instructions of these ``kinds``) the design deals to items: the compared ones."""
        from promptcheck.stats.sets import compared_kinds

        chosen = set(self.kinds) if self.kinds is not None else set(compared_kinds(kinds))
        return [j for j, kind in enumerate(kinds) if kind != "reference" and kind in chosen]

    def check(self, kinds: Sequence[str]) -> int:
        """The number of compared instructions, or a one-line error when it is below ``instructions_per_item``."""
        m = len(self.dealt(kinds))
        if self.instructions_per_item > m:
            raise InputError(
                f"{self.instructions_per_item} instructions per item, but only {m} compared instructions "
                f"({', '.join(sorted({k for k in kinds if k != 'reference'})) or 'none'} given)",
                field="instructions_per_item",
            )
        return m

    def mask(self, kinds: Sequence[str], n_items: int) -> np.ndarray:
        """Bool (instructions, items): which cells are scored. The reference and instructions that are
        not compared are scored on every item; the compared ones as :func:`balanced_design` deals them."""
        m = self.check(kinds)
        rows = self.dealt(kinds)
        out = np.ones((len(kinds), int(n_items)), dtype=bool)
        dealt = balanced_design(self.start + int(n_items), m, self.instructions_per_item, self.seed)
        out[rows] = dealt[:, self.start :]
        return out

    def describe(self, kinds: Sequence[str]) -> dict[str, Any]:
        """The results file's ``design`` block for instructions of these ``kinds``."""
        rows = self.dealt(kinds)
        return {
            "instructions_per_item": self.instructions_per_item,
            "seed": self.seed,
            "compared_instructions": len(rows),
            "kinds": sorted({kinds[j] for j in rows}),
        }
