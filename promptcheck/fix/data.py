"""What ``fix`` trains and checks on: per task, a seeded split of items and of instructions.

Held out means held out twice: the report's held-out figures use items *and* instructions
that training never saw, so a gain cannot come from memorised answers. Model selection uses a
third split (validation items and instructions), so the held-out figures are never tuned on.
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
    train_items: tuple[MCItem, ...]  # items the soft prompt trains on
    heldout_items: tuple[MCItem, ...]  # the report's items: never trained on, never used for selection
    train_instructions: tuple[str, ...]  # the phrasing pool minus the validation ones
    heldout_instructions: tuple[str, ...]  # unobserved: never trained on, never used for selection
    val_items: tuple[MCItem, ...] = ()  # model selection: checkpoint and hyper-parameters
    val_instructions: tuple[str, ...] = ()
    train_sources: tuple[str, ...] = ()  # where each training instruction came from (phrasings.SOURCES)


def _share(n: int, share: float, *, keep: int) -> int:
    """How many of ``n`` go to the smaller side: ``round(n * share)``, at least 1, leaving ``keep``."""
    if share <= 0 or n <= keep:
        return 0
    return min(max(1, round(n * share)), n - keep)


def split_task(task: Task, cfg: FixConfig) -> FixTask:
    """Seeded splits: held-out items (report), validation items and instructions (selection), training.

    Held-out items and unobserved instructions are the report's check only. Validation
    instructions come from the *written* phrasings (observed and bank), since held-out ones are
    written by people too; generated and structural phrasings only train.
    """
    from promptcheck.fix.phrasings import phrasing_pool

    sources = cfg.sources()
    if not task.observed and not set(sources) - {"observed"}:
        raise InputError(
            "has no observed instructions to train on (add instructions.observed or use --phrasings)",
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
    rest = items[n_held:]
    n_val_items = _share(len(rest), cfg.val_items, keep=2)
    pool = phrasing_pool(task, sources=sources, generated=cfg.generated, seed=cfg.seed)
    if not pool:
        raise InputError(
            "has no training phrasings left (every one equals the reference or a held-out instruction)",
            file=task.source or None,
            field="instructions.observed",
        )
    written = [p for p in pool if p.source in ("observed", "bank")]
    random.Random(f"{cfg.seed}:{task.name}:instructions").shuffle(written)
    n_val = _share(len(written), cfg.val_instructions, keep=1) if n_val_items else 0
    val = {p.text for p in written[:n_val]}
    train = [p for p in pool if p.text not in val]
    return FixTask(
        task=task,
        train_items=tuple(rest[n_val_items:]),
        heldout_items=tuple(items[:n_held]),
        train_instructions=tuple(p.text for p in train),
        heldout_instructions=tuple(task.unobserved),
        val_items=tuple(rest[:n_val_items]),
        val_instructions=tuple(p.text for p in written[:n_val]),
        train_sources=tuple(p.source for p in train),
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


def gates_from_failures(path: Path) -> dict[str, float]:
    """Per failing task, the threshold of the gate that failed (the smallest, if several tests gated it).

    ``fix`` reports whether *that* gate would now pass; read after :func:`tasks_from_failures`
    has validated the file.
    """
    doc = json.loads(path.read_text(encoding="utf-8"))
    out: dict[str, float] = {}
    for t in doc.get("tasks") or ():
        raw = [v.get("threshold") for v in t.get("verdicts") or () if isinstance(v, dict)]
        thresholds = [float(x) for x in raw if isinstance(x, (int, float))]
        if thresholds and isinstance(t.get("name"), str):
            out[t["name"]] = min(thresholds)
    return out
