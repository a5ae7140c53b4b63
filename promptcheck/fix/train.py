"""Soft-prompt alignment (Sun et al. 2023): prompt tuning with a KL term toward the reference.

Each step takes a few training items; for each, one prompt under the reference instruction and
several under paraphrased (observed) instructions. Multiple choice, over the answer options only:

    loss = w_item * CE(correct choices | every prompt) + lambda * mean_j KL(p(. | paraphrase_j) || p(. | reference))
           [+ anchor * KL(p_base(. | reference) || p(. | reference))]

``w_item`` balances the answers (:func:`answer_weights`); the anchor term is optional
(``--anchor``, default 0).

The paper applies the KL term to the model's output distribution; restricting it to the answer
options is the same objective for multiple-choice scoring, where only those options are read.

A free-form item (:func:`free_form_terms`) has no options: the cross-entropy is the teacher-forced
``-log p(answer tokens | prompt)`` of its accepted answer (and the end-of-answer token) under
every prompt, and the KL term compares full next-token distributions over the vocabulary at each
position of the reference's own answer (the base model's greedy answer under the reference,
generated once before training: :func:`with_reference_answers`), averaged over positions.

Only the soft prompt trains (peft prompt tuning); a checksum proves the base model unchanged.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
import os
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import torch

from promptcheck.errors import InputError, PromptcheckError
from promptcheck.fix.config import FixConfig
from promptcheck.fix.data import FixTask, trained_answer
from promptcheck.models.base import Generates, GenerationRequest, Scorer, capability
from promptcheck.models.hf import HFScorer
from promptcheck.prompts.rendering import Prompt, render
from promptcheck.tasks.records import GenItem, Task

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
    """Score every training item under the reference with the *base* model (no soft prompt).

    Multiple-choice tasks only: a free-form item's anchor reads the base model during the step
    (:func:`free_form_terms`), since its distributions are over the whole vocabulary.
    """
    fmt = base.chat_formatter()
    pairs = [(ft, item) for ft in tasks if not ft.task.generative for item in ft.train_items]
    if not pairs:
        return {}
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
        if ft.task.generative:  # free-form answers are not classes: every item weighs 1
            out.update({(ft.task.name, item.id): 1.0 for item in ft.train_items})
            continue
        counts = Counter(item.answers for item in ft.train_items)
        raw = {
            item.id: min(MAX_ANSWER_WEIGHT, len(ft.train_items) / (len(counts) * counts[item.answers]))
            for item in ft.train_items
        }
        mean = sum(raw.values()) / len(raw) if raw else 1.0
        out.update({(ft.task.name, i): w / mean for i, w in raw.items()})
    return out


#: One step's terms for one training item: (weighted CE, KL to the reference, anchor or None).
Terms = tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]


def step_loss(
    scorer: HFScorer, tasks: list[FixTask], cfg: FixConfig, step: int, anchors: Anchors | None = None
) -> tuple[torch.Tensor, float, float]:
    """The loss of one step; its batch depends only on (seed, step), so a resumed run replays exactly.

    Multiple-choice items are scored over their options (one call for all of them); free-form
    items through :func:`free_form_terms`. Each item's terms are averaged over the batch alike.
    """
    rng = random.Random(cfg.seed * 1_000_003 + step)
    pool = [(t, item) for t in tasks for item in t.train_items]
    batch = rng.sample(pool, k=min(cfg.batch_items, len(pool)))
    fmt = scorer.chat_formatter()
    prompts: list[Prompt] = []
    groups: list[Any] = []
    free: list[tuple[FixTask, GenItem, list[Prompt]]] = []
    order: list[tuple[str, int]] = []  # per batch entry, in batch order: ("mc" | "free", its index)
    for ft, item in batch:
        chosen = rng.sample(ft.train_instructions, k=min(cfg.paraphrases_per_item, len(ft.train_instructions)))
        if ft.task.generative:
            texts = [ft.task.reference_instruction, *chosen]
            free.append((ft, cast(GenItem, item), [render(t, item, ft.task, chat_formatter=fmt) for t in texts]))
            order.append(("free", len(free) - 1))
            continue
        start = len(prompts)
        prompts.append(render(ft.task.reference_instruction, item, ft.task, chat_formatter=fmt))
        prompts += [render(text, item, ft.task, chat_formatter=fmt) for text in chosen]
        groups.append((start, len(prompts), answer_targets(item), len(item.choices), (ft.task.name, item.id)))
        order.append(("mc", len(groups) - 1))
    weights = answer_weights(tasks)
    terms: dict[tuple[str, int], Terms] = {}
    if groups:
        lp = scorer.choice_logprobs_tensor(prompts)
        for g, (start, end, answers, n_choices, key) in enumerate(groups):
            logp = torch.log_softmax(lp[start:end, :n_choices], dim=-1)
            ce_g = -weights[key] * torch.logsumexp(logp[:, answers], dim=-1).mean()  # mass on any correct choice
            ref = logp[0].detach() if cfg.detach_reference else logp[0]
            para = logp[1:]
            kl_g = (para.exp() * (para - ref)).sum(dim=-1).mean() if len(para) else logp.new_zeros(())
            hold = None
            if anchors is not None and cfg.anchor_weight > 0:
                base = anchors[key]  # KL(base || tuned) under the reference: gradient through the reference
                hold = (base.exp() * (base - logp[0])).sum()
            terms[("mc", g)] = (ce_g, kl_g, hold)
    if free:
        anchored = anchors is not None and cfg.anchor_weight > 0
        for f, t in enumerate(free_form_terms(scorer, free, cfg, weights, anchored=anchored)):
            terms[("free", f)] = t
    picked = [terms[k] for k in order]
    ces, kls = [t[0] for t in picked], [t[1] for t in picked]
    holds = [t[2] for t in picked if t[2] is not None]
    ce, kl = torch.stack(ces).mean(), torch.stack(kls).mean()
    loss = (ce if cfg.mode != "kl" else 0 * ce) + (cfg.kl_weight * kl if cfg.mode != "ce" else 0 * kl)
    if holds:
        loss = loss + cfg.anchor_weight * torch.stack(holds).mean()
    return loss, float(ce.detach()), float(kl.detach())


# -- free-form tasks -----------------------------------------------------------------------------
#: (model input before the path, path tokens): a teacher-forced answer after a prompt.
PathRow = tuple[tuple[int, ...], tuple[int, ...]]


def end_token(scorer: HFScorer) -> int | None:
    """The token that ends an answer: the first end-of-sequence id of the model's generation
    config, else the tokenizer's (what ``HFScorer.generate`` stops at)."""
    model = scorer.model
    base = model.get_base_model() if callable(getattr(model, "get_base_model", None)) else model
    eos = getattr(getattr(base, "generation_config", None), "eos_token_id", None)
    ids = list(eos) if isinstance(eos, (list, tuple)) else [] if eos is None else [eos]
    if not ids and scorer.tokenizer.eos_token_id is not None:
        ids = [scorer.tokenizer.eos_token_id]
    return int(ids[0]) if ids else None


def answer_lead(task: Task, *, chat: bool) -> str:
    """What comes between a prompt and the answer a model writes, as rendering puts it before a choice:
    nothing after a chat template (the assistant turn opens on a fresh line), a space after the
    ``Answer:`` cue; a task with its own layout, its delimiter (lm-eval's ``target_delimiter``)."""
    if task.layout is not None:
        return task.layout.chat_delimiter if chat else task.layout.delimiter
    return "" if chat else " "


def context_ids(scorer: HFScorer, context: str) -> tuple[int, ...]:
    """A prompt's context as ``HFScorer.generate`` tokenizes it (special tokens unless after a chat
    template; an encoder input always gets them)."""
    special = scorer.is_seq2seq or not scorer.use_chat_template
    ids = list(scorer.tokenizer(context, add_special_tokens=special)["input_ids"])
    if not ids and not scorer.is_seq2seq and scorer.tokenizer.bos_token_id is not None:
        ids = [scorer.tokenizer.bos_token_id]
    return tuple(ids)


def answer_ids(scorer: HFScorer, text: str, *, end: bool) -> tuple[int, ...]:
    """An answer's tokens as the model writes them after the prompt: ``text`` on its own (the inverse
    of how a generated answer is decoded), then the end-of-answer token when ``end``. A decoder of
    an encoder-decoder model starts fresh, so its answer is stripped (as scoring strips a choice)."""
    ids = list(scorer.tokenizer(text.strip() if scorer.is_seq2seq else text, add_special_tokens=False)["input_ids"])
    eos = end_token(scorer) if end else None
    return tuple(ids + ([eos] if eos is not None else []))


def _virtual_tokens(model: Any, seq2seq: bool) -> int:
    """Positions a causal prompt-tuning model puts in front of the input (0 for the base model)."""
    peft_config = getattr(model, "peft_config", None)
    if not peft_config or seq2seq:
        return 0
    cfg = peft_config[getattr(model, "active_adapter", "default")]
    return int(cfg.num_virtual_tokens) if getattr(cfg, "is_prompt_learning", False) else 0


def path_logprobs(scorer: HFScorer, rows: Sequence[PathRow], *, model: Any = None) -> list[torch.Tensor]:
    """Per row, the log-distribution over the vocabulary at every position that predicts a path
    token, teacher-forced: ``(max(1, len(path)), vocab)`` float32, differentiable.

    An empty path reads the one position after the context (the answer's first token). Causal
    rows are right-padded (real tokens first: causal attention never sees the padding) and only
    the positions read go through the output layer where the model allows it; an encoder-decoder
    model encodes the context and decodes from its start token. ``model``: another model over the
    same tokens (the base model under the soft prompt, for the anchor); default ``scorer.model``.
    """
    model = scorer.model if model is None else model
    pad = scorer.tokenizer.pad_token_id
    seq2seq = scorer.is_seq2seq
    virtual = _virtual_tokens(model, seq2seq)
    base = model.get_base_model() if callable(getattr(model, "get_base_model", None)) else model
    keeps = not seq2seq and "logits_to_keep" in inspect.signature(base.forward).parameters
    out: list[torch.Tensor] = []
    for first in range(0, len(rows), max(1, scorer.batch_size)):
        chunk = rows[first : first + max(1, scorer.batch_size)]
        reads = [max(1, len(path)) for _, path in chunk]
        if seq2seq:
            start = model.config.decoder_start_token_id
            start = pad if start is None else start
            ids, mask = HFScorer._pad([ctx for ctx, _ in chunk], pad, scorer.device)
            dec, dec_mask = HFScorer._pad(
                [(start, *path[: n - 1]) for (_, path), n in zip(chunk, reads)], pad, scorer.device
            )
            logits = model(
                input_ids=ids,
                attention_mask=mask,
                decoder_input_ids=dec,
                decoder_attention_mask=dec_mask,
                use_cache=False,
            ).logits
            positions = [list(range(n)) for n in reads]
            column = {p: p for p in range(logits.shape[1])}
        else:
            ids, mask = HFScorer._pad([ctx + path[: n - 1] for (ctx, path), n in zip(chunk, reads)], pad, scorer.device)
            positions = [[virtual + len(ctx) - 1 + i for i in range(n)] for (ctx, _), n in zip(chunk, reads)]
            if keeps:
                needed = sorted({p for row in positions for p in row})
                keep = torch.tensor(needed, dtype=torch.long, device=scorer.device)
                logits = model(input_ids=ids, attention_mask=mask, use_cache=False, logits_to_keep=keep).logits
                column = {p: j for j, p in enumerate(needed)}
            else:
                logits = model(input_ids=ids, attention_mask=mask, use_cache=False).logits
                column = {p: p for p in range(logits.shape[1])}
        for r, row in enumerate(positions):
            out.append(torch.log_softmax(logits[r, [column[p] for p in row]].float(), dim=-1))
    return out


def with_reference_answers(base: Scorer, tasks: list[FixTask]) -> list[FixTask]:
    """Free-form tasks get the base model's greedy answer under the reference for each training item.

    Generated once before training, exactly as ``evaluate`` asks for an answer (the reference
    rendered as the gate renders it, the task's ``max_new_tokens`` and stop strings): through the
    score cache, the gate that failed wrote most of them already. These answers are the path the
    KL term reads (:func:`free_form_terms`). Multiple-choice tasks are returned as they are.
    """
    out = []
    for ft in tasks:
        if not ft.task.generative:
            out.append(ft)
            continue
        writer = capability(base, Generates)
        if writer is None:
            raise InputError(f"{type(base).__name__} cannot generate: fix on a free-form task needs a model that does")
        assert ft.task.generation is not None
        settings, fmt = ft.task.generation, base.chat_formatter()
        requests = [
            GenerationRequest(
                render(ft.task.reference_instruction, item, ft.task, chat_formatter=fmt).context,
                settings.max_new_tokens,
                settings.stop,
            )
            for item in ft.train_items
        ]
        out.append(dataclasses.replace(ft, reference_answers=tuple(writer.generate(requests))))
    return out


def free_form_terms(
    scorer: HFScorer,
    groups: Sequence[tuple[FixTask, GenItem, list[Prompt]]],
    cfg: FixConfig,
    weights: dict[tuple[str, str], float],
    *,
    anchored: bool = False,
) -> list[Terms]:
    """(CE, KL, anchor) per free-form item; ``prompts[0]`` is its reference prompt, the rest paraphrases.

    - CE: ``w_item * mean over prompts of -log p(answer tokens | prompt)``, teacher-forced, the
      answer being the first accepted one its matching reads as correct when written bare
      (:func:`promptcheck.fix.data.trained_answer`), after :func:`answer_lead`, then the
      end-of-answer token (a finished answer stops: the first-line rule and stop strings read it).
    - KL: along the reference's own answer ``a`` (the base model's greedy answer, with its end
      token when it ended there), ``mean_t KL(p(.|paraphrase, a[:t]) || p(.|reference, a[:t]))``
      over the vocabulary, averaged over the paraphrases; the reference side is detached with
      ``detach_reference``. Zero when a paraphrase is the reference.
    - anchor (``anchored``): ``mean_t KL(p_base(.|reference, a[:t]) || p(.|reference, a[:t]))``,
      the base model read during the step (the soft prompt left out), gradient through the reference.
    """
    need_paths = cfg.mode != "ce" or anchored
    rows: list[PathRow] = []
    index: dict[PathRow, int] = {}

    def at(row: PathRow) -> int:
        if row not in index:
            index[row] = len(rows)
            rows.append(row)
        return index[row]

    plans = []
    for ft, item, prompts in groups:
        target = trained_answer(item, ft.task) or item.targets[0]
        chat = scorer.use_chat_template
        target_path = answer_ids(scorer, answer_lead(ft.task, chat=chat) + target, end=True)
        contexts = [context_ids(scorer, p.context) for p in prompts]
        ce_rows = [at((ctx, target_path)) for ctx in contexts]
        kl_rows: list[int] = []
        if need_paths or ft.reference_answers:
            if not ft.reference_answers:
                raise PromptcheckError(
                    f"{ft.task.name}: a free-form task trains along the reference's own answers: "
                    "call fix.train.with_reference_answers(base_model, tasks) before training"
                )
            answer = dict(zip((i.id for i in ft.train_items), ft.reference_answers))[item.id]
            path = answer_ids(scorer, answer.text, end=answer.finish == "eos")
            kl_rows = [at((ctx, path)) for ctx in contexts]
        plans.append((ft, item, ce_rows, kl_rows, contexts))
    logp = path_logprobs(scorer, rows)
    base_logp: list[torch.Tensor] = []
    if anchored:
        model = scorer.model
        base_model = model.get_base_model() if callable(getattr(model, "get_base_model", None)) else model
        with torch.no_grad():
            base_logp = path_logprobs(scorer, [rows[kl[0]] for _, _, _, kl, _ in plans], model=base_model)
    out: list[Terms] = []
    for g, (ft, item, ce_rows, kl_rows, _) in enumerate(plans):
        nll = []
        for r in ce_rows:
            tokens = torch.tensor(rows[r][1], device=logp[r].device)
            nll.append(-logp[r][torch.arange(len(tokens), device=tokens.device), tokens].sum())
        ce = weights[(ft.task.name, item.id)] * torch.stack(nll).mean()
        if not kl_rows:
            out.append((ce, ce.new_zeros(()), None))
            continue
        ref_grad = logp[kl_rows[0]]
        ref = ref_grad.detach() if cfg.detach_reference else ref_grad
        paras = [logp[r] for r in kl_rows[1:]]
        kl = (
            torch.stack([(p.exp() * (p - ref)).sum(dim=-1).mean() for p in paras]).mean() if paras else ce.new_zeros(())
        )
        hold = None
        if anchored:
            b = base_logp[g]
            hold = (b.exp() * (b - ref_grad)).sum(dim=-1).mean()
        out.append((ce, kl, hold))
    return out


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
