"""Batches sized to a memory budget, and out-of-memory handled by halving, never by a wrong number."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from tiny_models import tiny_causal
from typer.testing import CliRunner

import promptcheck as pc
from promptcheck.cli.main import app
from promptcheck.errors import InputError
from promptcheck.models.base import ModelIdentity
from promptcheck.models.hf import HFScorer
from promptcheck.models.memory import bytes_per_token, parse_memory
from promptcheck.prompts.rendering import render


@pytest.fixture(scope="module")
def capitals(examples_dir):
    task = pc.load_task(examples_dir / "capitals.yaml")
    return dataclasses.replace(task, items=task.items[:16])


def _prompts(scorer, task):
    return [
        render(ins, item, task, chat_formatter=scorer.chat_formatter())
        for ins in (task.reference_instruction, task.observed[0])
        for item in task.items
    ]


def _close(a, b):
    for x, y in zip(a, b):
        assert x.logprobs == pytest.approx(y.logprobs, abs=1e-4)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("2GiB", 2 * 2**30),
        ("1500MB", 1500 * 10**6),
        ("3g", 3 * 10**9),
        ("64 MiB", 64 * 2**20),
        ("auto", None),
        (None, None),
    ],
)
def test_memory_sizes_parse(text, value):
    assert parse_memory(text) == value


@pytest.mark.parametrize("text", ["lots", "2 GiBs", "-1GB", "10"])
def test_bad_memory_sizes_are_input_errors(text):
    with pytest.raises(InputError, match="max_memory"):
        parse_memory(text)


def test_cli_bad_max_memory_is_one_line_before_loading(examples_dir):
    res = CliRunner().invoke(
        app, ["run", str(examples_dir / "yesno.yaml"), "--model", "/no/such/model", "--max-memory", "lots"]
    )
    assert res.exit_code == 2
    assert "max_memory: not a memory size: 'lots'" in res.output and "Traceback" not in res.output


def test_batches_fit_the_memory_budget_and_scores_do_not_change(capitals):
    model, tokenizer = tiny_causal()
    per_token = bytes_per_token(model.config, 4)
    budget = 48 * per_token + 2**20  # about 48 tokens of the tiny model (the 1 MiB floor aside)
    small = HFScorer(model, tokenizer, ModelIdentity(id="s"), max_memory=budget, share_prefix=False)
    big = HFScorer(model, tokenizer, ModelIdentity(id="b"))
    assert small.batch_tokens == budget // per_token < big.batch_tokens
    prompts = _prompts(small, capitals)
    units = small.units(prompts)
    for batch in small.batches(units):
        padded = len(batch) * max(len(u.ids) for u in batch)
        assert padded <= small.batch_tokens or len(batch) == 1
    _close(small.score(prompts), big.score(prompts))


def _oom_above(model, rows: int):
    """A forward hook that fails like an exhausted GPU when a pass has more than ``rows`` sequences."""

    def hook(_module, args, kwargs):
        ids = kwargs.get("input_ids", args[0] if args else None)
        if ids is not None and ids.shape[0] > rows:
            raise torch.OutOfMemoryError(f"CUDA out of memory (injected: {ids.shape[0]} rows)")

    return model.model.register_forward_pre_hook(hook, with_kwargs=True)


@pytest.mark.parametrize("share_prefix", [True, False])
def test_out_of_memory_halves_the_batch_and_gives_the_same_scores(capitals, share_prefix):
    model, tokenizer = tiny_causal()
    scorer = HFScorer(model, tokenizer, ModelIdentity(id="t"), batch_size=16, share_prefix=share_prefix)
    prompts = _prompts(scorer, capitals)
    expected = scorer.score(prompts)
    handle = _oom_above(model, 3)
    try:
        with pytest.warns(RuntimeWarning, match="out of memory"):
            got = scorer.score(prompts)
    finally:
        handle.remove()
    assert scorer.oom_halvings >= 1 and scorer.batch_size <= 8
    _close(got, expected)


def test_out_of_memory_on_one_prompt_names_the_item(capitals):
    model, tokenizer = tiny_causal()
    scorer = HFScorer(model, tokenizer, ModelIdentity(id="t"), share_prefix=False)
    task = dataclasses.replace(capitals, observed=(), unobserved=())
    handle = _oom_above(model, 0)
    try:
        with pytest.raises(pc.ScoringError, match="out of memory on a single prompt") as info:
            pc.evaluate(scorer, task)
    finally:
        handle.remove()
    assert "cap-0" in str(info.value)
