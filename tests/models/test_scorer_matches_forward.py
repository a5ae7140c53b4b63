"""The batched scorer must give the same log-probabilities as a plain, unbatched forward pass."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from tiny_models import tiny_causal, tiny_seq2seq

import promptcheck as pc
from promptcheck.models.base import ModelIdentity
from promptcheck.models.hf import HFScorer
from promptcheck.prompts.rendering import render


def plain_causal_logprob(model, tokenizer, context: str, cont: str, special: bool) -> float:
    ctx = tokenizer(context, add_special_tokens=special)["input_ids"]
    whole = tokenizer(context + cont, add_special_tokens=special)["input_ids"]
    assert whole[: len(ctx)] == ctx, "test premise: the context tokenizes the same inside the whole"
    with torch.no_grad():
        logits = model(torch.tensor([whole])).logits[0]
    logp = torch.log_softmax(logits.float(), dim=-1)
    return float(sum(logp[t - 1, whole[t]] for t in range(len(ctx), len(whole))))


def plain_seq2seq_logprob(model, tokenizer, context: str, cont: str) -> float:
    enc = tokenizer(context)["input_ids"]
    target = tokenizer(cont.strip(), add_special_tokens=False)["input_ids"]
    dec = [model.config.decoder_start_token_id] + target[:-1]
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([enc]), decoder_input_ids=torch.tensor([dec])).logits[0]
    logp = torch.log_softmax(logits.float(), dim=-1)
    return float(sum(logp[i, t] for i, t in enumerate(target)))


@pytest.fixture(scope="module")
def capitals(examples_dir):
    return pc.load_task(examples_dir / "capitals.yaml")


# T5-family tokenizers have no chat template, so seq2seq runs without one.
@pytest.mark.parametrize(("kind", "chat"), [("causal", True), ("causal", False), ("seq2seq", False)])
@pytest.mark.parametrize("fmt", ["letters", "texts"])
def test_scorer_logprobs_match_unbatched_forward(kind, fmt, chat, capitals):
    model, tokenizer = tiny_causal() if kind == "causal" else tiny_seq2seq()
    scorer = HFScorer(model, tokenizer, ModelIdentity(id=f"tiny-{kind}"), use_chat_template=chat, batch_size=7)
    task = dataclasses.replace(capitals, format=fmt, items=capitals.items[:12])
    prompts, scores = [], []
    for ins in (task.reference_instruction, task.unobserved[0]):
        # One call per instruction, as evaluate() makes: the shared-prefix path is taken.
        batch = [render(ins, item, task, chat_formatter=scorer.chat_formatter()) for item in task.items]
        prompts += batch
        scores += scorer.score(batch)
    if kind == "causal":
        units = scorer.units(prompts[:12])
        prefix = scorer.shared_prefix(units)
        assert prefix is not None
        groups, _ = scorer.context_groups(units, prefix.length)
        # Multi-token answers: each prompt's context runs once for its K choices.
        assert groups or fmt == "letters"
    for prompt, got in zip(prompts, scores):
        for k, cont in enumerate(prompt.continuations):
            if kind == "causal":
                want = plain_causal_logprob(model, tokenizer, prompt.context, cont, special=not chat)
            else:
                want = plain_seq2seq_logprob(model, tokenizer, prompt.context, cont)
            assert got.logprobs[k] == pytest.approx(want, abs=1e-4)


@pytest.mark.parametrize("kind", ["causal", "seq2seq"])
def test_batch_size_does_not_change_scores(kind, capitals):
    model, tokenizer = tiny_causal() if kind == "causal" else tiny_seq2seq()
    task = dataclasses.replace(capitals, items=capitals.items[:10])
    one = HFScorer(model, tokenizer, ModelIdentity(id="a"), batch_size=1)
    many = HFScorer(model, tokenizer, ModelIdentity(id="b"), batch_size=8)
    prompts = [render(task.observed[1], item, task, chat_formatter=one.chat_formatter()) for item in task.items]
    for a, b in zip(one.score(prompts), many.score(prompts)):
        assert a.logprobs == pytest.approx(b.logprobs, abs=1e-4)


def test_letters_after_chat_template_score_the_bare_letter_token(capitals):
    """After a chat template the answer is "A", not " A": the scored token must decode to the letter."""
    model, tokenizer = tiny_causal()
    scorer = HFScorer(model, tokenizer, ModelIdentity(id="tiny"), use_chat_template=True)
    task = dataclasses.replace(capitals, format="letters")
    prompt = render(task.reference_instruction, task.items[0], task, chat_formatter=scorer.chat_formatter())
    assert prompt.continuations == ("A", "B", "C")
    units = scorer.units([prompt])
    assert len(units) == 1, "all letters come from one forward pass"
    decoded = [tokenizer.decode(span.targets) for span in units[0].spans]
    assert decoded == ["A", "B", "C"]


def test_nan_logits_raise_scoring_error_naming_the_item(capitals):
    model, tokenizer = tiny_causal()
    with torch.no_grad():
        model.model.embed_tokens.weight.fill_(float("nan"))
    scorer = HFScorer(model, tokenizer, ModelIdentity(id="tiny"))
    task = dataclasses.replace(capitals, items=capitals.items[:2], observed=(), unobserved=())
    with pytest.raises(pc.ScoringError, match="non-finite") as info:
        pc.evaluate(scorer, task)
    assert "cap-00" in str(info.value)


def test_shared_prefix_reuse_equals_no_reuse(capitals):
    model, tokenizer = tiny_causal()
    task = dataclasses.replace(capitals, items=capitals.items[:15])
    reuse = HFScorer(model, tokenizer, ModelIdentity(id="a"), batch_size=4)
    plain = HFScorer(model, tokenizer, ModelIdentity(id="b"), batch_size=4, share_prefix=False)
    prompts = [render(task.observed[0], item, task, chat_formatter=reuse.chat_formatter()) for item in task.items]
    prefix = reuse.shared_prefix(reuse.units(prompts))
    assert prefix is not None and prefix.length > 10
    for a, b in zip(reuse.score(prompts), plain.score(prompts)):
        assert a.logprobs == pytest.approx(b.logprobs, abs=1e-4)


def test_per_prompt_context_reuse_without_a_shared_prefix_equals_plain(capitals):
    """Prompts with nothing in common (no call-wide prefix) still share each context across its choices."""
    model, tokenizer = tiny_causal()
    scorer = HFScorer(model, tokenizer, ModelIdentity(id="tiny"), use_chat_template=False, batch_size=3)
    task = dataclasses.replace(capitals, format="texts", items=capitals.items[:6])
    prompts = [
        render(ins, item, task)
        for ins, item in zip(
            [
                "Name the capital.",
                "Which city is the capital?",
                "Pick one.",
                "Capital?",
                "Say the capital city.",
                "Choose the right city.",
            ],
            task.items,
        )
    ]
    units = scorer.units(prompts)
    assert scorer.shared_prefix(units) is None
    groups, _ = scorer.context_groups(units, 0)
    assert len(groups) >= 5
    for prompt, got in zip(prompts, scorer.score(prompts)):
        for k, cont in enumerate(prompt.continuations):
            want = plain_causal_logprob(model, tokenizer, prompt.context, cont, special=True)
            assert got.logprobs[k] == pytest.approx(want, abs=1e-4)
