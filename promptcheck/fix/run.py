"""``run_fix``: measure before, train the soft prompt, measure after, save adapter and report.

Before/after figures come from :func:`promptcheck.evaluate` (the same code path as every
other number promptcheck reports), on held-out items under the reference, the training
(observed) instructions and the held-out (unobserved) instructions.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from promptcheck.errors import InputError
from promptcheck.evaluation.runner import evaluate
from promptcheck.fileio import atomic_write_json
from promptcheck.fix.config import FixConfig
from promptcheck.fix.data import FixTask, split_task
from promptcheck.fix.train import TrainState, attach_soft_prompt, base_checksum, train
from promptcheck.models.hf import HFScorer
from promptcheck.stats.verdicts import judge
from promptcheck.tasks.records import Instruction, Task

REPORT = "fix_report.json"


def measure(scorer: HFScorer, ft: FixTask, cfg: FixConfig) -> dict[str, Any]:
    """Reference accuracy and drops on the held-out items (drop = reference minus mean over a set)."""
    task = replace(ft.task, items=ft.heldout_items)
    instructions = [Instruction(task.reference_instruction, "reference")]
    instructions += [Instruction(t, "observed") for t in ft.train_instructions]
    instructions += [Instruction(t, "unobserved") for t in ft.heldout_instructions]
    result = evaluate(scorer, task, instructions)
    ref = np.asarray(result.instructions[0].correct, dtype=bool)
    obs = np.asarray([r.correct for r in result.instructions if r.kind == "observed"], dtype=bool)
    held = np.asarray([r.correct for r in result.instructions if r.kind == "unobserved"], dtype=bool)
    # The same rule as the gate (promptcheck.stats.judge), so "would the gate pass now" is answerable.
    gate = judge(ref, held, claim="phrasings" if held.shape[0] > 1 else "instructions", seed=cfg.seed)
    return {
        "reference_accuracy": float(ref.mean()),
        "observed_accuracy": float(obs.mean()),
        "heldout_accuracy": float(held.mean()),
        "observed_drop": float(ref.mean() - obs.mean(axis=1).mean()),
        "heldout_drop": float(ref.mean() - held.mean(axis=1).mean()),
        "heldout_drop_interval": gate.interval.to_json(),
        "heldout_verdict": gate.verdict,
        "items": int(ref.size),
        "heldout_instructions": int(held.shape[0]),
    }


def _folder_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "task"


def run_fix(
    scorer: HFScorer,
    tasks: list[Task],
    cfg: FixConfig,
    out: Path,
    *,
    resume: bool = False,
    joint: bool = False,
    on_phase: Callable[[str], None] | None = None,
    on_step: Callable[[TrainState, float], None] | None = None,
) -> dict[str, Any]:
    """The whole ``promptcheck fix``; returns the report (also written to ``out/fix_report.json``).

    Several tasks get one adapter each, in ``out/<task name>/`` (``joint=True``: one soft prompt
    shared by all, in ``out``). Per task is the default because one soft prompt for unlike tasks
    collapsed the default model's answers (docs/fix.md).
    """
    if len(tasks) == 1 or joint:
        return _run_one(scorer, tasks, cfg, out, resume=resume, on_phase=on_phase, on_step=on_step)
    names = [_folder_name(t.name) for t in tasks]
    if len(set(names)) != len(names):
        raise InputError("two tasks have the same name; give each suite its own name", field="name")
    say = on_phase or (lambda _msg: None)
    reports = []
    for task, name in zip(tasks, names):
        # Tasks not yet started when a per-task run was interrupted have no checkpoint: start them.
        started = (out / name / "checkpoint.pt").is_file()
        reports.append(
            _run_one(
                scorer,
                [task],
                cfg,
                out / name,
                resume=resume and started,
                on_phase=lambda msg, n=name: say(f"{n}: {msg}"),  # type: ignore[misc]  # mypy cannot type a default-bound lambda
                on_step=on_step,
            )
        )
    harmed = [h for r in reports for h in r["harm_check"]["harmed_tasks"]]
    combined = {
        "schema_version": 1,
        "model": scorer.identity.to_json(),
        "per_task_adapters": True,
        "config": cfg.to_json(),
        "tasks": [{**r["tasks"][0], "adapter": r["adapter"], "training_curve": r["training_curve"]} for r in reports],
        "training_curve": [],
        "harm_check": {"tolerance": cfg.harm_tolerance, "harmed_tasks": harmed, "ok": not harmed},
        "seconds": {
            "train": round(sum(r["seconds"]["train"] for r in reports), 1),
            "total": round(sum(r["seconds"]["total"] for r in reports), 1),
        },
    }
    atomic_write_json(out / REPORT, combined)
    return combined


def _run_one(
    scorer: HFScorer,
    tasks: list[Task],
    cfg: FixConfig,
    out: Path,
    *,
    resume: bool,
    on_phase: Callable[[str], None] | None,
    on_step: Callable[[TrainState, float], None] | None,
) -> dict[str, Any]:
    started = time.perf_counter()
    splits = [split_task(t, cfg) for t in tasks]
    say = on_phase or (lambda _msg: None)
    say("measuring before")
    before = [measure(scorer, ft, cfg) for ft in splits]
    checksum = base_checksum(scorer.model)
    tuned = attach_soft_prompt(scorer, cfg, tasks[0].reference_instruction)
    say("training")
    t0 = time.perf_counter()
    state = train(tuned, splits, cfg, out, resume=resume, on_step=on_step)
    train_seconds = time.perf_counter() - t0
    if base_checksum(tuned.model) != checksum:
        raise AssertionError("a base-model parameter changed during fix; only the soft prompt may train")
    try:
        tuned.model.save_pretrained(str(out))
    except OSError as exc:
        raise InputError(f"cannot save the adapter: {exc.strerror or exc}", file=out, field="--out") from None
    from promptcheck.models.loading import adapter_hash

    tuned.identity = replace(scorer.identity, adapter=str(out), adapter_hash=adapter_hash(out))
    say("measuring after")
    after = [measure(tuned, ft, cfg) for ft in splits]
    report_tasks = []
    harmed = []
    for ft, b, a in zip(splits, before, after):
        fell = b["reference_accuracy"] - a["reference_accuracy"]
        if fell > cfg.harm_tolerance + 1e-12:
            harmed.append(ft.task.name)
        report_tasks.append(
            {
                "name": ft.task.name,
                "source": ft.task.source,
                "before": b,
                "after": a,
                "train_items": len(ft.train_items),
                "heldout_items": len(ft.heldout_items),
                "train_instructions": list(ft.train_instructions),
                "heldout_instructions": list(ft.heldout_instructions),
                "reference_accuracy_fell_by": fell,
                "harmed": fell > cfg.harm_tolerance + 1e-12,
                **(
                    {"sample": {"limit": ft.task.limit, "seed": ft.task.sample_seed, "population": ft.task.population}}
                    if ft.task.limit is not None
                    else {}
                ),
            }
        )
    report = {
        "schema_version": 1,
        "model": scorer.identity.to_json(),
        "adapter": {"path": str(out), "hash": tuned.identity.adapter_hash, "format": "peft prompt tuning"},
        "config": cfg.to_json(),
        "tasks": report_tasks,
        "training_curve": state.curve,
        "harm_check": {"tolerance": cfg.harm_tolerance, "harmed_tasks": harmed, "ok": not harmed},
        "seconds": {"train": round(train_seconds, 1), "total": round(time.perf_counter() - started, 1)},
    }
    atomic_write_json(out / "fix_report.json", report)
    return report
