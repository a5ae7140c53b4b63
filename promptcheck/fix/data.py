"""What ``fix`` trains and checks on: per task, a seeded split of items and of instructions.

Held out means held out twice: the report's held-out figures use items *and* instructions
that training never saw, so a gain cannot come from memorised answers. Model selection uses a
third split (validation items and instructions), so the held-out figures are never tuned on.
"""

from __future__ import annotations

import dataclasses
import random
import warnings
from dataclasses import dataclass
from typing import cast

from promptcheck.errors import InputError
from promptcheck.fix.config import FixConfig
from promptcheck.models.base import Generation
from promptcheck.tasks.records import GenItem, Item, MCItem, Task

#: At most this many training phrasings score the validation split when none can be held out.
IN_SAMPLE_INSTRUCTIONS = 6
#: A task with more items and no ``--limit`` is fixed on a seeded sample of this many (:func:`_capped`).
MAX_ITEMS = 500


@dataclass(frozen=True)
class FixTask:
    task: Task
    train_items: tuple[Item, ...]  # items the soft prompt trains on
    heldout_items: tuple[Item, ...]  # the report's items: never trained on, never used for selection
    train_instructions: tuple[str, ...]  # the phrasing pool minus the validation ones
    heldout_instructions: tuple[str, ...]  # unobserved: never trained on, never used for selection
    val_items: tuple[Item, ...] = ()  # model selection: checkpoint and hyper-parameters
    val_instructions: tuple[str, ...] = ()
    train_sources: tuple[str, ...] = ()  # where each training instruction came from (phrasings.SOURCES)
    in_sample: tuple[str, ...] = ()  # "items" / "instructions": validation reuses training ones (too few to split)
    heldout_source: str = "task"  # "task": its own unobserved instructions; "bank:<kind>": the written bank's
    #: A free-form task: per training item (same order), the base model's greedy answer under the
    #: reference instruction, the path the KL term reads (fix.train.with_reference_answers); empty before.
    reference_answers: tuple[Generation, ...] = ()


def stratified_order(items: list[MCItem], rng: random.Random) -> list[MCItem]:
    """``items`` shuffled so that every prefix holds each answer in about its share of the task.

    Each answer (the item's set of correct choices) keeps its own shuffled order; an item's
    place is its rank within its answer spread over ``[0, 1)`` (``(rank + u) / count``, ``u``
    seeded), so cutting the list anywhere splits every answer in proportion. A plain shuffle
    put 7 "no" and 3 "yes" in yes/no's training items and 11 "yes" of 16 in its held-out ones
    (seed 0): cross-entropy on those 10 items taught the soft prompt to say "no", and the
    reference's held-out accuracy fell 19 points (docs/fix.md). scikit-learn's stratified
    splitters do this too, but it is an optional dependency and this is one sort.
    """
    by_answer: dict[tuple[int, ...], list[MCItem]] = {}
    for item in items:
        by_answer.setdefault(item.answers, []).append(item)
    keyed = []
    for group in by_answer.values():
        rng.shuffle(group)
        keyed += [((rank + rng.random()) / len(group), item) for rank, item in enumerate(group)]
    keyed.sort(key=lambda pair: pair[0])
    return [item for _, item in keyed]


def _share(n: int, share: float, *, keep: int) -> int:
    """How many of ``n`` go to the smaller side: ``round(n * share)``, at least 1, leaving ``keep``."""
    if share <= 0 or n <= keep:
        return 0
    return min(max(1, round(n * share)), n - keep)


def _capped(task: Task) -> Task:
    """``task`` on the seeded sample of :data:`MAX_ITEMS` items ``--limit`` would take, said in a warning.

    fix scores its validation split every ``eval_every`` steps and the held-out items under
    every instruction twice: on a 14k-item MMLU file that is hours of scoring for selection
    and figures that 500 items already pin down (a 250-item held-out half: accuracy +-6 points).
    """
    from promptcheck.tasks.sampling import sample

    warnings.warn(
        f"{task.name}: {len(task.items)} items: fix uses a seeded sample of {MAX_ITEMS} (as --limit {MAX_ITEMS}; "
        "give --limit, or load_task(limit=...), to choose another size)",
        RuntimeWarning,
        stacklevel=3,
    )
    items = tuple(sample(task.items, MAX_ITEMS, task.sample_seed))
    return dataclasses.replace(task, items=items, limit=MAX_ITEMS, population=len(task.items))


def _bank_heldout(task: Task) -> Task:
    """``task`` checked on the written bank's unobserved instructions of its kind, when it has none.

    An items file (MMLU .csv, BIG-bench, .jsonl) comes without instructions; refusing it would
    leave ``promptcheck fix data.csv`` no way to run. The bank's held-out split was written apart
    from its observed one (promptcheck/paraphrase/banks), so it is a held-out check, said in a
    warning and in the report; a bank whose label words are not the task's answers ("negative or
    positive" for a yes/no task) is refused, since it would check the fix on instructions that ask
    for other answers.
    """
    from promptcheck.fix.phrasings import norm
    from promptcheck.paraphrase.banks import labels_fit, load_bank

    if task.generative:
        raise InputError(
            "has no unobserved instructions to check the fix on, and the written banks ask to pick among "
            "options, which a free-form task has none of: give it some (a suite's instructions.unobserved, "
            "docs/suite-format.md; or load_task(unobserved=...))",
            file=task.source or None,
            field="instructions.unobserved",
        )
    bank = load_bank(task.kind)
    own = {norm(task.reference_instruction)} | {norm(t) for t in task.observed}
    held = tuple(t for t in bank.unobserved if norm(t) not in own)
    fits = labels_fit(bank.labels, task)
    if not fits or not held:
        why = (
            f"the written {task.kind} bank's unobserved instructions ask for {' / '.join(bank.labels)}, "
            "not this task's answers"
            if not fits
            else f"the written {task.kind} bank's unobserved instructions are all this task's own"
        )
        raise InputError(
            f"has no unobserved instructions to check the fix on, and {why}: give it some "
            "(a suite's instructions.unobserved, docs/suite-format.md; or load_task(unobserved=...))",
            file=task.source or None,
            field="instructions.unobserved",
        )
    warnings.warn(
        f"{task.name}: no unobserved instructions: the fix is checked on the written {task.kind} bank's "
        f"{len(held)} unobserved ones (give the task its own to check it on those)",
        RuntimeWarning,
        stacklevel=3,
    )
    return dataclasses.replace(task, unobserved=held)


def trained_answer(item: GenItem, task: Task) -> str | None:
    """The accepted answer the cross-entropy teaches for a free-form ``item``: the first one the task's
    own matching reads as correct when written bare, else None.

    Usually the first accepted answer. A task whose extractor needs a frame around the answer (a
    regex such as ``#### (\\d+)``) reads a bare "42" as unparsed: teaching it would teach the
    model a form its own grader refuses (:func:`check_targets`).
    """
    from promptcheck.tasks.matching import match

    spec = task.match_spec()
    return next((t for t in item.targets if match(t, item.targets, spec).outcome == "correct"), None)


def check_targets(task: Task) -> None:
    """Refuse, in one line, a free-form task whose matching reads no accepted answer written bare as correct."""
    for item in task.items:
        if trained_answer(cast(GenItem, item), task) is None:
            raise InputError(
                f"item {item.id}: no accepted answer, written bare, is read as correct by the task's matching "
                f"(extractor {task.match_spec().extractor!r}), so the cross-entropy would teach a form its grader "
                "refuses; fix it with --mode kl (alignment to the reference's own answers only)",
                file=task.source or None,
                field="matching",
            )


def split_task(task: Task, cfg: FixConfig) -> FixTask:
    """Seeded splits: held-out items (report), validation items and instructions (selection), training.

    The item splits are stratified by answer (:func:`stratified_order`); a free-form task's items,
    which have no answer classes, are split in a seeded order, and with the cross-entropy on
    (``mode`` not ``kl``) every item needs an accepted answer its matching reads as correct when
    written bare (:func:`check_targets`). A task without
    unobserved instructions is checked on the written bank's (:func:`_bank_heldout`).
    Held-out items and unobserved instructions are the report's check only. Validation
    instructions come from the *written* phrasings (observed and bank), since held-out ones are
    written by people too; generated and structural phrasings only train, unless there is at
    most one written phrasing, when some of them are held out for validation instead.

    A suite too small to split (after the held-out items, at most 2 items left; or one phrasing
    in all), or ``val_items`` / ``val_instructions`` 0, validates on training items or phrasings
    (``in_sample``, with a warning): selection is then optimistic, the held-out figures are not.
    Refusing would leave a user with a 6-item suite no way to run fix at all.
    """
    from promptcheck.fix.phrasings import phrasing_pool

    sources = cfg.sources()
    if not task.observed and not set(sources) - {"observed"}:
        raise InputError(
            "has no observed instructions to train on (add instructions.observed or use --phrasings)",
            file=task.source or None,
            field="instructions.observed",
        )
    if task.limit is None and len(task.items) > MAX_ITEMS:
        task = _capped(task)
    heldout_source = "task"
    if not task.unobserved:
        task, heldout_source = _bank_heldout(task), f"bank:{task.kind}"
    if task.generative:
        if cfg.mode != "kl":
            check_targets(task)
        # Free-form items have no answer classes to stratify by (each has its own accepted texts).
        items: list[Item] = list(task.items)
        random.Random(f"{cfg.seed}:{task.name}").shuffle(items)
    else:
        items = list(stratified_order(cast("list[MCItem]", list(task.items)), random.Random(f"{cfg.seed}:{task.name}")))
    n_held = max(1, round(len(items) * cfg.heldout_items))
    if n_held >= len(items):
        raise InputError(
            "needs at least 2 items to split into training and held-out sets", file=task.source or None, field="items"
        )
    rest = items[n_held:]
    n_val_items = _share(len(rest), cfg.val_items, keep=2)
    pool = phrasing_pool(task, sources=sources, generated=cfg.generated, seed=cfg.seed)
    if not pool:
        reason = "every one equals the reference or a held-out instruction"
        if task.generative and "bank" in sources:
            reason += "; the written banks ask to pick among options and do not train a free-form task"
        raise InputError(
            f"has no training phrasings left ({reason})",
            file=task.source or None,
            field="instructions.observed",
        )
    written = [p for p in pool if p.source in ("observed", "bank")]
    random.Random(f"{cfg.seed}:{task.name}:instructions").shuffle(written)
    val = written[: _share(len(written), cfg.val_instructions, keep=1)]
    if not val and cfg.val_instructions > 0:
        # One written phrasing (or none): hold out made ones instead, still never trained on.
        made = [p for p in pool if p not in written]
        random.Random(f"{cfg.seed}:{task.name}:made").shuffle(made)
        val = made[: _share(len(made), cfg.val_instructions, keep=0 if written else 1)]
    train = [p for p in pool if p not in val]
    val_items = rest[:n_val_items]
    train_items = rest[n_val_items:]
    # Too few to split (or --val-items / --val-instructions 0): select on training ones, and say so.
    in_sample, why = [], []
    if not val_items:
        val_items, in_sample = train_items, ["items"]
        why.append("--val-items is 0" if cfg.val_items == 0 else f"{len(rest)} items left after the held-out ones")
    if not val:
        val = ([p for p in train if p.source in ("observed", "bank")] or train)[:IN_SAMPLE_INSTRUCTIONS]
        in_sample.append("instructions")
        why.append("--val-instructions is 0" if cfg.val_instructions == 0 else f"{len(pool)} training phrasing(s)")
    if in_sample:
        warnings.warn(
            f"{task.name}: model selection scores training {' and '.join(in_sample)} (in-sample: "
            f"{'; '.join(why)}), so it may pick an over-fitted step; the held-out figures are still never "
            "trained or selected on",
            RuntimeWarning,
            stacklevel=2,
        )
    return FixTask(
        task=task,
        train_items=tuple(train_items),
        heldout_items=tuple(items[:n_held]),
        train_instructions=tuple(p.text for p in train),
        heldout_instructions=tuple(task.unobserved),
        val_items=tuple(val_items),
        val_instructions=tuple(p.text for p in val),
        train_sources=tuple(p.source for p in train),
        in_sample=tuple(in_sample),
        heldout_source=heldout_source,
    )
