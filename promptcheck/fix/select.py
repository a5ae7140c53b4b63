"""Model selection for ``fix``: the validation objective, the harm constraint, the candidate search.

Selection sees only the validation split (items and written phrasings held out of training,
see :func:`promptcheck.fix.data.split_task`), never the report's held-out items or
instructions. A checkpoint's key sorts feasible before infeasible:

- feasible: reference accuracy on the validation items did not fall below the base model's
  (by more than ``harm_tolerance``) on any task;
- objective (lower is better): the validation gap, ``max(0, drop)`` (reference accuracy minus
  mean accuracy under the validation instructions), minus a small weight on that mean
  accuracy, plus a smaller weight on the mean KL between the answer distributions under the
  validation instructions and the reference (ties that accuracy on a few items leaves); for a
  free-form task, generated and matched as the gate does, that tie term is the share of answers
  that differ from the reference's on the same item.
  A negative drop is a closed gap, not a better one: ranking by the raw drop preferred
  checkpoints that lowered the reference below the other instructions (sentiment, 2026-12-06:
  the chosen step had a validation drop of -0.11 at reference 0.625, over one with -0.03 at
  0.875, and the held-out reference fell 25 points).

An infeasible checkpoint is kept only as the best trade-off (smallest reference fall, then the
objective), and ``fix`` then exits 3.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from promptcheck.fix.config import FixConfig
from promptcheck.fix.data import FixTask
from promptcheck.fix.train import answer_targets
from promptcheck.models.base import Scorer
from promptcheck.models.hf import HFScorer
from promptcheck.prompts.rendering import render
from promptcheck.stats.robustness import choice_distributions

KL_TIE_WEIGHT = 0.05
#: Weight of accuracy under the validation instructions: among closed gaps, the higher the better.
ACCURACY_WEIGHT = 0.1
#: The seeded search space of the candidates after the first (the user's options).
SPACE = {"lr": (0.003, 0.01, 0.03), "kl_weight": (0.3, 1.0, 3.0), "num_virtual_tokens": (10, 20, 40)}


@dataclass(frozen=True)
class Baseline:
    """The base model's validation reference accuracy per task (the harm constraint's floor)."""

    reference_accuracy: tuple[float, ...]


def _val_generated(scorer: Scorer, ft: FixTask) -> tuple[np.ndarray, np.ndarray, float]:
    """A free-form task's validation: (reference correct, validation-instruction correct, disagreement).

    Generated and matched by :func:`promptcheck.evaluate`, as the gate generates and matches, so
    validation accuracy is what the gate would count (correct outcomes only). The tie term is the
    share of cells whose extracted answer (normalised) differs from the reference's on the same
    item, the free-form counterpart of the choice distributions' KL (0: every paraphrase answers
    as the reference does).
    """
    from promptcheck.evaluation.runner import evaluate
    from promptcheck.tasks.records import Instruction

    texts = [ft.task.reference_instruction, *ft.val_instructions]
    chosen = [Instruction(texts[0], "reference"), *(Instruction(t, "observed") for t in texts[1:])]
    result = evaluate(scorer, replace(ft.task, items=ft.val_items), chosen)
    by_text = {r.text: r for r in result.instructions}
    rows = [by_text[t] for t in texts]
    correct = np.asarray([r.correct for r in rows], dtype=bool)
    codes = np.asarray([r.predictions for r in rows])
    disagree = float((codes[1:] != codes[0]).mean()) if len(rows) > 1 else 0.0
    return correct[0], correct[1:], disagree


def _val_scores(scorer: Scorer, ft: FixTask) -> tuple[np.ndarray, np.ndarray, float]:
    """(reference correct (items,), validation-instruction correct (instr, items), mean KL para || ref).

    Scored through :meth:`HFScorer.score`, the evaluation path (shared-prefix reuse, batching,
    the task's length normalisation for the argmax), so validation accuracy is what an
    evaluation of the adapter would report. A free-form task is generated and matched instead,
    its tie term the answers' disagreement with the reference (:func:`_val_generated`).
    """
    if ft.task.generative:
        return _val_generated(scorer, ft)
    fmt = scorer.chat_formatter()
    texts = [ft.task.reference_instruction, *ft.val_instructions]
    prompts = [render(t, item, ft.task, chat_formatter=fmt) for t in texts for item in ft.val_items]
    scores = scorer.score(prompts)
    n = len(ft.val_items)
    correct = np.zeros((len(texts), n), dtype=bool)
    dists = [choice_distributions([s.logprobs])[0] for s in scores]
    kls = []
    for j in range(len(texts)):
        for i, item in enumerate(ft.val_items):
            pred = int(np.argmax(scores[j * n + i].normalised(ft.task.length_norm)))
            correct[j, i] = pred in answer_targets(item)
            if j:
                p, q = dists[j * n + i], dists[i]
                kls.append(float(np.sum(p * (np.log(p + 1e-12) - np.log(q + 1e-12)))))
    return correct[0], correct[1:], float(np.mean(kls)) if kls else 0.0


def baseline(scorer: Scorer, splits: list[FixTask]) -> Baseline:
    return Baseline(tuple(float(_val_scores(scorer, ft)[0].mean()) for ft in splits))


def validator(splits: list[FixTask], base: Baseline, cfg: FixConfig) -> Callable[[HFScorer], dict]:
    """The function :func:`promptcheck.fix.train.train` calls on the tuned model at each validation point."""

    def validate(scorer: HFScorer) -> dict:
        refs, paras, drops, kls, falls = [], [], [], [], []
        for ft, floor in zip(splits, base.reference_accuracy):
            ref, para, kl = _val_scores(scorer, ft)
            refs.append(float(ref.mean()))
            paras.append(float(para.mean()))
            drops.append(float(ref.mean() - para.mean()))
            kls.append(kl)
            falls.append(floor - float(ref.mean()))
        objective = (
            float(np.mean(np.maximum(drops, 0.0)))
            - ACCURACY_WEIGHT * float(np.mean(paras))
            + KL_TIE_WEIGHT * float(np.mean(kls))
        )
        fall = max(falls)
        feasible = fall <= cfg.harm_tolerance + 1e-12
        key = [0, round(objective, 9)] if feasible else [1, round(fall, 9), round(objective, 9)]
        row = {
            "key": key,
            "feasible": feasible,
            "objective": objective,
            "reference_accuracy": refs,
            "accuracy": paras,
            "drop": drops,
            "kl": kls,
        }
        free = [ft.task.generative for ft in splits]
        if any(free):  # a free-form task's tie term is the answers' disagreement, not a KL
            row["kl"] = [None if f else v for f, v in zip(free, kls)]
            row["disagreement"] = [v if f else None for f, v in zip(free, kls)]
        return row

    return validate


def candidates(cfg: FixConfig) -> list[FixConfig]:
    """The user's options first, then ``cfg.search - 1`` seeded distinct draws from :data:`SPACE`."""
    grid = [(a, b, int(c)) for a in SPACE["lr"] for b in SPACE["kl_weight"] for c in SPACE["num_virtual_tokens"]]
    grid = [g for g in grid if g != (cfg.lr, cfg.kl_weight, cfg.num_virtual_tokens)]
    random.Random(f"search:{cfg.seed}").shuffle(grid)
    return [cfg] + [replace(cfg, lr=a, kl_weight=b, num_virtual_tokens=c) for a, b, c in grid[: max(0, cfg.search - 1)]]
