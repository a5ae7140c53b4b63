"""A prompt budget instead of a size: how many items, under which design, judged in which rounds.

``run --budget PROMPTS``, ``--promptcheck-budget`` and ``assert_robust(..., budget=...)`` spend at
most ``PROMPTS`` prompts on a task: the reference and the compared instructions (the gate scores
nothing else), over a seeded item order, in rounds. After each round the verdict is judged with
the alpha of :func:`promptcheck.stats.verdicts.look_plan` (the rounds are the sequential looks,
fractions of the items the budget buys), and scoring stops at the first round that decides, or
when the budget is spent, or when the task's items run out. Every output says which.

The design a budget buys (:func:`plan_budget`), when none is given: the drop's variance per
prompt is ``(1 + k) (s2_items + s2_resid / k) / budget`` for ``k`` instructions per item, lowest
at ``k = sd_resid / sd_items``; on the simulation grid (docs/statistics.md, "Prompts to reach a
complete design's minimum detectable drop") 2 per item was the cheapest design in every cell
with 12 or more instructions. So a budget that cannot score every item under every compared
instruction scores as many items as it can at 2 per item, and more per item only when the items
run out first (all items, ``budget // items - 1`` per item). Components from a pilot could pick
``k`` better; ``promptcheck plan`` does that, and ``--instructions-per-item`` takes its advice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from promptcheck.errors import InputError
from promptcheck.options import budget_problem
from promptcheck.stats.verdicts import MIN_LOOK_ITEMS, Look, look_plan

#: Instructions per item a budget picks when the items outnumber what it can score completely.
BUDGET_PER_ITEM = 2
#: Why scoring under a budget stopped.
STOPS = ("decided", "budget spent", "items exhausted")


@dataclass(frozen=True)
class BudgetPlan:
    """What a budget buys on one task: ``items`` of the seeded order, each under the reference and
    ``instructions_per_item`` compared instructions (None: all ``compared``), judged at ``looks``."""

    budget: int
    items_available: int
    compared: int
    instructions_per_item: int | None
    items: int
    looks: tuple[Look, ...]

    @property
    def prompts_per_item(self) -> int:
        return 1 + (self.instructions_per_item or self.compared)

    @property
    def prompts(self) -> int:
        """Prompts the budget plans to score (at most ``budget``)."""
        return self.items * self.prompts_per_item

    @property
    def rounds(self) -> tuple[int, ...]:
        """The item count at the end of each round."""
        return tuple(lk.items for lk in self.looks)


def plan_budget(
    budget: int,
    *,
    items: int,
    compared: int,
    per_item: int | None = None,
    looks: Sequence[float] = (0.25, 0.5, 1.0),
    alpha: float = 0.05,
) -> BudgetPlan:
    """The items, design and rounds ``budget`` prompts buy on a task of ``items`` items and
    ``compared`` compared instructions; ``per_item``: a design given (else :data:`BUDGET_PER_ITEM`
    when the budget cannot score every item completely; module docstring).

    A budget that cannot score one round (:data:`MIN_LOOK_ITEMS` items, or every item of a smaller
    task) is refused in one line naming ``budget``.

    >>> plan_budget(1200, items=500, compared=12).items, plan_budget(1200, items=500, compared=12).instructions_per_item
    (400, 2)
    """
    problem = budget_problem(budget)
    if problem:
        raise InputError(problem, field="budget")
    budget = int(budget)
    if compared < 1 or items < 1:
        raise InputError("nothing to score: the task has no items or no compared instructions", field="budget")
    if per_item is not None and per_item > compared:
        raise InputError(
            f"{per_item} instructions per item, but only {compared} compared instructions",
            field="instructions_per_item",
        )
    k = per_item
    if k is None and budget < items * (1 + compared):
        # All items at more per item when the items run out first, else as many items as 2 per item buy.
        k = min(compared, max(BUDGET_PER_ITEM, budget // items - 1))
    if per_item is None and k == compared:
        k = None  # chosen, and every compared instruction: the complete design (a design given is kept)
    per = 1 + (k or compared)
    n = min(items, budget // per)
    least = min(items, MIN_LOOK_ITEMS)
    if n < least:
        design = f"1 + {k} of {compared}" if k else f"1 + {compared}"
        sparser = (
            f"; 1 instruction per item would need {least * 2} (instructions_per_item 1)"
            if (k or compared) > 1 and least * 2 <= budget
            else ""
        )
        raise InputError(
            f"a budget of {budget} prompts is smaller than one round: {least} items x ({design}) "
            f"instructions = {least * per} prompts{sparser}",
            field="budget",
        )
    return BudgetPlan(budget, items, compared, k, n, look_plan(n, tuple(looks), alpha))


def stop_reason(verdict: str, plan: BudgetPlan) -> str:
    """Why scoring stopped: the verdict decided, or every round was scored and the budget was spent
    (fewer items bought than the task has) or the items ran out (the budget would have bought more)."""
    if verdict in ("pass", "fail"):
        return "decided"
    return "budget spent" if plan.items < plan.items_available else "items exhausted"


@dataclass(frozen=True)
class BudgetOutcome:
    """What a budget bought: the plan, the prompts scored, the rounds judged and why it stopped."""

    plan: BudgetPlan
    prompts: int
    items: int
    rounds_used: int
    stopped: str

    def to_json(self) -> dict[str, Any]:
        """The results file's ``budget`` block (docs/results-schema.md)."""
        p = self.plan
        return {
            "budget": p.budget,
            "prompts": self.prompts,
            "stopped": self.stopped,
            "rounds_used": self.rounds_used,
            "rounds_planned": len(p.looks),
            "round_items": list(p.rounds),
            "items": self.items,
            "items_planned": p.items,
            "items_available": p.items_available,
            "instructions_per_item": p.instructions_per_item,
            "compared_instructions": p.compared,
        }


def budget_outcome(plan: BudgetPlan, *, verdict: str, rounds: int, prompts: int, items: int) -> BudgetOutcome:
    """The record of a budgeted scoring that ended with ``verdict`` after ``rounds`` rounds."""
    return BudgetOutcome(plan, int(prompts), int(items), int(rounds), stop_reason(verdict, plan))
