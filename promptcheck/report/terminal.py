"""Rich tables for the terminal. Renders numbers computed elsewhere; computes none of its own."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from promptcheck.evaluation.results import TaskResult


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def baselines(chance: float, guessing: float) -> str:
    """``chance 25.0%``, or ``chance 25.0%, guessing 40.0%`` when answering the same every time beats a
    uniform guess (docs/statistics.md names the two the same way in every output)."""
    text = f"chance {_pct(chance)}"
    return text + (f", guessing {_pct(guessing)}" if guessing > chance + 1e-9 else "")


def _drop(x: float, threshold: float = 0.05) -> Text:
    style = "red" if x >= threshold else ("yellow" if x > 0 else "green")
    return Text(f"{100 * x:+.1f}", style=style)


def task_table(result: TaskResult, statistics: Any) -> Table:
    """Reference accuracy, then per instruction set: mean and worst accuracy, the drop with the
    verdict's one-sided bounds and the verdict, all from ``statistics`` (the task's
    :class:`~promptcheck.stats.task.TaskStatistics`, made when the task finished: this renders,
    it computes nothing; claims are named in docs/statistics.md)."""
    task = result.task
    threshold, confidence = statistics.threshold, statistics.confidence
    guessing = statistics.guessing
    table = Table(
        title=f"{task.name}  ({'free-form' if task.generative else f'{task.kind}, {task.format}'}, {len(task.items)} items"
        + (f" ({len(result.skipped_items)} too long, skipped)" if result.skipped_items else "")
        + (f", a sample of {task.population}" if task.limit is not None else "")
        + (f", {baselines(guessing.chance, guessing.guessing)})" if guessing else ")"),
        title_justify="left",
    )
    table.add_column("instructions", no_wrap=True)  # set names: a CI log must not split them
    table.add_column("n", justify="right")
    table.add_column("mean acc", justify="right")
    table.add_column("worst acc", justify="right")
    table.add_column("drop", justify="right", no_wrap=True)
    # A sequential verdict (a budget's rounds) bounds at the level of the look that decided it.
    level = statistics.robustness.judgment.bound_confidence if statistics.robustness else confidence
    table.add_column(f"{100 * level:.4g}% bounds", justify="right", no_wrap=True)
    table.add_column("verdict", no_wrap=True)
    table.add_column("worst drop", justify="right", no_wrap=True)
    ref = result.reference_accuracy
    table.add_row("reference", "1", _pct(ref), _pct(ref), "", "", "", "")
    undecided: list[str] = []
    for s in statistics.sets:
        j = s.statistics.judgment
        bounds = (
            "n/a"
            if not j.looks_used
            else (f"[{100 * j.interval.low:+.1f}, {100 * j.interval.high:+.1f}]" if j.decidable else "cannot decide")
        )
        if not j.decidable:
            undecided.append(f"{s.kind}: cannot decide at this size; {j.power_note()}")
        table.add_row(
            s.kind,
            str(s.n_instructions),
            _pct(s.mean_accuracy),
            _pct(s.worst_accuracy),
            _drop(s.drop, threshold),
            bounds,
            Text(j.verdict, style=_VERDICT_STYLE[j.verdict]),
            _drop(s.worst_drop, threshold),
        )
    table.caption = (
        f"drops in points vs the reference; bounds one-sided at {100 * level:.4g}% each; verdict at "
        f"{100 * threshold:g} points (docs/statistics.md)"
    )
    notes = [
        *undecided,
        *filter(None, [design_note(result), guessing_note(result, guessing), form_note(result, statistics)]),
    ]
    if notes:
        table.caption = Text.assemble(*[(n + "\n", "yellow") for n in notes], (table.caption, "table.caption"))
    return table


def design_note(result: TaskResult) -> str | None:
    """A line when the task was scored under an incomplete design (``run --instructions-per-item``)."""
    design = result.design
    if not design:
        return None
    scored = {r.kind for r in result.instructions}
    left = sorted({i.kind for i in result.task.instructions()} - scored)
    return (
        f"incomplete design: each item under the reference and {design['instructions_per_item']} of the "
        f"{design['compared_instructions']} compared instructions (seed {design['seed']}), {result.prompts_scored} "
        "prompts; each instruction's accuracy is over its own items"
        + (f"; {', '.join(left)} instructions not scored" if left else "")
    )


def guessing_note(result: TaskResult, guessing: Any) -> str | None:
    """A line when the reference is not clearly above guessing (``guessing``: the task statistics'
    :class:`~promptcheck.stats.task.Guessing`): a "pass" then says the other instructions do no
    worse than a guess, not that the model does the task (a user's 3-topic suite: reference
    12/30 = 40%, both sets "pass")."""
    ref = result.reference
    if ref is None or guessing is None or guessing.above:
        return None
    return (
        f"reference {_pct(ref.accuracy)} is not clearly above guessing {_pct(guessing.guessing)} (the better of chance "
        f"and giving the same answer every time; {100 * guessing.confidence:g}% lower bound {_pct(guessing.lower_bound)}): "
        "the model may not do this task, and a pass says only that other instructions do no worse"
    )


def form_note(result: TaskResult, statistics: Any) -> str | None:
    """A free-form task: the compared instructions' drop split into form and content, with bounds,
    and the instructions whose drop is the form's alone (statistics made in ``stats.outcomes``)."""
    parts = statistics.parts
    if parts is None:
        return None

    def part(j: Any) -> str:
        return f"{100 * j.drop:+.1f} [{100 * j.interval.low:+.1f}, {100 * j.interval.high:+.1f}]"

    text = (
        f"free-form answers: of the drop, form (misformatted or unparsed) {part(parts.form)}, "
        f"content (wrong) {part(parts.content)} points"
    )
    only = [r for r, flag in zip(result.instructions, statistics.form_only) if flag]
    if only:
        text += f"; {len(only)} instruction(s) break only the answer's form (marked in run -v)"
    return text


_VERDICT_STYLE = {"pass": "green", "fail": "red", "inconclusive": "yellow"}


def instruction_table(result: TaskResult, statistics: Any = None) -> Table:
    """Every instruction with its kind and accuracy (``promptcheck run --verbose``)."""
    free = result.task.generative
    table = Table(title=f"{result.task.name}: accuracy per instruction", title_justify="left")
    table.add_column("kind", no_wrap=True)
    table.add_column("accuracy", justify="right")
    form_only = tuple(getattr(statistics, "form_only", ()) or ())
    if free:
        table.add_column("misformatted", justify="right")
        table.add_column("unparsed", justify="right")
        table.add_column("breaks", no_wrap=True)
    table.add_column("instruction", overflow="fold")
    for j, r in enumerate(result.instructions):
        # Text(), not markup: instructions are user data and may contain "[...]".
        breaks = "form only" if j < len(form_only) and form_only[j] else ""
        rates = (
            [_pct(r.outcome_rate("misformatted") or 0.0), _pct(r.outcome_rate("unparsed") or 0.0), breaks]
            if free
            else []
        )
        table.add_row(r.kind, _pct(r.accuracy), *rates, Text(r.text))
    return table


def print_task(
    console: Console, result: TaskResult, statistics: Any, *, verbose: bool = False, note: str | None = None
) -> None:
    """The task's table; ``note``: a line under it (what promptcheck compared the task with)."""
    console.print(task_table(result, statistics))
    if note:
        console.print(Text(note, style="yellow"))
    if getattr(statistics, "budget", None) is not None:
        console.print(Text(describe_budget(statistics.budget.to_json())))
    if verbose:
        console.print(instruction_table(result, statistics))


def describe_budget(block: dict[str, Any]) -> str:
    """The one line every output prints of a results file's ``budget`` block (table, message, HTML)."""
    k, m = block["instructions_per_item"], block["compared_instructions"]
    design = f"{k} of {m} instructions per item" if k else f"all {m} instruction{'s' * (m != 1)} per item"
    why = {
        "decided": "decided",
        "budget spent": "budget spent, undecided",
        "items exhausted": "items exhausted, undecided (every item given was scored)",
    }.get(block["stopped"], block["stopped"])
    return (
        f"budget {block['budget']:,} prompts: {why} after round {block['rounds_used']} of {block['rounds_planned']} "
        f"({block['prompts']:,} prompts, {block['items']} of {block['items_available']} items, {design})"
    )
