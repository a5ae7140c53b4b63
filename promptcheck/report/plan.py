"""``promptcheck plan``: what a gate can detect at its size, and what size would decide it.

A finished run (``promptcheck run --json``) or a pytest gate's ``--promptcheck-json`` is the
pilot: its per-item evidence gives the variance components (items, instructions, residual) of
each task, and :func:`promptcheck.stats.judge` / :func:`promptcheck.stats.plan_sizes` turn them
into the minimum detectable drop now and the items or instructions that would decide. Nothing
here is a new statistic; this module lines the evidence up and renders the answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from promptcheck.options import VerdictOptions
from promptcheck.report.compare import Evidence, compared_rows, evidence_of
from promptcheck.stats.sets import claim_for
from promptcheck.stats.verdicts import Judgment, joint_sizes, judge, plan_sizes


@dataclass(frozen=True)
class TaskPlan:
    """One task's pilot judgment and what would decide its gate (the judgment is the one record of
    the verdict; the sizes are planned here, for ``target_drop``)."""

    task: str
    judgment: Judgment
    target_drop: float
    items_needed: int | None
    instructions_needed: int | None
    #: When neither alone decides: items and instructions grown together (:func:`~promptcheck.stats.verdicts.joint_sizes`).
    sizes_needed_together: tuple[int, int] | None = None

    @property
    def items(self) -> int:
        return self.judgment.items_used

    @property
    def instructions(self) -> int:
        return self.judgment.instructions

    @property
    def minimum_detectable_drop(self) -> float | None:
        return self.judgment.minimum_detectable_drop

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
        }


def plan_task(
    e: Evidence, *, threshold: float | None = None, confidence: float = 0.95, target_drop: float | None = None
) -> TaskPlan:
    """The plan for one task's evidence (row 0 the reference): the instructions, claim and (unless
    ``threshold`` is given) threshold the gate used, or a verdict's defaults for a run JSON.
    ``target_drop``: the true drop to plan for (default: the drop the pilot measured)."""
    rows = compared_rows(e)
    claim = e.claim or claim_for([e.kinds[j] for j in rows])
    if threshold is None:
        threshold = e.threshold if e.threshold is not None else VerdictOptions().max_accuracy_drop
    j = judge(
        e.correct[0], e.correct[rows], max_accuracy_drop=threshold, confidence=confidence, claim=claim, chance=e.chance
    )
    target = j.drop if target_drop is None else float(target_drop)
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
            f"{p.items} x {p.instructions}",
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
