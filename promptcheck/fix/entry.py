"""``plan_fix``: the library entry point behind ``promptcheck fix``, before any model loads.

As :func:`promptcheck.pipeline.plan_run` does for ``run``: the front end parses options, this
reads and checks every input (the tasks, from suite files or a gate's failures.json; the
threshold the fix is held to; the model it may train) so a typo costs a second, then
:func:`promptcheck.fix.run.run_fix` trains, and the front end renders its report.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from promptcheck.errors import InputError
from promptcheck.fix.config import FixConfig
from promptcheck.tasks.records import Task


@dataclass(frozen=True)
class FixPlan:
    """The tasks to fix, the model to train on and the checked configuration."""

    tasks: tuple[Task, ...]
    model: str
    config: FixConfig


def plan_fix(
    suites: Sequence[str | Path] = (),
    from_failures: str | Path | None = None,
    *,
    model: str | None = None,
    config: dict[str, Any] | None = None,
    max_accuracy_drop: float | None = None,
    limit: int | None = None,
) -> FixPlan:
    """Read and check what ``promptcheck fix`` is asked to do.

    The threshold the fix must meet, in order: ``max_accuracy_drop`` (the user's), else the
    strictest gate that failed in ``from_failures``, else :class:`FixConfig`'s default. The model:
    ``model``, else the one the failing gate tested, else ``default``; a served model is refused
    (a soft prompt needs gradients through the model, in this process). Each task is split as
    ``run_fix`` will split it, so what cannot be fixed is refused here in one line (a free-form task
    without unobserved instructions of its own, or whose matching reads no bare accepted answer as
    correct unless ``mode`` is ``kl``: :func:`promptcheck.fix.data.split_task`).
    """
    from promptcheck.failures import gates_from_failures, tasks_from_failures
    from promptcheck.fix.data import split_task
    from promptcheck.models.served import is_url
    from promptcheck.tasks.suite import load_task

    if bool(suites) == bool(from_failures):
        raise InputError(
            "name the tasks to fix: suite files, or --from .promptcheck/failures.json (not both)", field="suites"
        )
    kwargs = dict(config or {})
    if from_failures:
        tasks, gated_model = tasks_from_failures(Path(from_failures), limit=limit)
        model = model or gated_model
        gates = gates_from_failures(Path(from_failures))
        if max_accuracy_drop is None and gates:
            max_accuracy_drop = min(gates.values())  # the strictest gate that failed
    else:
        tasks = [load_task(p, limit=limit) for p in suites]
    if max_accuracy_drop is not None:
        kwargs["gate_threshold"] = max_accuracy_drop
    cfg = FixConfig(**kwargs)
    model = model or "default"
    if is_url(model):
        raise InputError("fix trains a soft prompt in-process; name a local model, not a served one", field="model")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # run_fix splits again and warns then, once
        for t in tasks:
            split_task(t, cfg)  # validate before a model loads
    return FixPlan(tuple(tasks), model, cfg)
