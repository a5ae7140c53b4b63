"""Rich tables for the terminal. Renders numbers computed elsewhere; computes none of its own."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from promptcheck.evaluate.results import TaskResult
from promptcheck.stats.summary import summarize_sets


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _drop(x: float) -> Text:
    style = "red" if x >= 0.05 else ("yellow" if x > 0 else "green")
    return Text(f"{100 * x:+.1f} pts", style=style)


def task_table(result: TaskResult) -> Table:
    """Reference accuracy, then mean and worst accuracy per instruction set and their drops."""
    task = result.task
    table = Table(
        title=f"{task.name}  ({task.kind}, {task.format}, {len(task.items)} items"
              + (f" ({len(result.skipped_items)} too long, skipped)" if result.skipped_items else "")
              + (f", a sample of {task.population}" if task.limit is not None else "")
              + f", chance {_pct(task.chance)})",
        title_justify="left",
    )
    table.add_column("instructions")
    table.add_column("n", justify="right")
    table.add_column("mean acc", justify="right")
    table.add_column("worst acc", justify="right")
    table.add_column("drop (mean)", justify="right")
    table.add_column("drop (worst)", justify="right")
    ref = result.reference_accuracy
    table.add_row("reference", "1", _pct(ref), _pct(ref), "", "")
    for s in summarize_sets(result):
        table.add_row(s.kind, str(s.n_instructions), _pct(s.mean_accuracy), _pct(s.worst_accuracy),
                      _drop(s.drop), _drop(s.worst_drop))
    return table


def instruction_table(result: TaskResult) -> Table:
    """Every instruction with its kind and accuracy (``promptcheck run --verbose``)."""
    table = Table(title=f"{result.task.name}: accuracy per instruction", title_justify="left")
    table.add_column("kind")
    table.add_column("accuracy", justify="right")
    table.add_column("instruction", overflow="fold")
    for r in result.instructions:
        # Text(), not markup: instructions are user data and may contain "[...]".
        table.add_row(r.kind, _pct(r.accuracy), Text(r.text))
    return table


def print_task(console: Console, result: TaskResult, *, verbose: bool = False) -> None:
    console.print(task_table(result))
    if verbose:
        console.print(instruction_table(result))
