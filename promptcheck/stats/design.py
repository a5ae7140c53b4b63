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
from typing import Any

import numpy as np

from promptcheck.errors import InputError


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
