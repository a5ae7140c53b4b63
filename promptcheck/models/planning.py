"""Planning a score() call, without torch: which token sequences to run, in which passes.

A request (prompts, each with K answer continuations) becomes *units*, one per distinct model
input, each carrying the continuation *spans* read from its logits. Units go into batches by
length within a row and token budget; for causal models, the units of one prompt that share a
context form a *group* whose context can run once (the two-stage pass in :mod:`.hf`).

Token boundaries come from tokenizing context and continuation *together* and splitting at
their longest common prefix with the context alone: after a chat template the answer token
is often "A", not " A", and BPE merges across the boundary are common.

Everything here is plain Python on token ids, so the plan can be read and tested without a model
(like lm-evaluation-harness's ``Collator``, which sorts and groups requests before any forward pass).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from promptcheck.errors import ScoringError
from promptcheck.prompts.rendering import Prompt

#: ``encode(text, special)``: token ids of ``text``, with the tokenizer's special tokens when ``special``.
Encode = Callable[[str, bool], list[int]]


@dataclass
class Span:
    """Tokens of one continuation to score inside a unit (one model input)."""

    prompt: int
    choice: int
    start: int  # position whose logits predict targets[0]
    targets: tuple[int, ...]


@dataclass
class Unit:
    """One distinct model input and the continuation spans read from it."""

    ids: tuple[int, ...]  # causal: the sequence; seq2seq: encoder input
    decoder_ids: tuple[int, ...] = ()  # seq2seq only
    spans: list[Span] = field(default_factory=list)


@dataclass
class Group:
    """One prompt's units (one per answer choice) and the context length they share."""

    units: list[Unit]
    context: int


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    """Length of the longest common prefix of two token sequences."""
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def _too_long(p: int, tokens: int, max_length: int) -> ScoringError:
    return ScoringError(
        f"prompt is {tokens} tokens, longer than the model's context ({max_length})", field=f"prompt {p}"
    )


def causal_units(
    prompts: Sequence[Prompt], encode: Encode, *, special: bool, bos: int | None, max_length: int | None
) -> list[Unit]:
    """Units of a decoder-only model: ``context + continuation`` in one sequence.

    ``special`` is False after a chat template (its text already holds the special tokens).
    When every choice of a prompt is one token after the same context (answer letters), one
    unit holds them all: one forward pass scores every choice.
    """
    units: dict[tuple[int, ...], Unit] = {}
    for p, prompt in enumerate(prompts):
        ctx = encode(prompt.context, special)
        split: list[tuple[tuple[int, ...], tuple[int, ...]]] = []
        for k, cont in enumerate(prompt.continuations):
            whole = encode(prompt.context + cont, special)
            cut = common_prefix(ctx, whole)
            if cut == len(whole):
                raise ScoringError(f"choice {k} ({cont!r}) adds no tokens after the prompt", field=f"prompt {p}")
            before = whole[:cut]
            if not before:
                if bos is None:
                    raise ScoringError("empty prompt and the tokenizer has no BOS token", field=f"prompt {p}")
                before = [bos]
            split.append((tuple(before), tuple(whole[cut:])))
        if max_length is not None:
            longest = max(len(h) + len(t) for h, t in split)
            if longest > max_length:
                raise _too_long(p, longest, max_length)
        heads = {h for h, _ in split}
        if len(heads) == 1 and all(len(t) == 1 for _, t in split):
            # All choices are one token after the same context: one forward pass.
            head = split[0][0]
            unit = units.setdefault(head, Unit(ids=head))
            for k, (_, tail) in enumerate(split):
                unit.spans.append(Span(p, k, len(head) - 1, tail))
            continue
        for k, (head, tail) in enumerate(split):
            seq = head + tail[:-1]
            unit = units.setdefault(seq, Unit(ids=seq))
            unit.spans.append(Span(p, k, len(head) - 1, tail))
    return list(units.values())


def seq2seq_units(
    prompts: Sequence[Prompt], encode: Encode, *, decoder_start: int, max_length: int | None
) -> list[Unit]:
    """Units of an encoder-decoder model: the context is encoded, the continuation decoded."""
    units: dict[tuple[tuple[int, ...], tuple[int, ...]], Unit] = {}
    for p, prompt in enumerate(prompts):
        enc = tuple(encode(prompt.context, True))
        targets = [tuple(encode(c.strip(), False)) for c in prompt.continuations]
        for k, t in enumerate(targets):
            if not t:
                raise ScoringError(f"choice {k} has no tokens", field=f"prompt {p}")
        if max_length is not None and len(enc) > max_length:
            raise _too_long(p, len(enc), max_length)
        if all(len(t) == 1 for t in targets):
            unit = units.setdefault((enc, (decoder_start,)), Unit(ids=enc, decoder_ids=(decoder_start,)))
            for k, t in enumerate(targets):
                unit.spans.append(Span(p, k, 0, t))
            continue
        for k, t in enumerate(targets):
            dec = (decoder_start,) + t[:-1]
            unit = units.setdefault((enc, dec), Unit(ids=enc, decoder_ids=dec))
            unit.spans.append(Span(p, k, 0, t))
    return list(units.values())


def batches(units: list[Unit], *, batch_size: int, batch_tokens: int) -> list[list[Unit]]:
    """Group units of similar length, longest first, within ``batch_size`` rows and ``batch_tokens`` padded tokens."""
    order = sorted(units, key=lambda u: len(u.ids) + len(u.decoder_ids), reverse=True)
    out: list[list[Unit]] = []
    current: list[Unit] = []
    for unit in order:
        if current and (
            len(current) >= batch_size
            or (len(current) + 1) * (len(current[0].ids) + len(current[0].decoder_ids)) > batch_tokens
        ):
            out.append(current)
            current = []
        current.append(unit)
    if current:
        out.append(current)
    return out


def shared_prefix_length(units: list[Unit]) -> int:
    """Tokens every unit starts with that no span reads (so their logits need not be recomputed)."""
    first = units[0].ids
    return min(min(common_prefix(first, u.ids) for u in units[1:]), min(span.start for u in units for span in u.spans))


def context_groups(units: list[Unit], offset: int) -> tuple[list[Group], list[Unit]]:
    """Units grouped by prompt, with the context length they share beyond ``offset``.

    Only prompts with several units and at least one shared token past the call's prefix
    gain from a second stage; the others stay on the one-stage path.
    """
    by_prompt: dict[int, list[Unit]] = {}
    for unit in units:
        by_prompt.setdefault(unit.spans[0].prompt, []).append(unit)
    groups: list[Group] = []
    rest: list[Unit] = []
    for members in by_prompt.values():
        first = members[0].ids
        length = min(
            min(common_prefix(first, u.ids) for u in members), min(span.start for u in members for span in u.spans)
        )
        if len(members) >= 2 and length > offset:
            groups.append(Group(units=members, context=length))
        else:
            rest.extend(members)
    return groups, rest


def group_batches(groups: list[Group], *, batch_size: int, batch_tokens: int) -> list[list[Group]]:
    """Batches of prompts: at most ``batch_size`` contexts and ``4 * batch_size`` continuations."""
    order = sorted(groups, key=lambda g: max(len(u.ids) for u in g.units), reverse=True)
    out: list[list[Group]] = []
    current: list[Group] = []
    rows = 0
    for group in order:
        width = max(len(u.ids) for u in (current[0].units if current else group.units))
        if current and (
            len(current) >= batch_size
            or rows + len(group.units) > 4 * batch_size
            or (rows + len(group.units)) * width > 2 * batch_tokens
        ):
            out.append(current)
            current, rows = [], 0
        current.append(group)
        rows += len(group.units)
    if current:
        out.append(current)
    return out
