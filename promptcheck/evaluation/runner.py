"""``evaluate``: schedule a task's instructions x items through a scorer.

All prompts of a task are sent to the scorer in one call per instruction, so the backend
can batch by length across items; progress is reported per prompt.
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol, cast

import numpy as np

from promptcheck.errors import InputError, ScoringError
from promptcheck.evaluation.results import InstructionResult, TaskResult
from promptcheck.models.base import ChoiceScores, CountsTokens, Generates, GenerationRequest, Scorer, capability
from promptcheck.prompts.rendering import DEFAULT_FORMAT, Prompt, PromptFormat, render
from promptcheck.tasks.matching import Match, match
from promptcheck.tasks.records import INSTRUCTION_KINDS, Instruction, MCItem, Task


def as_instructions(task: Task, instructions: Iterable[Instruction | str] | None) -> list[Instruction]:
    """The caller's instructions as :class:`Instruction` records, as :func:`evaluate` scores them.

    Strings and paraphrase records (anything with ``.text``) are accepted; the reference always
    comes first (it is the baseline) and a repeated text is kept once. ``assert_robust`` uses it
    to know the instruction set before scoring.
    """
    if instructions is None:
        return task.instructions()
    out: list[Instruction] = []
    for i, ins in enumerate(instructions):
        if isinstance(ins, str):
            ins = Instruction(ins, "reference" if ins == task.reference_instruction else "generated")
        elif not isinstance(ins, Instruction):
            # Paraphrase records and similar: anything with .text (and maybe .kind / .edits).
            text = getattr(ins, "text", None)
            if not isinstance(text, str):
                raise InputError(f"instruction {i} is neither a string nor has a .text", field="instructions")
            ins = Instruction(text, getattr(ins, "kind", "generated"), tuple(getattr(ins, "edits", ())))
        if ins.kind not in INSTRUCTION_KINDS:
            raise InputError(f"unknown instruction kind {ins.kind!r}", field=f"instructions[{i}]")
        if not ins.text.strip():
            raise InputError("empty instruction", field=f"instructions[{i}]")
        out.append(ins)
    if not any(ins.kind == "reference" for ins in out):
        out.insert(0, Instruction(task.reference_instruction, "reference"))
    seen: set[str] = set()
    unique = []
    for ins in out:  # a repeated text would be counted twice in every statistic
        if ins.text not in seen:
            seen.add(ins.text)
            unique.append(ins)
    return unique


class Assignment(Protocol):
    """Which cells an incomplete design scores (:class:`promptcheck.stats.design.Design` is one):
    ``mask`` gives bool (instructions, items) for instructions of these kinds, ``describe`` the
    record the results file keeps."""

    def mask(self, kinds: Sequence[str], n_items: int) -> Any: ...

    def describe(self, kinds: Sequence[str]) -> dict[str, Any]: ...


def _predict(scores: ChoiceScores, how: str, n_choices: int) -> int:
    values = scores.normalised(how)[:n_choices]
    best = max(values)
    return values.index(best)  # ties go to the first choice: deterministic


def evaluate(
    model: Scorer,
    task: Task,
    instructions: Iterable[Instruction | str] | None = None,
    *,
    progress: Callable[[int], None] | None = None,
    prompt_format: PromptFormat = DEFAULT_FORMAT,
    too_long: str = "fail",
    design: Assignment | None = None,
) -> TaskResult:
    """Score ``task`` under each instruction and return per-instruction accuracies and evidence.

    ``instructions`` defaults to the task's reference plus its observed and unobserved sets;
    plain strings are taken as generated instructions. The reference instruction is always
    included, since every drop is measured against it.

    ``design``: an incomplete design (:class:`promptcheck.stats.design.Design`): the reference
    scores every item, each compared instruction only the items the design deals it (over the
    items in task order, after ``too_long="skip"``); a cell not scored is ``None``
    (:mod:`promptcheck.evaluation.results`). ``None``: every item under every instruction.

    ``too_long``: a prompt longer than the model's context either stops the evaluation with
    an error naming the item (``"fail"``, the default) or drops that item under *every*
    instruction, so accuracies stay paired, with a warning that counts them (``"skip"``; the
    ids are in ``TaskResult.skipped_items``).

    >>> result = evaluate(load_model("default"), load_task("examples/suites/sentiment.yaml"))  # doctest: +SKIP
    >>> result.reference_accuracy  # doctest: +SKIP
    """
    chosen = as_instructions(task, instructions)
    formatter = model.chat_formatter()
    started = time.perf_counter()
    check_too_long(too_long)
    skipped: tuple[str, ...] = ()
    if too_long == "skip":
        task, skipped = _without_long_items(model, task, chosen, formatter, prompt_format)
    kinds = [ins.kind for ins in chosen]
    n = len(task.items)
    mask = np.ones((len(chosen), n), dtype=bool) if design is None else np.asarray(design.mask(kinds, n), dtype=bool)
    described = None if design is None else dict(design.describe(kinds))
    write = _generate if task.generative else _score
    results, scored = write(model, task, chosen, formatter, prompt_format, progress, mask)
    return TaskResult(
        task=task,
        model=model.identity,
        instructions=tuple(results),
        prompts_scored=scored,
        seconds=time.perf_counter() - started,
        skipped_items=skipped,
        design=described,
    )


def _score(
    model: Scorer,
    task: Task,
    chosen: list[Instruction],
    formatter: Callable[..., str] | None,
    prompt_format: PromptFormat,
    progress: Callable[[int], None] | None,
    mask: np.ndarray,
) -> tuple[list[InstructionResult], int]:
    """A multiple-choice task: each instruction's prompts (the items its row of ``mask`` holds) in
    one ``score`` call, so the backend batches by length across items."""
    n = len(task.items)
    results = []
    scored = 0
    for ins, row in zip(chosen, mask):
        cells = [int(i) for i in np.flatnonzero(row)]  # the items this instruction scores
        prompts: Sequence[Prompt] = [
            render(ins.text, task.items[i], task, chat_formatter=formatter, prompt_format=prompt_format) for i in cells
        ]
        try:
            scores = model.score(prompts, progress=progress) if prompts else []
        except ScoringError as exc:
            if exc.field and exc.field.startswith("prompt "):
                index = cells[int(exc.field.split()[1])]
                item = task.items[index]
                exc.file, exc.line, exc.field = task.source or task.name, None, f"item {item.id} ({item.source})"
            raise
        preds: list[int | None] = [None] * n
        correct: list[bool | None] = [None] * n
        logprobs: list[tuple[float, ...] | None] = [None] * n
        for i, s in zip(cells, scores):
            item = cast(MCItem, task.items[i])
            preds[i] = p = _predict(s, task.length_norm, len(item.choices))
            correct[i] = item.is_correct(p)
            logprobs[i] = s.logprobs
        results.append(
            InstructionResult(
                instruction=ins, predictions=tuple(preds), correct=tuple(correct), logprobs=tuple(logprobs)
            )
        )
        scored += len(prompts)
    return results, scored


def _generate(
    model: Scorer,
    task: Task,
    chosen: list[Instruction],
    formatter: Callable[..., str] | None,
    prompt_format: PromptFormat,
    progress: Callable[[int], None] | None,
    mask: np.ndarray,
) -> tuple[list[InstructionResult], int]:
    """A free-form task: the model writes each answer (greedy), the task's matching reads it.

    The prompt is rendered exactly as a multiple-choice one would be (no choices listed, the same
    answer cue or chat template), so scoring and generating read the same text. Each item's
    ``predictions`` under an instruction is a code of its normalised extracted answer (-1: none
    read), the same code for the same answer under every instruction, so consistency and flips
    count the same answers as a multiple-choice task's choices. Cells ``mask`` leaves out are
    not written (``None`` everywhere).
    """
    writer = capability(model, Generates)
    if writer is None:
        raise InputError(
            f"task {task.name!r} has free-form items: the model must write its answers, and this backend "
            f"({type(model).__name__}) cannot generate",
            field="model",
        )
    assert task.generation is not None
    settings, spec = task.generation, task.match_spec()
    written: list[list[Match | None]] = []
    texts: list[list[str | None]] = []
    n = len(task.items)
    for ins, row in zip(chosen, mask):
        cells = [int(i) for i in np.flatnonzero(row)]
        requests = [
            GenerationRequest(
                render(ins.text, task.items[i], task, chat_formatter=formatter, prompt_format=prompt_format).context,
                settings.max_new_tokens,
                settings.stop,
            )
            for i in cells
        ]
        got = [g.text for g in writer.generate(requests, progress=progress)] if requests else []
        outputs: list[str | None] = [None] * n
        matches: list[Match | None] = [None] * n
        for i, text in zip(cells, got):
            outputs[i] = text
            matches[i] = match(text, task.items[i].targets, spec)  # type: ignore[union-attr]
        texts.append(outputs)
        written.append(matches)
    codes: list[dict[str, int]] = [{} for _ in task.items]
    results = []
    for ins, outputs, found in zip(chosen, texts, written):
        preds = tuple(
            None if m is None else (-1 if m.normalised is None else seen.setdefault(m.normalised, len(seen)))
            for m, seen in zip(found, codes)
        )
        results.append(
            InstructionResult(
                instruction=ins,
                predictions=preds,
                correct=tuple(None if m is None else m.outcome == "correct" for m in found),
                logprobs=tuple(None if m is None else () for m in found),
                outputs=tuple(outputs),
                extracted=tuple(None if m is None else m.extracted for m in found),
                outcomes=tuple(None if m is None else m.outcome for m in found),
            )
        )
    return results, int(mask.sum())


#: What ``evaluate(too_long=...)`` accepts.
TOO_LONG = ("fail", "skip")


def check_too_long(value: str) -> None:
    """The one check of a ``too_long`` value (the CLI calls it before loading a model)."""
    if value not in TOO_LONG:
        raise InputError(f"must be one of {', '.join(TOO_LONG)}, got {value!r}", field="too_long")


def _without_long_items(
    model: Scorer,
    task: Task,
    chosen: list[Instruction],
    formatter: Callable[[str], str] | None,
    prompt_format: PromptFormat,
) -> tuple[Task, tuple[str, ...]]:
    """The task without items whose prompt exceeds the model's context under any instruction."""
    counter = capability(model, CountsTokens)
    limit = counter.max_length if counter is not None else None
    if counter is None or not limit:
        return task, ()  # a backend that cannot count tokens reports long prompts itself
    long_items: set[int] = set()
    for ins in chosen:
        prompts = [
            render(ins.text, item, task, chat_formatter=formatter, prompt_format=prompt_format) for item in task.items
        ]
        long_items |= {i for i, n in enumerate(counter.prompt_lengths(prompts)) if n > limit}
    if not long_items:
        return task, ()
    kept = tuple(item for i, item in enumerate(task.items) if i not in long_items)
    ids = tuple(task.items[i].id for i in sorted(long_items))
    if not kept:
        raise InputError(
            f"every item is longer than the model's context ({limit} tokens)",
            file=task.source or task.name,
            field="items",
        )
    shown = ", ".join(ids[:5]) + (", ..." if len(ids) > 5 else "")
    warnings.warn(
        f"{task.name}: skipped {len(ids)} of {len(task.items)} items longer than the model's context "
        f"({limit} tokens): {shown}",
        RuntimeWarning,
        stacklevel=3,
    )
    return dataclasses.replace(task, items=kept), ids
