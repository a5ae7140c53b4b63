"""What ``fix`` trains and checks on: per task, a seeded split of items and of instructions.

Held out means held out twice: the report's held-out figures use items *and* instructions
that training never saw, so a gain cannot come from memorised answers.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

from promptcheck.errors import InputError
from promptcheck.fix.config import FixConfig
from promptcheck.tasks.records import MCItem, Task
from promptcheck.tasks.suite import load_task


@dataclass(frozen=True)
class FixTask:
    task: Task
    train_items: tuple[MCItem, ...]
    heldout_items: tuple[MCItem, ...]
    train_instructions: tuple[str, ...]  # observed (+ generated): seen in training
    heldout_instructions: tuple[str, ...]  # unobserved: never seen in training


def split_task(task: Task, cfg: FixConfig) -> FixTask:
    """Seeded item split; observed (+ generated) instructions train, unobserved ones are held out."""
    if not task.observed and not cfg.generated:
        raise InputError(
            "has no observed instructions to train on (add instructions.observed or use --generated N)",
            file=task.source or None,
            field="instructions.observed",
        )
    if not task.unobserved:
        raise InputError(
            "has no unobserved instructions to check the fix on (add instructions.unobserved)",
            file=task.source or None,
            field="instructions.unobserved",
        )
    if not 0 < cfg.heldout_items < 1:
        raise InputError(f"must be between 0 and 1, got {cfg.heldout_items}", field="heldout_items")
    items = list(task.items)
    random.Random(f"{cfg.seed}:{task.name}").shuffle(items)
    n_held = max(1, round(len(items) * cfg.heldout_items))
    if n_held >= len(items):
        raise InputError(
            "needs at least 2 items to split into training and held-out sets", file=task.source or None, field="items"
        )
    train_instructions = list(task.observed)
    if cfg.generated:
        from promptcheck.paraphrase.generate import paraphrases

        taken = set(task.observed) | set(task.unobserved) | {task.reference_instruction}
        train_instructions += [
            p.text
            for p in paraphrases(task.reference_instruction, n=cfg.generated + len(taken), seed=cfg.seed)
            if p.text not in taken
        ][: cfg.generated]
    return FixTask(
        task=task,
        train_items=tuple(items[n_held:]),
        heldout_items=tuple(items[:n_held]),
        train_instructions=tuple(train_instructions),
        heldout_instructions=tuple(task.unobserved),
    )


def tasks_from_failures(path: Path, *, limit: int | None = None) -> tuple[list[Task], str | None]:
    """The tasks named in a ``.promptcheck/failures.json`` written by the pytest plugin, and the model it tested."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("file not found (run the pytest gate first; it writes failures here)", file=path) from None
    except json.JSONDecodeError as exc:
        raise InputError(f"invalid JSON: {exc.msg}", file=path, line=exc.lineno) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read file: {getattr(exc, 'strerror', None) or exc}", file=path) from None
    tasks_json = doc.get("tasks") if isinstance(doc, dict) else None
    if not isinstance(tasks_json, list) or not tasks_json:
        raise InputError("has no failing tasks to fix", file=path, field="tasks")
    out = []
    for i, t in enumerate(tasks_json):
        source = t.get("source") if isinstance(t, dict) else None
        if not isinstance(source, str) or not source:
            raise InputError("missing the task's suite file", file=path, field=f"tasks[{i}].source")
        out.append(load_task(Path(source), limit=limit))  # absolute, or relative to where pytest ran
    option = doc.get("model_option")
    return out, option if isinstance(option, str) and option else None
