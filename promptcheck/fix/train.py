"""Soft-prompt alignment (Sun et al. 2023): prompt tuning with a KL term toward the reference.

Each step takes a few training items; for each, one prompt under the reference instruction and
several under paraphrased (observed) instructions. Over the answer options only:

    loss = w_item * CE(correct choices | every prompt) + lambda * mean_j KL(p(. | paraphrase_j) || p(. | reference))
           [+ anchor * KL(p_base(. | reference) || p(. | reference))]

``w_item`` balances the answers (:func:`answer_weights`); the anchor term is optional
(``--anchor``, default 0).

The paper applies the KL term to the model's output distribution; restricting it to the answer
options is the same objective for multiple-choice scoring, where only those options are read.
Only the soft prompt trains (peft prompt tuning); a checksum proves the base model unchanged.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from promptcheck.errors import InputError, PromptcheckError
from promptcheck.fix.config import FixConfig
from promptcheck.fix.data import FixTask
from promptcheck.models.hf import HFScorer
from promptcheck.prompts.rendering import Prompt, render

CHECKPOINT = "checkpoint.pt"
#: No training item weighs more than this in the answer-balanced cross-entropy (before rescaling).
MAX_ANSWER_WEIGHT = 3.0


@dataclass
class TrainState:
    step: int = 0
    curve: list[dict] = field(default_factory=list)
    validation: list[dict] = field(default_factory=list)  # one row per validation score
    best: dict | None = None  # the validation row of the kept checkpoint
    best_prompt: torch.Tensor | None = None
    since_best: int = 0
    stopped_early: bool = False


#: A validation scorer: the tuned model -> {"key": sortable (lower is better), ...figures}.
Validate = Callable[[HFScorer], dict]


def answer_targets(item: Any) -> list[int]:
    """The choice indexes that count as correct for ``item``: the one place the loss reads the answer."""
    return list(item.answers)


def base_checksum(model: Any) -> float:
    """A float64 sum over every base-model parameter: any update to them changes it."""
    with torch.no_grad():
        return float(sum(p.detach().double().sum() for n, p in model.named_parameters() if "prompt_encoder" not in n))


def init_token_ids(tokenizer: Any, text: str, n: int) -> list[int]:
    """The soft prompt's starting tokens: ``text`` once and whole, left-padded with newlines to ``n``.

    peft's text initialisation repeats the text and cuts it at ``n`` tokens ("Classify the
    sentiment ... positive. Classify the sentiment"). On the default model that truncated
    repeat before the chat template cost the reference instruction 30 points of accuracy before
    any training (sentiment, 40 items: 0.875 -> 0.575); the text once after newlines cost
    nothing (0.875), so training starts where the base model is (docs/fix.md). A text longer
    than ``n`` tokens keeps its first ``n``.
    """
    ids = tokenizer(text, add_special_tokens=False)["input_ids"][:n]
    newline = tokenizer("\n", add_special_tokens=False)["input_ids"][-1:] or [tokenizer.eos_token_id]
    return newline * (n - len(ids)) + ids


def attach_soft_prompt(scorer: HFScorer, cfg: FixConfig, init_text: str) -> HFScorer:
    """Wrap the scorer's model in a peft prompt-tuning model, initialised from ``init_text``'s embeddings

    (:func:`init_token_ids`)."""
    from peft import PromptTuningConfig, TaskType, get_peft_model

    task_type = TaskType.SEQ_2_SEQ_LM if scorer.is_seq2seq else TaskType.CAUSAL_LM
    # One transformer submodule: the soft prompt leads the encoder of a seq2seq model (as in
    # Lester et al.'s T5 prompt tuning), so decoder positions, and the answer scores, stay put.
    peft_model: Any = get_peft_model(
        scorer.model,
        PromptTuningConfig(
            task_type=task_type,  # reached by name below
            num_virtual_tokens=cfg.num_virtual_tokens,
            num_transformer_submodules=1,
        ),
    )
    ids = init_token_ids(scorer.tokenizer, init_text, cfg.num_virtual_tokens)
    with torch.no_grad():
        table = scorer.model.get_input_embeddings().weight
        peft_model.prompt_encoder["default"].embedding.weight.copy_(table[torch.tensor(ids)])
    peft_model.eval()  # no dropout: training is deterministic and resumable
    return HFScorer(
        peft_model,
        scorer.tokenizer,
        scorer.identity,
        use_chat_template=scorer.use_chat_template,
        batch_size=scorer.batch_size,
    )


def soft_prompt(scorer: HFScorer) -> torch.nn.Parameter:
    return scorer.model.prompt_encoder["default"].embedding.weight


#: The base model's log-distribution over the answer options under the reference, per training item.
Anchors = dict[tuple[str, str], torch.Tensor]


def reference_anchors(base: HFScorer, tasks: list[FixTask]) -> Anchors:
    """Score every training item under the reference with the *base* model (no soft prompt)."""
    fmt = base.chat_formatter()
    pairs = [(ft, item) for ft in tasks for item in ft.train_items]
    with torch.no_grad():
        lp = base.choice_logprobs_tensor(
            [render(ft.task.reference_instruction, item, ft.task, chat_formatter=fmt) for ft, item in pairs]
        )
    return {
        (ft.task.name, item.id): torch.log_softmax(row[: len(item.choices)], dim=-1)
        for row, (ft, item) in zip(lp, pairs)
    }


def answer_weights(tasks: list[FixTask]) -> dict[tuple[str, str], float]:
    """Per training item, the weight that makes every answer count alike in the cross-entropy.

    ``n / (k * count(answer))`` within its task (n training items, k distinct answers, an
    item's answer being its set of correct choices), capped at :data:`MAX_ANSWER_WEIGHT` and
    rescaled to average 1, so the loss keeps its scale and a uniformly sampled batch's
    expected loss is the class-balanced one. Without it the soft prompt learns the training
    items' answer mix (a prior of "no" from 7 "no" of 10, docs/fix.md), which no instruction
    carries. The cap keeps one rare answer (a lone item with two correct choices among
    twenty) from weighing 18 times its neighbours in a batch of two.
    """
    out: dict[tuple[str, str], float] = {}
    for ft in tasks:
        counts = Counter(item.answers for item in ft.train_items)
        raw = {
            item.id: min(MAX_ANSWER_WEIGHT, len(ft.train_items) / (len(counts) * counts[item.answers]))
            for item in ft.train_items
        }
        mean = sum(raw.values()) / len(raw) if raw else 1.0
        out.update({(ft.task.name, i): w / mean for i, w in raw.items()})
    return out


def step_loss(
    scorer: HFScorer, tasks: list[FixTask], cfg: FixConfig, step: int, anchors: Anchors | None = None
) -> tuple[torch.Tensor, float, float]:
    """The loss of one step; its batch depends only on (seed, step), so a resumed run replays exactly."""
    rng = random.Random(cfg.seed * 1_000_003 + step)
    pool = [(t, item) for t in tasks for item in t.train_items]
    batch = rng.sample(pool, k=min(cfg.batch_items, len(pool)))
    fmt = scorer.chat_formatter()
    prompts: list[Prompt] = []
    groups: list[Any] = []
    for ft, item in batch:
        chosen = rng.sample(ft.train_instructions, k=min(cfg.paraphrases_per_item, len(ft.train_instructions)))
        start = len(prompts)
        prompts.append(render(ft.task.reference_instruction, item, ft.task, chat_formatter=fmt))
        prompts += [render(text, item, ft.task, chat_formatter=fmt) for text in chosen]
        groups.append((start, len(prompts), answer_targets(item), len(item.choices), (ft.task.name, item.id)))
    lp = scorer.choice_logprobs_tensor(prompts)
    weights = answer_weights(tasks)
    ces, kls, holds = [], [], []
    for start, end, answers, n_choices, key in groups:
        logp = torch.log_softmax(lp[start:end, :n_choices], dim=-1)
        ces.append(-weights[key] * torch.logsumexp(logp[:, answers], dim=-1).mean())  # mass on any correct choice
        ref = logp[0].detach() if cfg.detach_reference else logp[0]
        para = logp[1:]
        kls.append((para.exp() * (para - ref)).sum(dim=-1).mean() if len(para) else logp.new_zeros(()))
        if anchors is not None and cfg.anchor_weight > 0:
            base = anchors[key]  # KL(base || tuned) under the reference: gradient through the reference
            holds.append((base.exp() * (base - logp[0])).sum())
    ce, kl = torch.stack(ces).mean(), torch.stack(kls).mean()
    loss = (ce if cfg.mode != "kl" else 0 * ce) + (cfg.kl_weight * kl if cfg.mode != "ce" else 0 * kl)
    if holds:
        loss = loss + cfg.anchor_weight * torch.stack(holds).mean()
    return loss, float(ce.detach()), float(kl.detach())


def split_fingerprint(tasks: list[FixTask]) -> str:
    """A hash of what a run trains and selects on: a resumed run must see the same items and phrasings.

    The options alone do not say it: a newer promptcheck may split the same suite otherwise
    (the item split became stratified on 2026-12-06), and a resumed prompt would then have
    trained on items that are now held out.
    """
    parts = [
        [
            ft.task.name,
            [i.id for i in ft.train_items],
            [i.id for i in ft.val_items],
            list(ft.train_instructions),
            list(ft.val_instructions),
        ]
        for ft in tasks
    ]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:16]


def _save_checkpoint(
    out: Path, scorer: HFScorer, opt: torch.optim.Optimizer, state: TrainState, cfg: FixConfig, split: str
) -> None:
    tmp = out / f".{CHECKPOINT}.tmp"
    try:
        out.mkdir(parents=True, exist_ok=True)
        torch.save(
            {
                "step": state.step,
                "prompt": soft_prompt(scorer).detach().clone(),
                "optimizer": opt.state_dict(),
                "curve": json.dumps(state.curve),
                "validation": json.dumps(state.validation),
                "best": json.dumps(state.best),
                "best_prompt": state.best_prompt,
                "since_best": state.since_best,
                "stopped_early": state.stopped_early,
                "config": json.dumps(cfg.to_json(), sort_keys=True),
                "split": split,
            },
            tmp,
        )
        os.replace(tmp, out / CHECKPOINT)
    except OSError as exc:
        raise InputError(f"cannot write the checkpoint: {exc.strerror or exc}", file=out, field="--out") from None


def _load_checkpoint(out: Path, scorer: HFScorer, opt: torch.optim.Optimizer, cfg: FixConfig, split: str) -> TrainState:
    path = out / CHECKPOINT
    if not path.is_file():
        raise InputError("no checkpoint to resume from", file=path, field="--resume")
    try:
        ck = torch.load(path, weights_only=True)
    except Exception as exc:
        raise InputError(f"unreadable checkpoint ({type(exc).__name__}); delete it to start over", file=path) from None
    if ck["config"] != json.dumps(cfg.to_json(), sort_keys=True):
        raise InputError(
            "was written with other training options; resume with the same options or start over",
            file=path,
            field="config",
        )
    if ck.get("split") != split:
        raise InputError(
            "was written for other training items or phrasings (another suite, or a promptcheck that splits "
            "them otherwise); start over without --resume",
            file=path,
            field="split",
        )
    with torch.no_grad():
        soft_prompt(scorer).copy_(ck["prompt"])
    opt.load_state_dict(ck["optimizer"])
    return TrainState(
        step=int(ck["step"]),
        curve=json.loads(ck["curve"]),
        validation=json.loads(ck.get("validation", "[]")),
        best=json.loads(ck.get("best", "null")),
        best_prompt=ck.get("best_prompt"),
        since_best=int(ck.get("since_best", 0)),
        stopped_early=bool(ck.get("stopped_early", False)),
    )


def _score_validation(scorer: HFScorer, state: TrainState, validate: Validate, cfg: FixConfig) -> None:
    """Score the validation split now; keep the prompt if it is the best so far, else count patience."""
    with torch.no_grad():
        row = {"step": state.step, **validate(scorer)}
    state.validation.append(row)
    if state.best is None or row["key"] < state.best["key"]:
        state.best = row
        state.best_prompt = soft_prompt(scorer).detach().clone()
        state.since_best = 0
    else:
        state.since_best += 1
        if state.since_best >= cfg.patience:
            state.stopped_early = True


def train(
    scorer: HFScorer,
    tasks: list[FixTask],
    cfg: FixConfig,
    out: Path,
    *,
    resume: bool = False,
    on_step: Callable[[TrainState, float], None] | None = None,
    validate: Validate | None = None,
    anchors: Anchors | None = None,
) -> TrainState:
    """Run the optimizer for up to ``cfg.steps`` steps, checkpointing every ``cfg.checkpoint_every``.

    With ``validate``, the validation split is scored before training and every
    ``cfg.eval_every`` steps; the best-scoring prompt is kept in ``state.best_prompt`` and
    training stops after ``cfg.patience`` scores without improvement (early stopping).
    Ctrl-C saves a checkpoint of the last finished step before it propagates; a killed run
    loses at most ``checkpoint_every`` steps; ``resume=True`` continues where it stopped.
    """
    torch.manual_seed(cfg.seed)
    param = soft_prompt(scorer)
    trainable = [n for n, p in scorer.model.named_parameters() if p.requires_grad]
    if trainable != ["prompt_encoder.default.embedding.weight"]:
        raise PromptcheckError(f"only the soft prompt may train, found trainable {trainable}")
    opt = torch.optim.AdamW([param], lr=cfg.lr, weight_decay=0.0)
    split = split_fingerprint(tasks)
    state = _load_checkpoint(out, scorer, opt, cfg, split) if resume else TrainState()
    if validate is not None and not state.validation:
        _score_validation(scorer, state, validate, cfg)
    try:
        while state.step < cfg.steps and not state.stopped_early:
            opt.zero_grad(set_to_none=True)
            loss, ce, kl = step_loss(scorer, tasks, cfg, state.step, anchors)
            loss.backward()
            opt.step()
            state.step += 1
            state.curve.append({"step": state.step, "loss": float(loss.detach()), "ce": ce, "kl": kl})
            if on_step is not None:
                on_step(state, float(loss.detach()))
            if validate is not None and (state.step % cfg.eval_every == 0 or state.step == cfg.steps):
                _score_validation(scorer, state, validate, cfg)
            if state.step % cfg.checkpoint_every == 0 or state.step == cfg.steps or state.stopped_early:
                _save_checkpoint(out, scorer, opt, state, cfg, split)
    except KeyboardInterrupt:
        _save_checkpoint(out, scorer, opt, state, cfg, split)
        raise
    return state
