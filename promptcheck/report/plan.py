"""``promptcheck plan``: what a gate can detect at its size, and what size would decide it.

A finished run (``promptcheck run --json``) or a pytest gate's ``--promptcheck-json`` is the
pilot: its per-item evidence gives the variance components (items, instructions, residual) of
each task, and :func:`promptcheck.stats.judge` / :func:`promptcheck.stats.plan_sizes` turn them
into the minimum detectable drop now and the items or instructions that would decide. Nothing
here is a new statistic; this module lines the evidence up and renders the answer.

It also picks the design (docs/statistics.md, "Incomplete designs"): for a target (a model with
no drop passing 80% of the time, or ``--target-drop``), the items each design needs, complete and
incomplete (instructions, K per item), from :func:`promptcheck.stats.verdicts.design_sizes`, and
the cheapest in prompts scored, ``items x (1 + K)``. A pilot of either kind plans either kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from promptcheck.options import VerdictOptions
from promptcheck.report.compare import Evidence, compared_rows, evidence_of
from promptcheck.stats.sets import claim_for
from promptcheck.stats.verdicts import Judged, Judgment, design_sizes, joint_sizes, judge, plan_sizes

#: The instruction counts a design is planned at, as multiples of the pilot's (``phrasings`` claims:
#: more phrasings at a few per item is the cheap way to a decisive gate; ``instructions`` claims are
#: about the pilot's own instructions, so only their count is planned).
INSTRUCTION_FACTORS = (1, 2, 4)
#: Past this many instructions a design is not planned (each count plans every K up to it).
MAX_PLANNED_INSTRUCTIONS = 1000


@dataclass(frozen=True)
class DesignPlan:
    """One design: ``instructions`` compared, ``per_item`` of them on each item (``complete`` when
    all), the items that decide the target (None: no number of items up to a million does) and
    the prompts that scores, the reference included."""

    instructions: int
    per_item: int
    items: int | None

    @property
    def complete(self) -> bool:
        return self.per_item == self.instructions

    @property
    def prompts(self) -> int | None:
        return None if self.items is None else self.items * (1 + self.per_item)

    def to_json(self) -> dict[str, Any]:
        return {
            "instructions": self.instructions,
            "instructions_per_item": self.per_item,
            "complete": self.complete,
            "items": self.items,
            "prompts": self.prompts,
        }


def design_plans(j: Judgment, *, target_drop: float, confidence: float) -> tuple[DesignPlan, ...]:
    """Every design at the pilot's instruction count (and, under ``phrasings``, 2 and 4 times it; when
    none of those decides, also the fewest instructions that decide with unlimited items, and twice
    that), each K from 1 to the count, with the items that decide a true drop ``target_drop`` with
    80% power."""
    factors = INSTRUCTION_FACTORS if j.claim == "phrasings" else (1,)
    gap, alpha = abs(target_drop - j.threshold), 1 - confidence
    counts = {j.instructions * f for f in factors}

    def plans(m: int) -> list[DesignPlan]:
        sizes = design_sizes(j.components, gap=gap, alpha=alpha, instructions=m)
        return [DesignPlan(m, k, items) for k, items in sizes.items()]

    out = [d for m in sorted(counts) for d in plans(m)]
    if j.claim == "phrasings" and all(d.items is None for d in out):
        # None decides at these counts: the instructions' spread alone is too wide. Plan at the
        # fewest instructions that decide with unlimited items, and twice that.
        _, fewest = plan_sizes(j.components, gap=gap, alpha=alpha, items=1_000_000, instructions=j.instructions)
        if fewest is not None and fewest <= MAX_PLANNED_INSTRUCTIONS // 2:
            out += [d for m in sorted({fewest, 2 * fewest} - counts) for d in plans(m)]
    return tuple(out)


@dataclass(frozen=True)
class TaskPlan(Judged):
    """One task's pilot judgment and what would decide its gate (the judgment is the one record of
    the verdict; the sizes are planned here, for ``target_drop``)."""

    task: str
    judgment: Judgment
    target_drop: float
    items_needed: int | None
    instructions_needed: int | None
    #: When neither alone decides: items and instructions grown together (:func:`~promptcheck.stats.verdicts.joint_sizes`).
    sizes_needed_together: tuple[int, int] | None = None
    #: The designs that decide ``design_target`` (:func:`design_plans`), and that target: ``--target-drop``,
    #: else 0 (a model with no drop passing 80% of the time).
    designs: tuple[DesignPlan, ...] = ()
    design_target: float = 0.0
    #: The pilot's own design (its ``design`` block), or None: every item under every instruction.
    pilot_design: dict | None = None

    @property
    def recommended(self) -> DesignPlan | None:
        """The design that decides with the fewest prompts (ties: fewer instructions, then more per item)."""
        reachable = [d for d in self.designs if d.prompts is not None]
        return min(reachable, key=lambda d: (d.prompts, d.instructions, -d.per_item)) if reachable else None

    @property
    def pilot_prompts(self) -> int:
        """The prompts the pilot's own design scores: items x (1 + its instructions per item)."""
        k = (self.pilot_design or {}).get("instructions_per_item") or self.instructions
        return self.items * (1 + int(k))

    def design_within(
        self, prompts: int | None = None, *, items: int | None = None, instructions: int | None = None
    ) -> DesignPlan | None:
        """The cheapest design that decides the target with at most ``prompts`` (default: the pilot's
        own, :attr:`pilot_prompts`), at most ``items`` items (what the suite holds, when known) and
        at most ``instructions`` instructions (default: the pilot's; None when no design fits).
        For the plugin's start-of-session warning: a design that would decide at today's budget."""
        budget = self.pilot_prompts if prompts is None else prompts
        most = self.instructions if instructions is None else instructions
        fits = [
            d
            for d in self.designs
            if d.prompts is not None
            and d.prompts <= budget
            and d.instructions <= most
            and (items is None or (d.items or 0) <= items)
        ]
        return min(fits, key=lambda d: (d.prompts, d.instructions, -d.per_item)) if fits else None

    @property
    def cheapest_complete(self) -> DesignPlan | None:
        """The complete design at the pilot's instruction count (what the gate scores without a design)."""
        return next((d for d in self.designs if d.complete and d.instructions == self.instructions), None)

    @property
    def cheaper_lever(self) -> str | None:
        """``items`` or ``instructions``: the one that decides with fewer prompts (items x instructions)."""
        costs = {}
        if self.items_needed is not None:
            costs["items"] = self.items_needed * self.instructions
        if self.instructions_needed is not None:
            costs["instructions"] = self.items * self.instructions_needed
        return min(costs, key=costs.__getitem__) if costs else None

    def to_json(self) -> dict[str, Any]:
        j = self.judgment
        return {
            "task": self.task,
            "items": self.items,
            "instructions": self.instructions,
            **{k: getattr(j, k) for k in ("claim", "drop", "verdict", "threshold", "minimum_detectable_drop")},
            "target_drop": self.target_drop,
            "items_needed": self.items_needed,
            "instructions_needed": self.instructions_needed,
            "cheaper_lever": self.cheaper_lever,
            "sizes_needed_together": list(self.sizes_needed_together) if self.sizes_needed_together else None,
            "pilot_design": self.pilot_design,
            "design_target_drop": self.design_target,
            "designs": [d.to_json() for d in self.designs],
            "recommended_design": self.recommended.to_json() if self.recommended else None,
        }


def plan_task(
    e: Evidence, *, threshold: float | None = None, confidence: float = 0.95, target_drop: float | None = None
) -> TaskPlan:
    """The plan for one task's evidence (row 0 the reference): the instructions, claim and (unless
    ``threshold`` is given) threshold the gate used, or a verdict's defaults for a run JSON.
    ``target_drop``: the true drop to plan for (default: the drop the pilot measured; the designs'
    default is 0, a model with no drop passing 80% of the time). A pilot scored under an incomplete
    design (NaN cells) is judged and planned as such."""
    rows = compared_rows(e)
    claim = e.claim or claim_for([e.kinds[j] for j in rows])
    if threshold is None:
        threshold = e.threshold if e.threshold is not None else VerdictOptions().max_accuracy_drop
    j = judge(
        e.correct[0].astype(bool),
        e.correct[rows],
        max_accuracy_drop=threshold,
        confidence=confidence,
        claim=claim,
        chance=e.chance,
    )
    target = j.drop if target_drop is None else float(target_drop)
    design_target = 0.0 if target_drop is None else float(target_drop)
    sizing = dict(gap=abs(target - threshold), alpha=1 - confidence, items=j.items_used, instructions=j.instructions)
    items_needed, instr_needed = plan_sizes(j.components, **sizing)  # type: ignore[arg-type]
    together = (
        joint_sizes(j.components, **sizing)  # type: ignore[arg-type]
        if items_needed is None and instr_needed is None
        else None
    )
    return TaskPlan(
        task=e.key,
        judgment=j,
        target_drop=target,
        items_needed=items_needed,
        instructions_needed=instr_needed,
        sizes_needed_together=together,
        designs=design_plans(j, target_drop=design_target, confidence=confidence),
        design_target=design_target,
        pilot_design=e.design,
    )


def plan_results(doc: dict[str, Any], source: str = "", **options: Any) -> list[TaskPlan]:
    """A plan per task of a results document (run JSON or plugin JSON)."""
    seen: set[int] = set()
    out = []
    for e in evidence_of(doc, source).values():
        if id(e) in seen:
            continue
        seen.add(id(e))
        out.append(plan_task(e, **options))
    return out


def plan_table(plans: list[TaskPlan]) -> Any:
    """A rich table of the plans, for the terminal."""
    from rich.table import Table
    from rich.text import Text

    table = Table(title="promptcheck plan: what each gate detects now, and what would decide it", title_justify="left")
    table.add_column("task", overflow="fold")
    for col in ("size", "drop", "verdict", "detects", "would decide"):
        table.add_column(col, justify="right" if col in ("drop", "detects") else "left", no_wrap=col != "would decide")

    def lever(p: TaskPlan) -> str:
        parts = []
        for name, x in (("items", p.items_needed), ("instructions", p.instructions_needed)):
            if x is not None:
                parts.append(
                    f"{x} {name}"
                    + (
                        "*"
                        if p.cheaper_lever == name and p.items_needed is not None and p.instructions_needed is not None
                        else ""
                    )
                )
        if not parts and p.sizes_needed_together is not None:
            return "{} items with {} instructions".format(*p.sizes_needed_together)
        return " or ".join(parts) if parts else "no affordable size"

    for p in plans:
        mdd = "none" if p.minimum_detectable_drop is None else f"{100 * p.minimum_detectable_drop:.1f}"
        table.add_row(
            Text(p.task),
            f"{p.items} x {p.instructions}"
            + (f" ({p.pilot_design.get('instructions_per_item')} per item)" if p.pilot_design else ""),
            f"{100 * p.judgment.drop:+.1f}",
            p.judgment.verdict,
            mdd,
            lever(p),
        )
    targets = (
        sorted({p.target_drop for p in plans}) if plans and plans[0].target_drop != plans[0].judgment.drop else None
    )
    table.caption = (
        "points; detects = the true drop failed 80% of the time at this size (none: no drop the reference "
        "allows would be); would decide = items at "
        "this instruction count, or instructions at this item count, for 80% power at a true drop of "
        + (", ".join(f"{100 * t:+.1f}" for t in targets) if targets else "the drop measured")
        + " (* = fewer prompts; instructions are cheap: --paraphrases N, a written bank)"
    )
    return table


def designs_table(plans: list[TaskPlan]) -> Any:
    """Per task, the designs that decide its gate: the complete one at the pilot's instructions, the
    cheapest at each instruction count, and the recommended one (fewest prompts)."""
    from rich.table import Table
    from rich.text import Text

    table = Table(
        title="promptcheck plan: the prompts each design needs (items x (1 + instructions per item))",
        title_justify="left",
    )
    for col in ("task", "instructions", "per item", "items", "prompts", ""):
        table.add_column(col, justify="right" if col in ("instructions", "per item", "items", "prompts") else "left")
    for p in plans:
        best = p.recommended
        shown: list[DesignPlan] = []
        for m in sorted({d.instructions for d in p.designs}):
            at_m = [d for d in p.designs if d.instructions == m]
            reachable = [d for d in at_m if d.prompts is not None]
            pick = [d for d in at_m if d.complete and m == p.instructions]
            if reachable:
                pick.append(min(reachable, key=lambda d: (d.prompts, -d.per_item)))
            if best is not None and best.instructions == m:
                pick.append(best)
            for d in pick:
                if d not in shown:
                    shown.append(d)
        for d in shown or p.designs[:1]:
            notes = []
            if d == best:
                notes.append("recommended")
            if d.complete:
                notes.append("complete")
            if d.instructions > p.instructions:
                notes.append(f"{d.instructions - p.instructions} more instructions (--paraphrases N, a written bank)")
            table.add_row(
                Text(p.task),
                str(d.instructions),
                str(d.per_item),
                "none" if d.items is None else str(d.items),
                "-" if d.prompts is None else str(d.prompts),
                ", ".join(notes),
            )
    targets = sorted({p.design_target for p in plans})
    table.caption = (
        "items that decide at 80% power for a true drop of "
        + ", ".join(f"{100 * t:+.1f}" for t in targets)
        + " points (0: a model with no drop passes; --target-drop sets it); a design scores every item under the "
        "reference and `per item` of the instructions (run --instructions-per-item K, a suite's "
        "instructions_per_item: K); none: no number of items decides"
    )
    return table
