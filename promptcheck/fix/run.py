"""``run_fix``: measure before, train the soft prompt, measure after, save adapter and report.

Before/after figures come from :func:`promptcheck.evaluate` (the same code path as every
other number promptcheck reports), on held-out items under the reference, the training
(observed) instructions and the held-out (unobserved) instructions. A free-form task is
generated and matched there as the gate does it (accuracy: correct outcomes), and its figures
add the misformatted and unparsed rates and the held-out drop's form and content parts.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from promptcheck.errors import InputError
from promptcheck.evaluation.runner import evaluate
from promptcheck.fileio import atomic_write_json
from promptcheck.fix.config import FixConfig
from promptcheck.fix.data import FixTask, split_task
from promptcheck.fix.report import FixReport
from promptcheck.fix.select import baseline, candidates, validator
from promptcheck.fix.train import (
    CHECKPOINT,
    TrainState,
    attach_soft_prompt,
    base_checksum,
    reference_anchors,
    soft_prompt,
    train,
    with_reference_answers,
)
from promptcheck.fix.verdict import accuracy_interval, gate_verdict
from promptcheck.models.base import Scorer
from promptcheck.models.hf import HFScorer
from promptcheck.report.documents import stamp
from promptcheck.stats.sets import item_chance, task_guessing
from promptcheck.tasks.records import Task

REPORT = "fix_report.json"
SEARCH_DIR = "search"  # one folder per candidate, each with its resumable checkpoint


def measure(scorer: Scorer, ft: FixTask, cfg: FixConfig) -> dict[str, Any]:
    """Before/after figures on the held-out items: reference, observed and held-out instructions, the gate.

    ``heldout_gate`` is the gate's rule (:func:`promptcheck.fix.verdict.gate_verdict`) on
    held-out items under held-out instructions: the honest "would the gate pass" with the
    adapter, since the user's own gate also scores items and instructions the adapter trained on.
    """
    task = replace(ft.task, items=ft.heldout_items)
    result = evaluate(scorer, task, task.instructions())
    rows: dict[str, list[np.ndarray]] = {}
    for r in result.instructions:
        rows.setdefault(r.kind, []).append(np.asarray(r.correct, dtype=bool))
    ref = rows["reference"][0]
    held = np.asarray(rows["unobserved"], dtype=bool)
    obs = np.asarray(rows["observed"], dtype=bool) if rows.get("observed") else None
    conf, seed = cfg.gate_confidence, cfg.seed
    gate = gate_verdict(
        ref, held, threshold=cfg.gate_threshold, confidence=conf, seed=seed, chance=item_chance(task.items)
    )
    free = _outcome_figures(result, conf, seed) if task.generative else {}
    return {
        "reference_accuracy": float(ref.mean()),
        "reference_accuracy_interval": accuracy_interval(ref, confidence=conf, seed=seed),
        "heldout_accuracy": float(held.mean()),
        "heldout_accuracy_interval": accuracy_interval(held, confidence=conf, seed=seed),
        "heldout_drop": gate.drop,
        "heldout_drop_interval": gate.interval.to_json(),
        "heldout_gate": gate.to_json(),
        "observed_accuracy": float(obs.mean()) if obs is not None else None,
        "observed_drop": float(ref.mean() - obs.mean(axis=1).mean()) if obs is not None else None,
        "items": int(ref.size),
        "heldout_instructions": int(held.shape[0]),
        **free,
    }


def _outcome_figures(result: Any, confidence: float, seed: int) -> dict[str, Any]:
    """A free-form task's form figures on one side: misformatted and unparsed rates under the
    reference and over the held-out instructions, and the held-out drop split into its form and
    content parts with their bounds (:func:`promptcheck.stats.outcomes.drop_parts`, the split the
    run table shows)."""
    from promptcheck.stats.outcomes import drop_parts
    from promptcheck.stats.sets import claim_for

    ref = next(r for r in result.instructions if r.kind == "reference").outcomes
    held = [r.outcomes for r in result.instructions if r.kind == "unobserved"]
    cells = [o for row in held for o in row]

    def rate(outcomes: Any, name: str) -> float:
        return sum(o == name for o in outcomes) / len(outcomes) if outcomes else float("nan")

    parts = drop_parts(ref, held, claim=claim_for(["unobserved"] * len(held)), confidence=confidence, seed=seed)
    return {
        "reference_misformatted_rate": rate(ref, "misformatted"),
        "reference_unparsed_rate": rate(ref, "unparsed"),
        "heldout_misformatted_rate": rate(cells, "misformatted"),
        "heldout_unparsed_rate": rate(cells, "unparsed"),
        "heldout_drop_parts": parts.to_json(),
    }


def reference_signal(scorer: Scorer, task: Task, confidence: float) -> dict[str, Any]:
    """Is the base model clearly above chance under the reference, on every item fix uses?

    fix pulls other instructions' answers toward the reference instruction's. When the
    reference itself is not clearly above guessing (one-sided Wilson bound at the gate's
    confidence, :func:`promptcheck.stats.verdicts.above_chance`), its "gap" is noise around
    a coin flip, any soft prompt moves items that sit at 50/50, and whether the reference then
    rises or falls on held-out items is luck: on the blind yes/no suite (19/32 = 0.594 under
    the reference, chance 0.5) every mode and seed tried moved held-out items both ways
    (docs/fix.md). All the items fix uses (a large task: its sample), not only the held-out
    half: this looks at the base model, not the adapter.
    """
    from promptcheck.stats.verdicts import above_chance

    ref = next(i for i in task.instructions() if i.kind == "reference")
    (row,) = evaluate(scorer, task, [ref]).instructions
    correct = np.asarray(row.correct, dtype=bool)
    chance = task_guessing(task)
    ok, low = above_chance(correct, chance, confidence)
    return {
        "above_chance": ok,
        "reference_correct": int(correct.sum()),
        "items": int(correct.size),
        "chance": chance,
        "lower_bound": low,
        "confidence": confidence,
    }


def gap_outcome(before: dict, after: dict, harm_tolerance: float) -> dict[str, Any]:
    """Did the fix close the gap? Halved held-out drop, reference not lower by more than the tolerance.

    A fix that raises every accuracy but widens the gap does not fix it, whatever it does to
    the reference.
    """
    fell = before["reference_accuracy"] - after["reference_accuracy"]
    b, a = before["heldout_drop"], after["heldout_drop"]
    halved = a <= b / 2 + 1e-12 if b > 0 else a <= 1e-12  # no drop before: none after either
    kept = fell <= harm_tolerance + 1e-12
    widened = a > b + 1e-12
    # The one summary of the outcome, in the order a reader should hear it (the terminal table,
    # benchmarks/fix_heldout.py); task_problems gives every reason, each on its own line.
    label = (
        "gap closed"
        if halved and kept
        else "held-out drop grew"
        if widened
        else "reference accuracy fell"
        if not kept
        else "held-out drop not halved"
    )
    return {
        "label": label,
        "reference_fell_by": fell,
        "heldout_drop_before": b,
        "heldout_drop_after": a,
        "heldout_drop_halved": bool(halved),
        "reference_kept": bool(kept),
        "gap_closed": bool(halved and kept),
        "gap_widened": bool(widened),
        "gate_passes_after": after["heldout_gate"]["verdict"] == "pass",
    }


def task_problems(
    name: str, outcome: dict, *, feasible: bool, harm_tolerance: float, signal: dict | None = None
) -> list[str]:
    """Why ``name``'s adapter does not do what fix is for, one line each (none: it does; fix exits 0).

    fix is for closing the held-out gap without hurting the reference: any of these makes
    ``promptcheck fix`` exit 3, so a CI step that runs it cannot ship an adapter that did not.
    """
    said = []
    if signal is not None and not signal["above_chance"]:
        k, n = signal["reference_correct"], signal["items"]
        said.append(
            f"NO SIGNAL: {name}: the base model's accuracy under the reference instruction is {k}/{n} = "
            f"{k / n:.3f}, not clearly above chance {signal['chance']:.3f} (a uniform guess, or the most common "
            f"answer every time; {signal['confidence']:.0%} lower bound "
            f"{signal['lower_bound']:.3f}); a gap from a guessing reference is noise and no adapter can be shown to "
            "close it: fix needs a model that does the task under the reference (or more items)"
        )
    if not feasible:
        said.append(
            f"NO SAFE FIX: {name}: every candidate lowered reference accuracy on the validation items; the "
            "adapter saved is the best trade-off found (fix_report.json: selection) and should not be used"
        )
    if not outcome["reference_kept"]:
        said.append(
            f"HARM: {name}: accuracy under the reference instruction fell by "
            f"{100 * outcome['reference_fell_by']:.1f} points on the held-out items (tolerance "
            f"{100 * harm_tolerance:.1f}); the adapter should not be used"
        )
    if not outcome["heldout_drop_halved"]:
        b, a = 100 * outcome["heldout_drop_before"], 100 * outcome["heldout_drop_after"]
        need = f"at most {b / 2:+.1f} (half)" if b > 0 else "at most +0.0 (there was none before)"
        how = "GAP WIDENED" if outcome["gap_widened"] else "GAP NOT CLOSED"
        said.append(
            f"{how}: {name}: held-out drop {b:+.1f} -> {a:+.1f} points on held-out items and instructions, "
            f"needs {need}; the adapter does not fix the gap"
        )
    return said


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
) -> FixReport:
    """The whole ``promptcheck fix``; returns the report, typed (written to ``out/fix_report.json``).

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
        started = (out / name / SEARCH_DIR).is_dir()
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
    docs = [r.document for r in reports]
    problems = [p for r in docs for p in r["problems"]]
    harmed = [h for r in docs for h in r["harm_check"]["harmed_tasks"]]
    infeasible = [n for r in docs for n in r["selection"]["infeasible_tasks"]]
    combined = {
        # the same per-task records as a one-task report, plus each task's adapter
        "model": scorer.identity.to_json(),
        "per_task_adapters": True,
        "config": cfg.to_json(),
        "ok": not problems,
        "problems": problems,
        "tasks": [{**r["tasks"][0], "adapter": r["adapter"], "training_curve": r["training_curve"]} for r in docs],
        "training_curve": [],
        "harm_check": {"tolerance": cfg.harm_tolerance, "harmed_tasks": harmed, "ok": not harmed},
        "selection": {
            "infeasible_tasks": infeasible,
            "ok": not infeasible,
            "per_task": {r["tasks"][0]["name"]: r["selection"] for r in docs},
        },
        "seconds": {
            "train": round(sum(r["seconds"]["train"] for r in docs), 1),
            "total": round(sum(r["seconds"]["total"] for r in docs), 1),
        },
    }
    combined = stamp("fix", combined)
    atomic_write_json(out / REPORT, combined)
    return FixReport.from_document(combined)


def _run_one(
    scorer: HFScorer,
    tasks: list[Task],
    cfg: FixConfig,
    out: Path,
    *,
    resume: bool,
    on_phase: Callable[[str], None] | None,
    on_step: Callable[[TrainState, float], None] | None,
) -> FixReport:
    started = time.perf_counter()
    splits = [split_task(t, cfg) for t in tasks]
    say = on_phase or (lambda _msg: None)
    say("measuring before")
    # The base model's scores through the score cache: the failing gate that sent the user here
    # scored most of these prompts already (held-out items under every suite instruction).
    from promptcheck.models.cache import cached

    untuned = cached(scorer)
    before = [measure(untuned, ft, cfg) for ft in splits]
    signals = [reference_signal(untuned, ft.task, cfg.gate_confidence) for ft in splits]  # the items fix uses
    # One soft prompt for several tasks (--joint) trains and selects on those whose reference is
    # above chance: a guessing task's validation "falls" are coin flips that would decide the harm
    # constraint for all. It is still measured with the adapter and reported (NO SIGNAL). Alone,
    # or when every task guesses, it trains anyway: the user asked for an adapter.
    kept = [i for i, sig in enumerate(signals) if sig["above_chance"]] or list(range(len(splits)))
    fitted = [splits[i] for i in kept]
    excluded = [ft.task.name for i, ft in enumerate(splits) if i not in kept]
    for t, sig in zip((ft.task for ft in splits), signals):
        if not sig["above_chance"]:
            left = "left out of training and selection" if len(kept) < len(splits) else "training anyway"
            say(f"{t.name}: reference at chance ({sig['reference_correct']}/{sig['items']}); {left}")
    checksum = base_checksum(scorer.model)
    base = baseline(untuned, fitted)
    validate = validator(fitted, base, cfg)
    # Before any soft prompt wraps the model: the base model's reference answers on training items
    # (free-form: its greedy answers, the KL term's path, through the score cache).
    anchors = reference_anchors(scorer, fitted) if cfg.anchor_weight > 0 else None
    fitted = with_reference_answers(untuned, fitted)
    t0 = time.perf_counter()
    tried, best = [], None
    cands = candidates(cfg)
    for k, cand in enumerate(cands):
        say(
            f"candidate {k + 1}/{len(cands)}: lr {cand.lr:g}, lambda {cand.kl_weight:g}, "
            f"{cand.num_virtual_tokens} tokens"
        )
        folder = out / SEARCH_DIR / f"c{k}"
        c0 = time.perf_counter()
        tuned = attach_soft_prompt(scorer, cand, tasks[0].reference_instruction)
        state = train(
            tuned,
            fitted,
            cand,
            folder,
            resume=resume and (folder / CHECKPOINT).is_file(),
            on_step=on_step,
            validate=validate,
            anchors=anchors,
        )
        if base_checksum(tuned.model) != checksum:
            raise AssertionError("a base-model parameter changed during fix; only the soft prompt may train")
        tried.append(
            {
                "candidate": k,
                "lr": cand.lr,
                "kl_weight": cand.kl_weight,
                "num_virtual_tokens": cand.num_virtual_tokens,
                "steps_run": state.step,
                "stopped_early": state.stopped_early,
                "best": state.best,
                "validation": state.validation,
                "training_curve": state.curve,
                "seconds": round(time.perf_counter() - c0, 1),
            }
        )
        if state.best is not None and (best is None or state.best["key"] < best[3]["key"]):
            best = (k, tuned, state, state.best)
    train_seconds = time.perf_counter() - t0
    assert best is not None, "every candidate scores the validation split before its first step"
    k, tuned, state, chosen = best
    assert state.best_prompt is not None
    with torch.no_grad():
        soft_prompt(tuned).copy_(state.best_prompt)
    try:
        tuned.model.save_pretrained(str(out))
    except OSError as exc:
        raise InputError(f"cannot save the adapter: {exc.strerror or exc}", file=out, field="--out") from None
    from promptcheck.models.loading import adapter_hash

    tuned.identity = replace(scorer.identity, adapter=str(out), adapter_hash=adapter_hash(out))
    say("measuring after")
    after = [measure(tuned, ft, cfg) for ft in splits]
    feasible = bool(chosen["feasible"])
    selection = {
        "chosen": {
            "candidate": k,
            "step": chosen["step"],
            **{f: tried[k][f] for f in ("lr", "kl_weight", "num_virtual_tokens")},
        },
        "feasible": feasible,
        "constraint": "reference accuracy on validation items not below the base model's "
        f"by more than {cfg.harm_tolerance:g}",
        "baseline_validation_reference_accuracy": list(base.reference_accuracy),
        "candidates": tried,
        "infeasible_tasks": [] if feasible else [ft.task.name for ft in fitted],
        "excluded_tasks": excluded,  # NO SIGNAL tasks of a joint run: not trained or selected on
        "ok": feasible,
    }
    report_tasks = []
    harmed = []
    for i, (ft, b, a, sig) in enumerate(zip(splits, before, after, signals)):
        outcome = gap_outcome(b, a, cfg.harm_tolerance)
        fit = feasible or i not in kept  # selection's constraint did not look at an excluded task
        said = task_problems(ft.task.name, outcome, feasible=fit, harm_tolerance=cfg.harm_tolerance, signal=sig)
        if not outcome["reference_kept"]:
            harmed.append(ft.task.name)
        report_tasks.append(
            {
                "name": ft.task.name,
                "source": ft.task.source,
                "reference_signal": sig,
                "before": b,
                "after": a,
                "outcome": outcome,
                "problems": said,
                "train_items": len(ft.train_items),
                "val_items": len(ft.val_items),
                "heldout_items": len(ft.heldout_items),
                "train_instructions": list(ft.train_instructions),
                "train_sources": list(ft.train_sources),
                "val_instructions": list(ft.val_instructions),
                "validation_in_sample": list(ft.in_sample),  # training items/phrasings reused (too few to split)
                "heldout_instructions": list(ft.heldout_instructions),
                "heldout_instructions_source": ft.heldout_source,  # "task", or "bank:<kind>" when it had none
                "reference_accuracy_fell_by": outcome["reference_fell_by"],
                "harmed": not outcome["reference_kept"],
                **(
                    {"sample": {"limit": ft.task.limit, "seed": ft.task.sample_seed, "population": ft.task.population}}
                    if ft.task.limit is not None
                    else {}
                ),
            }
        )
    report = {
        "model": scorer.identity.to_json(),
        "adapter": {"path": str(out), "hash": tuned.identity.adapter_hash, "format": "peft prompt tuning"},
        "config": cfg.to_json(),
        "ok": not any(t["problems"] for t in report_tasks),
        "problems": [p for t in report_tasks for p in t["problems"]],
        "tasks": report_tasks,
        "training_curve": state.curve,
        "selection": selection,
        "harm_check": {"tolerance": cfg.harm_tolerance, "harmed_tasks": harmed, "ok": not harmed},
        "seconds": {"train": round(train_seconds, 1), "total": round(time.perf_counter() - started, 1)},
    }
    report = stamp("fix", report)
    atomic_write_json(out / REPORT, report)
    return FixReport.from_document(report)
