"""``assert_robust``: a verdict on robustness to paraphrase that holds up, with its evidence.

The verdict itself comes from :func:`promptcheck.stats.judge` (two one-sided tests on a
two-way interval; "inconclusive" by default fails too, and says what size would decide).
This module picks what is compared (by default the reference against the unobserved and
generated instructions, with observed ones reported as their own set, as the paper's columns
are), adds the optional consistency and worst-instruction checks, and packs the evidence.
With a model and a task instead of a finished result, the assertion drives evaluation itself
and may stop early: looks at pre-set fractions of a seeded item order, with the alpha-spending
plan of :func:`promptcheck.stats.verdicts.look_plan`.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, cast

import numpy as np

from promptcheck.errors import InputError
from promptcheck.evaluation.results import TaskResult
from promptcheck.failures import task_load_options
from promptcheck.options import VerdictOptions
from promptcheck.stats.budget import BudgetOutcome
from promptcheck.stats.design import Design
from promptcheck.stats.outcomes import DropParts
from promptcheck.stats.robustness import Interval, mean_kl
from promptcheck.stats.sets import (
    GroupStatistics,
    cells,
    claim_for,
    compared_kinds,
    group_statistics,
    instruction_tests,
    item_chance,
)
from promptcheck.stats.task import outcome_parts
from promptcheck.stats.verdicts import Judged, Judgment, _accuracies, look_plan
from promptcheck.tasks.records import Instruction, Task

#: Set by the pytest plugin around each test: marker overrides, the session seed, and where
#: verdicts are recorded for the terminal summary, JSON, JUnit and failures.json.
CURRENT_OVERRIDES: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("promptcheck_overrides", default={})  # noqa: B039 - only read; the plugin sets a new dict per test
CURRENT_SEED: contextvars.ContextVar[int | None] = contextvars.ContextVar("promptcheck_seed", default=None)
RECORDER: contextvars.ContextVar[list | None] = contextvars.ContextVar("promptcheck_recorder", default=None)

#: assert_robust's options and their defaults: the fields of :class:`~promptcheck.options.VerdictOptions`.
DEFAULTS: dict[str, Any] = VerdictOptions().values()
OPTION_NAMES = frozenset(DEFAULTS)


@dataclass(frozen=True)
class Check:
    """One tested claim: its estimate, interval, threshold and verdict."""

    name: str
    value: float
    interval: Interval
    threshold: float
    verdict: str

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "value": self.value,
            "interval": self.interval.to_json(),
            "threshold": self.threshold,
            "verdict": self.verdict,
        }


@dataclass(frozen=True)
class RobustnessVerdict(Judged):
    """The outcome of :func:`assert_robust` and everything it rests on."""

    #: The overall verdict: the drop's judgment combined with the optional checks.
    verdict: str
    task: str
    #: The drop's :class:`~promptcheck.stats.verdicts.Judgment`: the one record of its drop, bounds,
    #: threshold, claim, looks and power, which the properties below read.
    judgment: Judgment
    prompts_scored: int
    seed: int
    mean_accuracy: float
    worst: tuple[tuple[str, str, float], ...]
    spread_sd: float
    spread_range: float
    consistency: float
    #: Mean KL of the answer distributions to the reference's (None: a free-form task has none).
    mean_kl: float | None
    checks: tuple[Check, ...]
    model: dict = field(default_factory=dict)
    #: Instructions significantly worse than the reference (exact McNemar, Holm-adjusted across them).
    failing_instructions: tuple[dict, ...] = ()
    #: Instructions whose point-estimate drop exceeds the threshold (no test: a descriptive list).
    over_threshold_instructions: tuple[dict, ...] = ()
    reference_instruction: str = ""
    task_source: str = ""
    #: How ``promptcheck fix --from`` reloads the task when its source is not a suite file
    #: (:func:`promptcheck.failures.task_load_options`; empty for a suite file).
    task_load: dict = field(default_factory=dict)
    #: Per-instruction accuracies and per-item correctness/predictions, so reports (HTML) and
    #: release comparisons (a paired bootstrap over items) work from the plugin's JSON alone.
    evidence: dict = field(default_factory=dict)
    #: Each instruction set (observed, unobserved, generated) judged on its own, as the paper's columns.
    sets: dict = field(default_factory=dict)
    #: A free-form task: the drop split into its form part and its content part (stats.outcomes).
    drop_parts: DropParts | None = None
    #: The incomplete design the gate scored (``instructions_per_item``, ``seed``,
    #: ``compared_instructions``, ``kinds``), or None: every item under every compared instruction.
    design: dict | None = None
    #: Under a prompt budget: what it bought and why scoring stopped (:mod:`promptcheck.stats.budget`).
    budget: BudgetOutcome | None = None

    def to_json(self) -> dict:
        return {
            "verdict": self.verdict,
            "task": self.task,
            "task_source": self.task_source,
            "task_load": self.task_load,
            "claim": self.claim,
            "drop": self.drop,
            "interval": self.interval.to_json(),
            "threshold": self.threshold,
            "confidence": self.confidence,
            "relative": self.relative,
            "items": self.items,
            "instructions": self.instructions,
            "prompts_scored": self.prompts_scored,
            "seed": self.seed,
            "reference_instruction": self.reference_instruction,
            "reference_accuracy": self.reference_accuracy,
            "mean_accuracy": self.mean_accuracy,
            "worst_instructions": [{"text": t, "kind": k, "accuracy": a} for t, k, a in self.worst],
            "spread_sd": self.spread_sd,
            "spread_range": self.spread_range,
            "consistency": self.consistency,
            "mean_kl": self.mean_kl,
            "checks": [c.to_json() for c in self.checks],
            "model": self.model,
            "failing_instructions": list(self.failing_instructions),
            "over_threshold_instructions": list(self.over_threshold_instructions),
            "looks_used": self.looks_used,
            "looks_planned": self.looks_planned,
            "judgment": self.judgment.to_json(),
            "sets": self.sets,
            **({"drop_parts": self.drop_parts.to_json()} if self.drop_parts is not None else {}),
            **({"design": self.design} if self.design is not None else {}),
            **({"budget": self.budget.to_json()} if self.budget is not None else {}),
            "evidence": self.evidence,
        }

    def message(self) -> str:
        unit = "of reference accuracy above chance" if self.relative else "points"
        pct = 100.0
        interval = self.judgment.describe_interval()
        lines = [
            f"robustness {self.verdict.upper()} on task {self.task!r}: accuracy drop under paraphrase "
            f"{pct * self.drop:.1f} {unit}, {interval} vs threshold {pct * self.threshold:.1f} (claim: {self.claim})",
            f"  reference accuracy {self.reference_accuracy:.3f}, mean over paraphrases {self.mean_accuracy:.3f}, "
            f"consistency {self.consistency:.3f}, sd across instructions {self.spread_sd:.3f}",
            "  worst instructions: " + "; ".join(f"{a:.3f} [{k}] {t!r}" for t, k, a in self.worst),
        ]
        for c in self.checks[1:]:
            lines.append(
                f"  {c.name}: {c.value:.3f}, interval [{c.interval.low:.3f}, {c.interval.high:.3f}], "
                f"threshold {c.threshold:.3f} -> {c.verdict}"
            )
        per_item = (
            f", {self.design['instructions_per_item']} of them per item (incomplete design)" if self.design else ""
        )
        lines.append(
            f"  rests on {self.items} items x {self.instructions} paraphrased instructions{per_item} "
            f"({self.prompts_scored} prompts scored, {self.looks_used}/{self.looks_planned} looks), "
            f"seed {self.seed}, model {self.model.get('id', '?')}"
        )
        if self.budget is not None:
            from promptcheck.report.terminal import describe_budget

            lines.append(f"  {describe_budget(self.budget.to_json())}")
        lines.append(f"  {self.judgment.power_note()}")
        if self.drop_parts is not None:
            form, content = self.drop_parts.form, self.drop_parts.content
            lines.append(
                f"  free-form answers: of the drop, form (misformatted or unparsed) {pct * form.drop:+.1f} "
                f"[{pct * form.interval.low:+.1f}, {pct * form.interval.high:+.1f}], content (wrong) "
                f"{pct * content.drop:+.1f} [{pct * content.interval.low:+.1f}, {pct * content.interval.high:+.1f}]"
                + ("; the drop is the answers' form, not their content" if self.drop_parts.form_only else "")
            )
        if self.verdict == "inconclusive":
            lines.append(
                "  the interval straddles the threshold: add items or instructions for a decision, "
                "or pass on_inconclusive='pass'"
            )
        return "\n".join(lines)


class RobustnessError(AssertionError):
    """Raised by :func:`assert_robust` on a failing (or, by default, inconclusive) verdict."""

    def __init__(self, verdict: RobustnessVerdict) -> None:
        super().__init__(verdict.message())
        self.verdict = verdict


# -- evidence -----------------------------------------------------------------------------------
@dataclass
class _Evidence:
    """Per-instruction correctness, predictions and log-probabilities over the items seen so far
    (``None``: a cell an incomplete design did not score)."""

    instructions: list[Instruction]
    correct: list[list[bool | None]]
    predictions: list[list[int | None]]
    logprobs: list[list[tuple[float, ...] | None]]
    #: A free-form task's outcomes per instruction (correct, misformatted, unparsed, wrong).
    outcomes: list[list[str | None]] = field(default_factory=list)
    prompts: int = 0
    item_ids: list[str] = field(default_factory=list)
    chance: list[float] = field(default_factory=list)
    #: The design the cells were scored under (``TaskResult.design``), or None.
    design: dict | None = None

    def correct_rows(self, rows: Sequence[int], upto: int | None = None) -> np.ndarray:
        """Correctness of ``rows`` over the first ``upto`` items: bool, or float with NaN where not scored."""
        return cells([[np.nan if c is None else float(c) for c in self.correct[j][:upto]] for j in rows])

    def prediction_rows(self, rows: Sequence[int], upto: int | None = None) -> np.ndarray:
        """Predictions of ``rows`` over the first ``upto`` items: ints, or float with NaN where not scored."""
        values = [[np.nan if p is None else float(p) for p in self.predictions[j][:upto]] for j in rows]
        arr = np.asarray(values, dtype=np.float64)
        return arr if np.isnan(arr).any() else np.asarray([self.predictions[j][:upto] for j in rows])

    @classmethod
    def empty(cls, instructions: list[Instruction]) -> _Evidence:
        k = len(instructions)
        return cls(instructions, [[] for _ in range(k)], [[] for _ in range(k)], [[] for _ in range(k)])

    def add(self, result: TaskResult) -> None:
        self.item_ids += [item.id for item in result.task.items]
        self.chance += item_chance(result.task.items)
        by_text = {r.text: r for r in result.instructions}
        for j, ins in enumerate(self.instructions):
            r = by_text[ins.text]
            self.correct[j] += list(r.correct)
            self.predictions[j] += list(r.predictions)
            self.logprobs[j] += list(r.logprobs)
            if r.outcomes:
                while len(self.outcomes) <= j:
                    self.outcomes.append([])
                self.outcomes[j] += list(r.outcomes)
        self.prompts += result.prompts_scored
        self.design = self.design or result.design


def check_options(values: Mapping[str, Any]) -> None:
    """The one check of ``assert_robust``'s options, wherever they come from.

    ``values`` may be partial (a ``@pytest.mark.promptcheck`` marker, checked at collection)
    or whole (the merged options of a call); absent or None values are not checked.
    """
    unknown = sorted(set(values) - OPTION_NAMES)
    if unknown:
        raise InputError(f"unknown option(s) {', '.join(unknown)}; expected {', '.join(sorted(OPTION_NAMES))}")
    VerdictOptions(**{k: v for k, v in values.items() if v is not None})  # the one check


def _options(explicit: dict[str, Any]) -> dict[str, Any]:
    opts = dict(DEFAULTS)
    opts.update(CURRENT_OVERRIDES.get())
    opts.update({k: v for k, v in explicit.items() if v is not None})
    if opts["seed"] is None:
        opts["seed"] = CURRENT_SEED.get() or 0
    check_options(opts)
    return opts


def _judge(
    ev: _Evidence, *, task: Task, opts: dict[str, Any], model: dict, looks: tuple[float, ...] | None, planned_items: int
) -> RobustnessVerdict:
    ref_j = next(j for j, ins in enumerate(ev.instructions) if ins.kind == "reference")
    kinds = opts["kinds"] or compared_kinds(ins.kind for ins in ev.instructions)
    para_j = [j for j, ins in enumerate(ev.instructions) if ins.kind in kinds and j != ref_j]
    if not para_j:
        raise InputError(_nothing_to_compare(kinds), field="instructions")
    claim = opts["claim"]
    if claim == "auto":
        claim = claim_for([ev.instructions[j].kind for j in para_j])
    ref = np.asarray(ev.correct[ref_j], dtype=bool)  # the reference is scored on every item
    threshold = float(opts["max_accuracy_drop"])
    seed = int(opts["seed"])
    common: dict[str, Any] = dict(
        threshold=threshold,
        confidence=float(opts["confidence"]),
        n_boot=int(opts["n_boot"]),
        seed=seed,
        chance=ev.chance,
        relative=bool(opts["relative"]),
    )

    def group(rows: list[int], upto: int | None = None, **how: Any) -> GroupStatistics:
        """``rows`` judged against the reference on the first ``upto`` items (all: None)."""
        n = slice(upto)
        kinds = [ev.instructions[j].kind for j in rows]
        settings = {**common, "chance": ev.chance[n], **how}
        return group_statistics(
            ref[n],
            ev.correct_rows(rows, upto),
            ev.prediction_rows([ref_j], upto)[0],
            ev.prediction_rows(rows, upto),
            kinds,
            **settings,
        )

    compared = group(
        para_j,
        claim=claim,
        looks=looks,
        planned_items=planned_items,
        consistency_interval=opts["min_consistency"] is not None,
    )
    main = compared.judgment
    used = main.items_used
    ref_u = ref[:used]
    para_u = ev.correct_rows(para_j, used)
    checks = [Check("accuracy_drop", main.drop, main.interval, threshold, main.verdict)]
    alpha = 1.0 - main.bound_confidence  # the alpha of the look that gave the verdict, per direction
    if opts["min_consistency"] is not None and compared.consistency_interval is not None:
        ci = compared.consistency_interval
        # Consistency must stay *above* its threshold: mirror the drop's rule (one-sided ends).
        v = (
            "fail"
            if ci.high < opts["min_consistency"]
            else ("pass" if ci.low > opts["min_consistency"] else "inconclusive")
        )
        checks.append(Check("consistency", compared.consistency, ci, float(opts["min_consistency"]), v))
    accs = _own_accuracies(para_u)
    order = np.argsort(accs, kind="stable")
    if opts["max_worst_drop"] is not None:
        # The worst instruction is chosen after looking: Bonferroni over all of them keeps it honest.
        w = para_j[int(order[0])]
        worst = group(
            [w],
            used,
            threshold=float(opts["max_worst_drop"]),
            confidence=1.0 - alpha / len(para_j),
            claim="instructions",
            consistency_interval=False,
        ).judgment
        checks.append(Check("worst_drop", worst.drop, worst.interval, float(opts["max_worst_drop"]), worst.verdict))
    verdicts = [c.verdict for c in checks]
    overall = "fail" if "fail" in verdicts else ("inconclusive" if "inconclusive" in verdicts else "pass")
    tests = instruction_tests(ref_u, para_u, confidence=float(opts["confidence"]))
    rows = [
        dict(
            text=ev.instructions[para_j[i]].text,
            kind=ev.instructions[para_j[i]].kind,
            edits=list(ev.instructions[para_j[i]].edits),
            accuracy=float(accs[i]),
            **tests[i],
        )
        for i in order
    ]
    sets = {}
    for kind in sorted({ins.kind for ins in ev.instructions if ins.kind != "reference"}):
        js = [j for j, ins in enumerate(ev.instructions) if ins.kind == kind]
        js = [j for j in js if any(c is not None for c in ev.correct[j][:used])]  # a design may leave one out
        if js:
            # at the verdict's looks, so a set that is the compared group reads as the verdict does
            sets[kind] = group(
                js, used, looks=looks, planned_items=planned_items, consistency_interval=False
            ).judgment.to_json()
    return RobustnessVerdict(
        verdict=overall,
        task=task.name,
        judgment=main,
        prompts_scored=ev.prompts,
        seed=seed,
        mean_accuracy=float(np.nanmean(accs)),
        worst=tuple(
            (ev.instructions[para_j[i]].text, ev.instructions[para_j[i]].kind, float(accs[i])) for i in order[:3]
        ),
        spread_sd=compared.spread_sd,
        spread_range=compared.spread_range,
        consistency=compared.consistency,
        mean_kl=None
        if ev.outcomes
        else mean_kl(
            [ev.logprobs[j][:used] for j in para_j], cast("list[tuple[float, ...]]", ev.logprobs[ref_j][:used])
        ),
        checks=tuple(checks),
        model=model,
        failing_instructions=tuple(r for r in rows if r["significant"]),
        over_threshold_instructions=tuple(r for r in rows if r["drop"] > threshold),
        reference_instruction=task.reference_instruction,
        task_source=task.source,
        task_load=task_load_options(task),
        sets=sets,
        drop_parts=outcome_parts(
            ev.outcomes[ref_j][:used],
            [ev.outcomes[j][:used] for j in para_j],
            claim=main.claim,
            confidence=float(opts["confidence"]),
            seed=seed,
        )
        if ev.outcomes
        else None,
        evidence=_evidence_json(ev, ref_j, para_j, used),
        design=ev.design,
    )


def _own_accuracies(para: np.ndarray) -> np.ndarray:
    """Each row's accuracy over the items it scored (NaN: none), rows kept in place."""
    if para.dtype == bool:
        return para.mean(axis=1)
    seen = ~np.isnan(para)
    out = np.full(para.shape[0], np.nan)
    has = seen.any(axis=1)
    out[has] = _accuracies(para)
    return out


def _evidence_json(ev: _Evidence, ref_j: int, para_j: list[int], used: int) -> dict:
    """Reference first, then the compared instructions; correctness as 0/1 rows over ``item_ids``."""
    from promptcheck.stats.robustness import item_flips, wilson

    order = [ref_j] + para_j
    correct = ev.correct_rows(order, used)
    preds = ev.prediction_rows(order, used)
    tests = [{}] + instruction_tests(correct[0].astype(bool), correct[1:])
    seen = ~np.isnan(correct) if correct.dtype.kind == "f" else np.ones(correct.shape, dtype=bool)
    hits = np.where(seen, correct, 0).sum(axis=1).astype(int)
    return {
        "item_ids": list(ev.item_ids[:used]),
        "instructions": [
            {
                "index": i,
                "text": ev.instructions[j].text,
                "kind": ev.instructions[j].kind,
                "edits": list(ev.instructions[j].edits),
                "accuracy": float(hits[i] / seen[i].sum()) if seen[i].any() else float("nan"),
                "n_correct": int(hits[i]),
                **({"n_scored": int(seen[i].sum())} if ev.design is not None else {}),
                "accuracy_interval": wilson(int(hits[i]), int(seen[i].sum())).to_json(),
                **(_rates(ev.outcomes[j][:used]) if ev.outcomes else {}),
                **tests[i],
            }
            for i, j in enumerate(order)
        ],
        # 0/1 per item (null: a cell an incomplete design did not score)
        "correct": [[int(c) if ok else None for c, ok in zip(row, keep)] for row, keep in zip(correct, seen)],
        **({"outcomes": [ev.outcomes[j][:used] for j in order]} if ev.outcomes else {}),
        "chance": [float(c) for c in ev.chance[:used]],
        "predictions": [[int(p) if ok else None for p, ok in zip(row, keep)] for row, keep in zip(preds, seen)],
        "flips": item_flips(preds, 0).tolist(),
    }


def _rates(outcomes: list[str | None]) -> dict[str, float]:
    """A free-form instruction's share of misformatted and of unparsed answers (over its scored items)."""
    seen = [o for o in outcomes if o is not None]
    n = max(len(seen), 1)
    return {"misformatted_rate": seen.count("misformatted") / n, "unparsed_rate": seen.count("unparsed") / n}


def _instructions_of(task: Task, instructions: Iterable[Instruction | str | Any] | None) -> list[Instruction]:
    from promptcheck.evaluation.runner import as_instructions

    return as_instructions(task, instructions)


def assert_robust(
    subject: TaskResult | Any,
    task: Task | None = None,
    *,
    instructions: Iterable[Instruction | str | Any] | None = None,
    max_accuracy_drop: float | None = None,
    confidence: float | None = None,
    relative: bool | None = None,
    claim: str | None = None,
    kinds: Sequence[str] | None = None,
    min_consistency: float | None = None,
    max_worst_drop: float | None = None,
    on_inconclusive: str | None = None,
    sequential: bool | None = None,
    looks: Sequence[float] | None = None,
    instructions_per_item: int | None = None,
    budget: int | None = None,
    n_boot: int | None = None,
    seed: int | None = None,
) -> RobustnessVerdict:
    """Assert that accuracy does not drop by more than ``max_accuracy_drop`` under paraphrase.

    ``subject`` is a :class:`TaskResult` from :func:`evaluate`, or a model (then ``task`` is
    required and the assertion scores lazily, stopping early with ``sequential=True``).
    The drop is in absolute accuracy points (0.05 = 5 points; ``relative=True`` divides by the
    reference accuracy). ``claim``: ``instructions`` (these instructions), ``phrasings`` (new
    phrasings in general, two-way bootstrap) or ``auto`` (phrasings when unobserved or generated
    instructions are compared). ``kinds`` picks which instructions are compared (default: every
    non-reference one). ``min_consistency`` and ``max_worst_drop`` add checks. Returns the
    verdict; raises :class:`RobustnessError` (an ``AssertionError``) on "fail", and on
    "inconclusive" unless ``on_inconclusive="pass"``. Defaults can be overridden per test with
    ``@pytest.mark.promptcheck(...)``.

    ``instructions_per_item=K`` (with a model and a task; default: the suite's
    ``instructions_per_item:``, else every compared instruction): an incomplete design, each item
    scored under the reference and K of the compared instructions, dealt evenly over the seeded
    item order (:class:`promptcheck.stats.design.Design`), sequential looks included. A result
    from :func:`evaluate` is judged on the cells it holds (``evaluate(..., design=...)``).

    >>> verdict = assert_robust(evaluate(model, task), max_accuracy_drop=0.05)  # doctest: +SKIP
    """
    __tracebackhide__ = True  # pytest shows the verdict, not this function's insides
    opts = _options(
        dict(
            max_accuracy_drop=max_accuracy_drop,
            confidence=confidence,
            relative=relative,
            claim=claim,
            kinds=kinds,
            min_consistency=min_consistency,
            max_worst_drop=max_worst_drop,
            on_inconclusive=on_inconclusive,
            sequential=sequential,
            looks=looks,
            instructions_per_item=instructions_per_item,
            budget=budget,
            n_boot=n_boot,
            seed=seed,
        )
    )
    if isinstance(subject, TaskResult):
        if task is not None and task is not subject.task:
            raise InputError("pass either a result or a model and a task, not a result and another task", field="task")
        if instructions_per_item is not None:
            raise InputError(
                "a result is judged on the cells it was scored on: give instructions_per_item with a model and "
                "a task, or score the result with evaluate(..., design=Design(K))",
                field="instructions_per_item",
            )
        if budget is not None:
            raise InputError(
                "a result is judged on the cells it was scored on: give a budget with a model and a task",
                field="budget",
            )
        ev = _Evidence.empty(list(r.instruction for r in subject.instructions))
        ev.add(subject)
        verdict = _judge(
            ev, task=subject.task, opts=opts, model=subject.model.to_json(), looks=None, planned_items=len(ev.item_ids)
        )
    else:
        if task is None:
            raise InputError("assert_robust(model, task): the task is missing", field="task")
        if isinstance(task, TaskResult):
            raise InputError(
                "got a result from evaluate() as the task: judge it as it is with assert_robust(result), "
                "or let assert_robust score with assert_robust(model, task)",
                field="task",
            )
        if not isinstance(task, Task):
            raise InputError(f"must be a Task (promptcheck.load_task), got {type(task).__name__}", field="task")
        verdict = _drive(subject, task, _judged(_instructions_of(task, instructions), opts), opts)
    recorder = RECORDER.get()
    if recorder is not None:
        recorder.append(verdict)
    if verdict.verdict == "fail" or (verdict.verdict == "inconclusive" and opts["on_inconclusive"] == "fail"):
        raise RobustnessError(verdict)
    return verdict


def _judged(instructions: list[Instruction], opts: dict[str, Any]) -> list[Instruction]:
    """The reference and the instructions the verdict compares: the gate scores nothing else.

    By default that is the unobserved and generated instructions (the observed ones only when
    there are no others), so a suite's observed set, which the verdict would not use, costs no
    prompts (40 of 60 prompts in a user's trial were never judged). ``kinds=`` chooses otherwise.
    """
    kinds = opts["kinds"] or compared_kinds(ins.kind for ins in instructions)
    judged = [ins for ins in instructions if ins.kind == "reference" or ins.kind in kinds]
    if len(judged) < 2:  # said before a prompt is scored, not after the reference's
        raise InputError(_nothing_to_compare(kinds), field="instructions")
    return judged


def _design(task: Task, instructions: list[Instruction], opts: dict[str, Any]) -> Design | None:
    """The gate's incomplete design: ``instructions_per_item`` (argument, marker, ``--promptcheck-*``
    option), else the suite's ``instructions_per_item:``; None for every compared instruction on every
    item. K of the instructions the gate compares (all but the reference), checked before a prompt is scored."""
    from promptcheck.tasks.suite import suite_instructions_per_item

    k = opts.get("instructions_per_item")
    where: dict[str, Any] = {}
    if k is None and task.source:
        own = suite_instructions_per_item(task.source)
        if own is not None:
            k, where = own[0], {"file": task.source, "line": own[1]}
    if k is None:
        return None
    kinds = tuple(sorted({ins.kind for ins in instructions if ins.kind != "reference"}))
    design = Design(int(k), seed=int(opts["seed"]), kinds=kinds)
    try:
        design.check([ins.kind for ins in instructions])
    except InputError as exc:
        raise InputError(f"task {task.name!r}: {exc.message}", field="instructions_per_item", **where) from None
    return design


def _nothing_to_compare(kinds: Sequence[str]) -> str:
    return (
        f"no instructions of kind {', '.join(kinds)} to compare with the reference"
        if kinds
        else "no instructions to compare with the reference: give the suite observed or unobserved instructions, "
        "or pass instructions=[...] (promptcheck.paraphrases, a written bank)"
    )


def _drive(model: Any, task: Task, instructions: list[Instruction], opts: dict[str, Any]) -> RobustnessVerdict:
    """Score in a seeded item order, judging after each round (one round unless sequential or
    under a budget: the looks of :func:`look_plan`, over the items the budget buys)."""
    from promptcheck.evaluation.rounds import score_rounds, seeded_order
    from promptcheck.stats.budget import budget_outcome, plan_budget

    ordered = seeded_order(task, int(opts["seed"]))
    alpha = 1.0 - float(opts["confidence"])
    design = _design(task, instructions, opts)
    budget = None
    if opts.get("budget") is not None:
        budget = plan_budget(
            opts["budget"],
            items=len(ordered.items),
            compared=len(instructions) - 1,  # the reference and the compared instructions only
            per_item=design.instructions_per_item if design else None,
            looks=tuple(opts["looks"]),
            alpha=alpha,
        )
        if design is None and budget.instructions_per_item is not None:
            kinds = tuple(sorted({ins.kind for ins in instructions if ins.kind != "reference"}))
            design = Design(budget.instructions_per_item, seed=int(opts["seed"]), kinds=kinds)
    looks = tuple(float(f) for f in opts["looks"]) if opts["sequential"] or budget else None
    planned = budget.items if budget else len(ordered.items)
    model_json = model.identity.to_json()
    verdicts: list[RobustnessVerdict] = []

    def decided(result: TaskResult) -> bool:
        ev = _Evidence.empty(instructions)
        ev.add(result)
        verdicts.append(_judge(ev, task=task, opts=opts, model=model_json, looks=looks, planned_items=planned))
        return verdicts[-1].verdict != "inconclusive"

    rounds = budget.rounds if budget else tuple(lk.items for lk in look_plan(planned, looks, alpha))
    result, n_rounds = score_rounds(model, ordered, instructions, rounds=rounds, decided=decided, design=design)
    verdict = verdicts[-1]
    if budget is None:
        return verdict
    spent = budget_outcome(
        budget, verdict=verdict.verdict, rounds=n_rounds, prompts=result.prompts_scored, items=len(result.task.items)
    )
    return replace(verdict, budget=spent)
