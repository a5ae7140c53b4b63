"""``limit``: a seeded, stable, nested subset of a task's items.

Each item gets a rank from a hash of (seed, item id); a sample of N is the N items of lowest
rank, in rank order. So the sample depends only on the items' ids, the seed and N: the same
items under every instruction, in every run and with any instruction set; adding or removing
*other* items changes it only where they rank lower; and it nests (the first 100 items of a
200-item sample are the 100-item sample). Items stream through a heap of size N, so a large
file need not be held in memory as items.
"""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from promptcheck.errors import InputError
from promptcheck.tasks.records import Item, stable_item_id


def duplicate_id_error(item: Item, first: str, file: str | Path) -> InputError:
    """The one-line error for an item whose id (given, or derived from its text) came before at ``first``."""
    line = item.source.rsplit(":", 1)[-1]
    derived = item.id == stable_item_id(item.question, item.choices)
    return InputError(
        f"the same question and choices as the item at {first} (items without an id are told apart by their text)"
        if derived
        else f"duplicate item id {item.id!r} (first at {first})",
        file=file,
        line=int(line) if line.isdigit() else None,
        field="id",
    )


def item_rank(item_id: str, seed: int) -> bytes:
    """The sort key of an item in a sample (smaller = sampled first)."""
    return hashlib.sha256(f"{seed}\0{item_id}".encode("utf-8", "surrogatepass")).digest()


@dataclass(frozen=True)
class Collected:
    """The items kept and how many the source held."""

    items: list[Item]
    population: int
    #: Items dropped as exact repeats of an earlier one (``drop_repeats=True``).
    repeats: int = 0


def check_limit(
    limit: object, *, file: str | Path | None = None, line: int | None = None, field: str = "limit"
) -> int | None:
    """``None`` or a positive integer; anything else is a one-line error."""
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise InputError(f"must be a positive whole number of items, got {limit!r}", file=file, line=line, field=field)
    return limit


def collect(
    items: Iterable[Item], file: str | Path, *, limit: int | None = None, seed: int = 0, drop_repeats: bool = False
) -> Collected:
    """Check ids are unique over *every* item, and keep all of them (file order) or a sample of ``limit``.

    Duplicate ids are refused even when the duplicate would not be sampled: whether a file is
    valid must not depend on the limit. ``drop_repeats`` (for BIG-bench files, which have a few):
    an item identical to an earlier one in question, choices and answers is dropped and counted
    instead; same question and choices with *other* answers is still refused.
    """
    seen: dict[str, str] = {}
    answers: dict[str, tuple[tuple[int, ...], str, tuple[str, ...]]] = {}
    repeats = 0
    kept: list[Item] = []
    heap: list[tuple[bytes, int, Item]] = []
    n = 0
    first: Any = None
    for item in items:
        if first is None:
            first = item
        elif type(item) is not type(first):
            raise _mixed_kinds(item, first)
        if drop_repeats and item.id in seen and answers.get(item.id) == (item.answers, item.question, item.choices):
            repeats += 1
            continue
        if item.id in seen:
            raise duplicate_id_error(item, seen[item.id], file)
        seen[item.id] = item.source
        if drop_repeats:
            answers[item.id] = (item.answers, item.question, item.choices)
        n += 1
        if limit is None:
            kept.append(item)
            continue
        # heapq is a min-heap: store the bitwise complement of the rank so the root is the largest rank.
        key = bytes(255 - b for b in item_rank(item.id, seed))
        if len(heap) < limit:
            heapq.heappush(heap, (key, n, item))
        elif key > heap[0][0]:
            heapq.heapreplace(heap, (key, n, item))
    if limit is not None:
        kept = [item for _, _, item in sorted(heap, key=lambda e: e[0], reverse=True)]
    return Collected(kept, n, repeats)


def _mixed_kinds(item: Any, first: Any) -> InputError:
    """One task, one kind of item: a free-form item among multiple-choice ones is a mistake in the data."""

    def kind(it: Any) -> str:
        return "multiple-choice (it has choices)" if it.choices else "free-form (targets, no choices)"

    file, _, line = item.source.rpartition(":")
    at = int(line) if line.isdigit() else None
    return InputError(
        f"this item is {kind(item)}, but the first item ({first.source}) is {kind(first)}; "
        "a task's items are all of one kind: put each kind in its own file",
        file=file if at is not None else item.source,
        line=at,
        field="choices" if item.choices else "targets",
    )


def sample(items: Iterable[Item], limit: int | None, seed: int = 0) -> list[Item]:
    """The ``limit`` items of lowest rank, in rank order (all items, in their order, for ``None``)."""
    items = list(items)
    if limit is None:
        return items
    return sorted(items, key=lambda it: item_rank(it.id, seed))[:limit]
