"""`promptcheck fix` on a tiny model built in code: gradients, checkpoints, resume, saved adapter."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch
from conftest import assert_documented, assert_fix_ran, fix_cli
from typer.testing import CliRunner

import promptcheck as pc
from promptcheck.cli.main import app
from promptcheck.fix.config import FixConfig
from promptcheck.fix.data import split_task
from promptcheck.fix.train import (
    CHECKPOINT,
    attach_soft_prompt,
    init_token_ids,
    reference_anchors,
    soft_prompt,
    step_loss,
    train,
)

CFG = FixConfig(num_virtual_tokens=4, steps=6, lr=0.05, batch_items=2, paraphrases_per_item=2, checkpoint_every=2)


@pytest.fixture
def tiny(tiny_causal_dir):
    return pc.load_model(str(tiny_causal_dir))


@pytest.fixture(scope="module")
def task(examples_dir):
    t = pc.load_task(examples_dir / "sentiment.yaml")
    return dataclasses.replace(t, items=t.items[:12])


@pytest.mark.parametrize("mode", ["both", "kl", "ce"])
def test_gradient_flows_only_into_the_soft_prompt(tiny, task, mode):
    cfg = dataclasses.replace(CFG, mode=mode, detach_reference=False)
    tuned = attach_soft_prompt(tiny, cfg, task.reference_instruction)
    loss, ce, kl = step_loss(tuned, [split_task(task, cfg)], cfg, step=0)
    loss.backward()
    grads = {n: p.grad for n, p in tuned.model.named_parameters()}
    prompt_grad = grads.pop("prompt_encoder.default.embedding.weight")
    assert prompt_grad is not None and prompt_grad.abs().sum() > 0
    assert all(g is None for g in grads.values()), "a base-model parameter received a gradient"
    assert kl >= 0 and ce > 0


def test_soft_prompt_starts_from_the_reference_text(tiny, task):
    tuned = attach_soft_prompt(tiny, CFG, task.reference_instruction)
    ids = tiny.tokenizer(task.reference_instruction, add_special_tokens=False)["input_ids"][:4]
    table = tuned.model.get_base_model().get_input_embeddings().weight
    assert torch.equal(soft_prompt(tuned).detach(), table[torch.tensor(ids)])


def test_the_anchor_is_the_kl_from_the_base_models_reference_answers(tiny, task):
    # Anchor only (no CE, no paraphrase KL): the loss is KL(p_base(.|reference) || p(.|reference)),
    # zero when the anchors are the tuned model's own answers, and its gradient reaches the prompt.
    cfg = dataclasses.replace(CFG, mode="kl", kl_weight=0.0, anchor_weight=1.0)
    split = split_task(task, cfg)
    anchors = reference_anchors(tiny, [split])
    assert len(anchors) == len(split.train_items)
    tuned = attach_soft_prompt(tiny, cfg, task.reference_instruction)
    with torch.no_grad():
        own = reference_anchors(tuned, [split])
        assert float(step_loss(tuned, [split], cfg, 0, own)[0]) == pytest.approx(0.0, abs=1e-6)
        twice = dataclasses.replace(cfg, anchor_weight=2.0)
        one = float(step_loss(tuned, [split], cfg, 0, anchors)[0])
        assert one > 0 and float(step_loss(tuned, [split], twice, 0, anchors)[0]) == pytest.approx(2 * one)
        assert float(step_loss(tuned, [split], dataclasses.replace(cfg, anchor_weight=0.0), 0, anchors)[0]) == 0
    loss, _, _ = step_loss(tuned, [split], cfg, 0, anchors)
    loss.backward()
    assert soft_prompt(tuned).grad is not None and soft_prompt(tuned).grad.abs().sum() > 0


def test_a_short_reference_is_left_padded_with_newlines_not_repeated(tiny):
    tok = tiny.tokenizer
    ids = tok("yes or no", add_special_tokens=False)["input_ids"]
    newline = tok("\n", add_special_tokens=False)["input_ids"][-1]
    got = init_token_ids(tok, "yes or no", len(ids) + 3)
    assert got == [newline] * 3 + ids  # the text once, whole, last: no cut-off second copy
    assert init_token_ids(tok, "yes or no", 1) == ids[:1]


def _final_prompt(tiny_dir, task, out, cfg, stop_at=None, how=None):
    scorer = pc.load_model(str(tiny_dir))
    tuned = attach_soft_prompt(scorer, cfg, task.reference_instruction)
    splits = [split_task(task, cfg)]

    def on_step(state, loss):
        if stop_at is not None and state.step == stop_at:
            raise how()

    try:
        train(tuned, splits, cfg, out, on_step=on_step)
    except (KeyboardInterrupt, SystemExit):
        scorer = pc.load_model(str(tiny_dir))
        tuned = attach_soft_prompt(scorer, cfg, task.reference_instruction)
        state = train(tuned, splits, cfg, out, resume=True)
        assert state.step == cfg.steps and len(state.curve) == cfg.steps
    return soft_prompt(tuned).detach().clone()


def test_resume_after_ctrl_c_or_kill_reproduces_the_uninterrupted_adapter(tiny_causal_dir, task, tmp_path):
    straight = _final_prompt(tiny_causal_dir, task, tmp_path / "a", CFG)
    # Ctrl-C at step 3 saves step 3; a kill (SystemExit stands in) at step 3 keeps the step-2 checkpoint.
    ctrl_c = _final_prompt(tiny_causal_dir, task, tmp_path / "b", CFG, stop_at=3, how=KeyboardInterrupt)
    killed = _final_prompt(tiny_causal_dir, task, tmp_path / "c", CFG, stop_at=3, how=SystemExit)
    assert torch.allclose(straight, ctrl_c, atol=1e-5) and torch.allclose(straight, killed, atol=1e-5)
    assert not torch.allclose(
        straight,
        attach_soft_prompt(pc.load_model(str(tiny_causal_dir)), CFG, task.reference_instruction)
        .model.prompt_encoder["default"]
        .embedding.weight.detach(),
    ), "training moved the prompt"


def test_resume_refuses_other_options(tiny_causal_dir, task, tmp_path):
    _final_prompt(tiny_causal_dir, task, tmp_path, CFG)
    assert (tmp_path / CHECKPOINT).is_file()
    tuned = attach_soft_prompt(pc.load_model(str(tiny_causal_dir)), CFG, task.reference_instruction)
    with pytest.raises(pc.InputError, match="other training options"):
        train(tuned, [split_task(task, CFG)], dataclasses.replace(CFG, lr=0.5), tmp_path, resume=True)
    # Same options, other items (another suite, or a promptcheck that splits them otherwise).
    fewer = dataclasses.replace(task, items=task.items[:-2])
    with pytest.raises(pc.InputError, match="other training items or phrasings"):
        train(tuned, [split_task(fewer, CFG)], CFG, tmp_path, resume=True)


def test_cli_fix_saves_a_peft_adapter_that_loads_anywhere(tiny_causal_dir, task, examples_dir, tmp_path):
    out = tmp_path / "adapter"
    res = fix_cli(
        [str(examples_dir / "yesno.yaml")],
        str(tiny_causal_dir),
        str(out),
        "--steps 4 --virtual-tokens 5 --harm-tolerance 1.0 --search 1 --eval-every 2 --patience 5",
    )
    assert_fix_ran(res)
    assert (out / "adapter_config.json").is_file() and (out / "adapter_model.safetensors").is_file()
    report = json.loads((out / "fix_report.json").read_text())
    assert_documented(report)
    (t,) = report["tasks"]
    # NO SIGNAL is said exactly when the base model's reference accuracy is not above guessing.
    sig = t["reference_signal"]
    assert sig["items"] == 32 and (sig["lower_bound"] > sig["chance"]) == sig["above_chance"]
    assert any(p.startswith("NO SIGNAL: yesno:") for p in t["problems"]) == (not sig["above_chance"])
    assert (not sig["above_chance"]) <= (res.exit_code == 3)
    for side in ("before", "after"):
        assert set(t[side]) >= {
            "reference_accuracy",
            "reference_accuracy_interval",
            "heldout_accuracy",
            "heldout_accuracy_interval",
            "heldout_drop",
            "heldout_drop_interval",
            "heldout_gate",
        }
        lo, hi = t[side]["reference_accuracy_interval"]
        assert lo <= t[side]["reference_accuracy"] <= hi
    assert len(report["training_curve"]) == 4 and report["harm_check"]["ok"]
    # Validation before training and at steps 2 and 4; the saved prompt is the best-scoring one.
    sel = report["selection"]
    assert [r["step"] for r in sel["candidates"][0]["validation"]] == [0, 2, 4]
    assert sel["chosen"]["step"] in (0, 2, 4)
    assert t["heldout_items"] == 16 and not set(t["train_instructions"]) & set(t["heldout_instructions"])
    assert not set(t["val_instructions"]) & (set(t["train_instructions"]) | set(t["heldout_instructions"]))

    # Plain peft, no promptcheck: the adapter loads and changes the model's outputs.
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(tiny_causal_dir)
    peft_model = PeftModel.from_pretrained(base, str(out))
    assert peft_model.peft_config["default"].num_virtual_tokens == 5

    # Through promptcheck: --adapter gives the after-numbers of the report, and shared-prefix
    # reuse with the soft prompt equals the plain computation.
    with_adapter = pc.load_model(str(tiny_causal_dir), adapter=out)
    assert with_adapter.identity.adapter_hash == report["adapter"]["hash"]
    yesno = pc.load_task(examples_dir / "yesno.yaml")
    prompts = [
        pc.render(yesno.reference_instruction, i, yesno, chat_formatter=with_adapter.chat_formatter())
        for i in yesno.items[:8]
    ]
    # Multi-token answers take the per-prompt context path (each context once, then K choices),
    # with and without a call-wide prefix (raw prompts under different instructions share none).
    capitals = pc.load_task(examples_dir / "capitals.yaml")
    multi = [
        pc.render(capitals.reference_instruction, i, capitals, chat_formatter=with_adapter.chat_formatter())
        for i in capitals.items[:6]
    ]
    mixed = [
        pc.render(ins, i, capitals) for ins, i in zip(["Capital?", "Name it.", "Pick the city."], capitals.items[6:9])
    ]
    assert with_adapter.shared_prefix(with_adapter.units(mixed)) is None
    calls = [prompts, multi, mixed]
    shared = [with_adapter.score(c) for c in calls]
    with_adapter.share_prefix = False
    for call, got in zip(calls, shared):
        for a, b in zip(got, with_adapter.score(call)):
            assert a.logprobs == pytest.approx(b.logprobs, abs=1e-4)
    shared = shared[0]
    base_scores = pc.load_model(str(tiny_causal_dir)).score(prompts)
    assert any(abs(a.logprobs[0] - b.logprobs[0]) > 1e-4 for a, b in zip(shared, base_scores))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "name the tasks to fix"),
        (["--from", "missing.json"], "missing.json: file not found"),
        (["{suite}", "--mode", "both-ish"], "mode: must be one of"),
    ],
)
def test_cli_fix_bad_input_is_one_line(tmp_path, examples_dir, args, message):
    argv = [a.replace("{suite}", str(examples_dir / "yesno.yaml")) for a in args]
    res = CliRunner().invoke(app, ["fix", *argv, "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert message in res.output


def test_fix_trains_a_seq2seq_model_too(tiny_seq2seq_dir, task, tmp_path):
    scorer = pc.load_model(str(tiny_seq2seq_dir))
    assert scorer.is_seq2seq
    tuned = attach_soft_prompt(scorer, CFG, task.reference_instruction)
    before = soft_prompt(tuned).detach().clone()
    state = train(tuned, [split_task(task, CFG)], dataclasses.replace(CFG, steps=3), tmp_path)
    assert state.step == 3 and all(r["loss"] > 0 for r in state.curve)
    assert not torch.allclose(before, soft_prompt(tuned).detach())
    grads = [n for n, p in tuned.model.named_parameters() if p.requires_grad]
    assert grads == ["prompt_encoder.default.embedding.weight"]


def _fix_yesno_and_sentiment(examples_dir, model, out, *, joint=False):
    """fix on two example suites with the tiny model: two steps, one candidate, no harm guard."""
    suites = [examples_dir / "yesno.yaml", examples_dir / "sentiment.yaml"]
    extra = "--steps 2 --virtual-tokens 3 --harm-tolerance 1.0 --search 1" + (" --joint" if joint else "")
    return fix_cli(suites, model, out, extra)


def test_several_tasks_get_one_adapter_each_unless_joint(tiny_causal_dir, examples_dir, tmp_path):
    out = tmp_path / "many"
    res = _fix_yesno_and_sentiment(examples_dir, tiny_causal_dir, out)
    assert_fix_ran(res)
    report = json.loads((out / "fix_report.json").read_text())
    assert_documented(report)
    assert report["per_task_adapters"] and [t["name"] for t in report["tasks"]] == ["yesno", "sentiment"]
    for name in ("yesno", "sentiment"):
        assert (out / name / "adapter_config.json").is_file()
        assert json.loads((out / name / "fix_report.json").read_text())["tasks"][0]["name"] == name
    joint = tmp_path / "joint"
    res = _fix_yesno_and_sentiment(examples_dir, tiny_causal_dir, joint, joint=True)
    assert_fix_ran(res)
    assert (joint / "adapter_config.json").is_file() and len(
        json.loads((joint / "fix_report.json").read_text())["tasks"]
    ) == 2


def test_a_joint_fix_trains_and_selects_only_on_tasks_above_chance(
    tiny_causal_dir, examples_dir, tmp_path, monkeypatch
):
    """A guessing task's validation "falls" are coin flips; in a joint run they decided the harm
    constraint for every task. It is left out of training and selection, and still reported."""
    import promptcheck.fix.run as fix_run

    real = fix_run.reference_signal

    def signal(scorer, task, confidence):  # the tiny random model guesses on both: say sentiment does not
        return {**real(scorer, task, confidence), "above_chance": task.name == "sentiment"}

    monkeypatch.setattr(fix_run, "reference_signal", signal)
    trained: list[list[str]] = []
    real_train = fix_run.train
    monkeypatch.setattr(
        fix_run,
        "train",
        lambda s, tasks, *a, **k: trained.append([ft.task.name for ft in tasks]) or real_train(s, tasks, *a, **k),
    )
    out = tmp_path / "joint"
    res = _fix_yesno_and_sentiment(examples_dir, tiny_causal_dir, out, joint=True)
    assert res.exit_code == 3, res.output
    assert trained == [["sentiment"]]
    report = json.loads((out / "fix_report.json").read_text())
    assert report["selection"]["excluded_tasks"] == ["yesno"]
    assert len(report["selection"]["baseline_validation_reference_accuracy"]) == 1
    yesno = next(t for t in report["tasks"] if t["name"] == "yesno")
    assert yesno["after"]["items"] > 0 and any(p.startswith("NO SIGNAL: yesno") for p in yesno["problems"])
    assert not any("NO SAFE FIX: yesno" in p for p in yesno["problems"])


def test_the_gate_threshold_is_the_option_else_the_strictest_failed_gate(tiny_causal_dir, examples_dir, tmp_path):
    """fix judges "would the gate pass now" by the gate that failed: the smallest threshold of the
    gates in failures.json, unless --max-accuracy-drop says otherwise."""
    failures = tmp_path / "failures.json"
    verdicts = [{"test": f"t{k}", "verdict": "fail", "threshold": k / 100} for k in (8, 3)]
    failures.write_text(
        json.dumps(
            {"tasks": [{"name": "sentiment", "source": str(examples_dir / "sentiment.yaml"), "verdicts": verdicts}]}
        )
    )
    small = "--steps 1 --virtual-tokens 3 --search 1 --harm-tolerance 1.0 --limit 8"
    for extra, threshold in (("", 0.03), (" --max-accuracy-drop 0.2", 0.2)):
        out = tmp_path / f"o{threshold}"
        res = fix_cli([], tiny_causal_dir, out, f"--from {failures} {small}{extra}")
        assert_fix_ran(res)
        report = json.loads((out / "fix_report.json").read_text())
        assert report["config"]["gate_threshold"] == threshold
        assert report["tasks"][0]["after"]["heldout_gate"]["threshold"] == threshold
