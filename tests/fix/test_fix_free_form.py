"""`promptcheck fix` on free-form tasks (issue #26, item 5), on a tiny model built in code.

The soft prompt trains on the accepted answer's tokens (teacher-forced cross-entropy) and on a
KL term over the vocabulary along the reference's own answer; selection and the before/after
figures generate and match as the gate does. The tiny random model's answers are meaningless
(it writes newlines), so these tests check the losses against independent computations, the
splits, the refusals, and that the command runs end to end, saves an adapter `run` uses, and
repeats itself exactly.
"""

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
from promptcheck.fix.phrasings import phrasing_pool
from promptcheck.fix.train import (
    answer_ids,
    attach_soft_prompt,
    context_ids,
    path_logprobs,
    soft_prompt,
    step_loss,
    train,
    with_reference_answers,
)
from promptcheck.models.base import Generation
from promptcheck.prompts.rendering import Prompt

# No generated paraphrases: the pool is the reference's structural rewordings (no guard model to load).
CFG = FixConfig(
    num_virtual_tokens=4, steps=6, lr=0.05, batch_items=2, paraphrases_per_item=2, checkpoint_every=2, generated=0
)
SMALL = "--steps 4 --search 1 --virtual-tokens 4 --generated 0 --eval-every 2 --harm-tolerance 1.0 --limit 12"


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """The tiny model on one thread: its matrices are 32 wide, and on a 2-core machine shared with
    other jobs two threads per process made the same fix 36x slower (90 s instead of 2.5 s)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def tiny(tiny_causal_dir):
    return pc.load_model(str(tiny_causal_dir))


@pytest.fixture(scope="module")
def free(examples_dir):
    """The example free-form suite on 10 of its items (seeded sample, as --limit takes it)."""
    return pc.load_task(examples_dir / "capitals_free.yaml", limit=10)


def _only(task, items, instructions):
    """A split with these training items and phrasings (the rest as split_task makes it)."""
    ft = split_task(task, CFG)
    return dataclasses.replace(ft, train_items=tuple(items), train_instructions=tuple(instructions))


def test_free_form_items_split_in_a_seeded_order_and_train_on_free_form_phrasings(free):
    ft = split_task(free, CFG)
    parts = [{i.id for i in p} for p in (ft.train_items, ft.val_items, ft.heldout_items)]
    assert all(parts) and not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
    assert set.union(*parts) == {i.id for i in free.items}
    assert split_task(free, CFG) == ft and split_task(free, dataclasses.replace(CFG, seed=1)) != ft
    # The banks ask to pick among options, and so do two of the multiple-choice answer-format sentences.
    pool = phrasing_pool(free, generated=0, seed=0)
    assert pool and "bank" not in {p.source for p in pool}
    assert not [p for p in pool if "option" in p.text.lower() or "choice" in p.text.lower()]
    assert any(p.text.endswith("Reply with just the answer.") for p in pool)


def test_the_cross_entropy_is_the_teacher_forced_log_probability_of_the_answer_and_its_end(tiny, tiny_causal_dir, free):
    """CE of one item under the reference alone (every paraphrase the reference) is -log p of its
    city then the end-of-sequence token after the prompt, as the evaluation scorer scores that
    continuation (an independent tokenisation and forward pass)."""
    item = free.items[0]
    city = item.targets[0]
    ft = _only(free, [item], [free.reference_instruction])
    [ft] = with_reference_answers(tiny, [ft])
    cfg = dataclasses.replace(CFG, batch_items=1, mode="ce")
    with torch.no_grad():
        loss, ce, _ = step_loss(tiny, [ft], cfg, 0)
    context = pc.render(free.reference_instruction, item, free, chat_formatter=tiny.chat_formatter()).context
    eos = tiny.tokenizer.eos_token
    (scores,) = tiny.score([Prompt(context, (city + eos,))])  # chat template: no space before the answer
    assert ce == pytest.approx(-scores.logprobs[0], rel=1e-4) and float(loss) == pytest.approx(ce)
    assert answer_ids(tiny, city, end=True)[-1] == tiny.tokenizer.eos_token_id
    # Without a chat template the answer follows "Answer:" after a space, as rendering puts a choice.
    plain = pc.load_model(str(tiny_causal_dir), chat_template=False)
    with torch.no_grad():
        _, ce_plain, _ = step_loss(plain, [ft], cfg, 0)
    ctx = pc.render(free.reference_instruction, item, free).context
    (scores,) = plain.score([Prompt(ctx, (" " + city + eos,))])
    assert ce_plain == pytest.approx(-scores.logprobs[0], rel=1e-4)


def test_the_cross_entropy_on_the_target_falls_over_a_few_steps(tiny, free, tmp_path):
    ft = split_task(free, CFG)
    [ft] = with_reference_answers(tiny, [ft])
    # Every training item in every step, and at most 2 phrasings drawn from 2: step 0's batch is the whole set.
    ft = dataclasses.replace(ft, train_instructions=ft.train_instructions[:2])
    cfg = dataclasses.replace(
        CFG,
        mode="ce",
        lr=1.0,
        num_virtual_tokens=8,
        steps=6,
        batch_items=len(ft.train_items),
        paraphrases_per_item=2,
        checkpoint_every=6,
    )
    tuned = attach_soft_prompt(tiny, cfg, free.reference_instruction)
    with torch.no_grad():
        before = step_loss(tuned, [ft], cfg, 0)[1]
    state = train(tuned, [ft], cfg, tmp_path)
    with torch.no_grad():
        after = step_loss(tuned, [ft], cfg, 0)[1]
    curve = [row["ce"] for row in state.curve]
    assert curve[0] == pytest.approx(before)
    # The random tiny model hardly reads its first positions, so the fall is small (29.74 -> 29.66
    # nats over 2-3 answer tokens plus the end token); a wrong sign or no gradient would not fall at all.
    assert after < before - 0.02, (before, after, curve)
    assert all(b <= a + 1e-4 for a, b in zip(curve, curve[1:])), curve
    grads = [n for n, p in tuned.model.named_parameters() if p.requires_grad]
    assert grads == ["prompt_encoder.default.embedding.weight"]


def test_the_kl_term_is_zero_when_the_paraphrase_is_the_reference_and_positive_otherwise(tiny, free):
    ft = split_task(free, CFG)
    [ft] = with_reference_answers(tiny, [ft])
    cfg = dataclasses.replace(CFG, mode="kl", batch_items=len(ft.train_items))
    tuned = attach_soft_prompt(tiny, cfg, free.reference_instruction)
    same = dataclasses.replace(ft, train_instructions=(free.reference_instruction,))
    with torch.no_grad():
        loss, _, kl_same = step_loss(tuned, [same], cfg, 0)
        assert kl_same == 0.0 and float(loss) == 0.0
        loss, _, kl = step_loss(tuned, [ft], cfg, 0)
    assert kl > 0 and float(loss) == pytest.approx(cfg.kl_weight * kl)
    # The KL is read along the reference's own answer: another path gives another value.
    other = dataclasses.replace(ft, reference_answers=tuple(Generation("Paris", "eos") for _ in ft.train_items))
    with torch.no_grad():
        assert step_loss(tuned, [other], cfg, 0)[2] != pytest.approx(kl, rel=1e-3)
    # Its value, by hand for one item and one paraphrase: mean over the answer's positions of
    # KL(p(.|paraphrase, a[:t]) || p(.|reference, a[:t])) over the whole vocabulary.
    item, answer = ft.train_items[0], ft.reference_answers[0]
    para = ft.train_instructions[0]
    one = dataclasses.replace(ft, train_items=(item,), train_instructions=(para,), reference_answers=(answer,))
    fmt = tuned.chat_formatter()
    path = answer_ids(tuned, answer.text, end=answer.finish == "eos")
    rows = [
        (context_ids(tuned, pc.render(text, item, free, chat_formatter=fmt).context), path)
        for text in (free.reference_instruction, para)
    ]
    with torch.no_grad():
        ref, par = path_logprobs(tuned, rows)
        by_hand = float((par.exp() * (par - ref)).sum(-1).mean())
        got = step_loss(tuned, [one], dataclasses.replace(cfg, batch_items=1, paraphrases_per_item=1), 0)[2]
    assert len(ref) == max(1, len(path)) and got == pytest.approx(by_hand, rel=1e-5)
    # The gradient reaches the soft prompt through the paraphrase side only (reference detached).
    loss, _, _ = step_loss(tuned, [ft], cfg, 0)
    loss.backward()
    assert soft_prompt(tuned).grad is not None and soft_prompt(tuned).grad.abs().sum() > 0


def test_the_anchor_holds_the_reference_to_the_base_models_distributions(tiny, free):
    ft = split_task(free, CFG)
    [ft] = with_reference_answers(tiny, [ft])
    cfg = dataclasses.replace(CFG, mode="kl", kl_weight=0.0, anchor_weight=1.0)
    with torch.no_grad():  # no soft prompt: the tuned model is the base model, the anchor is 0
        assert float(step_loss(tiny, [ft], cfg, 0, {})[0]) == pytest.approx(0.0, abs=1e-6)
    tuned = attach_soft_prompt(tiny, cfg, free.reference_instruction)
    with torch.no_grad():
        assert float(step_loss(tuned, [ft], cfg, 0)[0]) == 0.0  # anchors None: the term is off
        one = float(step_loss(tuned, [ft], cfg, 0, {})[0])
        assert one > 0
        assert float(step_loss(tuned, [ft], dataclasses.replace(cfg, anchor_weight=2.0), 0, {})[0]) == pytest.approx(
            2 * one
        )
    loss, _, _ = step_loss(tuned, [ft], cfg, 0, {})
    loss.backward()
    assert soft_prompt(tuned).grad is not None and soft_prompt(tuned).grad.abs().sum() > 0


def test_a_free_form_task_needs_its_reference_answers_before_training(tiny, free):
    tuned = attach_soft_prompt(tiny, CFG, free.reference_instruction)
    with pytest.raises(pc.PromptcheckError, match="with_reference_answers"):
        step_loss(tuned, [split_task(free, CFG)], CFG, 0)


def test_what_fix_cannot_do_on_a_free_form_task_is_refused_in_one_line(free, tmp_path):
    from promptcheck.fix.entry import plan_fix

    # No unobserved instructions of its own: the written banks' ask to pick among options.
    bare = dataclasses.replace(free, unobserved=())
    with pytest.raises(pc.InputError) as info:
        split_task(bare, CFG)
    assert "free-form task has none of" in str(info.value) and "\n" not in str(info.value)
    # A regex extractor that needs a frame around the answer: a bare target is unparsed, so the
    # cross-entropy would teach a refused form. KL only is allowed.
    from promptcheck.tasks.matching import MatchSpec

    framed = dataclasses.replace(free, matching=MatchSpec.from_mapping({"pattern": r"Answer: (\w+)"}))
    with pytest.raises(pc.InputError, match=r"--mode kl") as info:
        split_task(framed, CFG)
    assert "\n" not in str(info.value)
    assert split_task(framed, dataclasses.replace(CFG, mode="kl")).train_items
    # The command line refuses it before any model loads.
    rows = [{"question": i.question, "targets": list(i.targets)} for i in free.items]
    (tmp_path / "c.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    suite = tmp_path / "framed.yaml"
    suite.write_text(
        "name: framed\nitems: c.jsonl\n"
        'reference_instruction: "Give the capital as Answer: <city>."\n'
        'instructions:\n  unobserved: ["Capital city? Write Answer: <city>."]\n'
        'matching:\n  extractor: regex\n  pattern: "Answer: (\\\\w+)"\n'
    )
    res = CliRunner().invoke(app, ["fix", str(suite), "--model", str(tmp_path / "never-loaded")])
    assert res.exit_code == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "--mode kl" in lines[0] and "framed.yaml" in lines[0]
    assert plan_fix([suite], config={"mode": "kl"}).tasks[0].generative


def _report_numbers(doc: dict) -> dict:
    """What a fix report says, without wall times, paths and stamps."""
    keep = ("tasks", "selection", "training_curve", "problems", "ok", "harm_check")
    out = json.loads(json.dumps({k: doc[k] for k in keep}))
    for cand in out["selection"]["candidates"]:
        cand.pop("seconds")
    for t in out["tasks"]:
        t.pop("source", None)
    return out


def test_cli_fix_on_a_free_form_suite_reports_and_saves_an_adapter_run_generates_with(
    tiny_causal_dir, examples_dir, tmp_path
):
    out = tmp_path / "adapter"
    suite = examples_dir / "capitals_free.yaml"
    res = fix_cli([suite], tiny_causal_dir, out, SMALL)
    assert_fix_ran(res)  # exit 0, or 3 with one line per reason
    reasons = [ln for ln in res.stderr.splitlines() if ln.startswith("promptcheck: ") and "warning" not in ln]
    report = json.loads((out / "fix_report.json").read_text())
    assert_documented(report)
    (t,) = report["tasks"]
    assert len(reasons) == len(t["problems"]) == len(report["problems"]) and (res.exit_code == 3) == bool(reasons)
    # The tiny random model writes newlines: nothing correct under the reference, chance 0 -> NO SIGNAL.
    sig = t["reference_signal"]
    assert sig["chance"] == 0.0 and sig["items"] == 12
    assert any(p.startswith("NO SIGNAL: capitals-free:") for p in t["problems"]) == (not sig["above_chance"])
    for side in ("before", "after"):
        m = t[side]
        assert m["items"] == t["heldout_items"] == 6 and m["heldout_instructions"] == 3
        for key in ("reference", "heldout"):
            for what in ("misformatted", "unparsed"):
                assert 0.0 <= m[f"{key}_{what}_rate"] <= 1.0
        parts = m["heldout_drop_parts"]
        assert parts["form"]["drop"] + parts["content"]["drop"] == pytest.approx(m["heldout_drop"])
        assert m["heldout_gate"]["drop"] == pytest.approx(m["heldout_drop"])
    assert set(t["outcome"]) >= {"label", "gap_closed", "heldout_drop_before", "heldout_drop_after"}
    assert t["outcome"]["heldout_drop_before"] == t["before"]["heldout_drop"]
    sel = report["selection"]
    assert [r["step"] for r in sel["candidates"][0]["validation"]] == [0, 2, 4]
    assert all(r["kl"] == [None] and len(r["disagreement"]) == 1 for r in sel["candidates"][0]["validation"])
    assert len(report["training_curve"]) == 4 and all(r["ce"] > 0 for r in report["training_curve"])
    assert not set(t["train_instructions"]) & set(t["heldout_instructions"])

    # The adapter loads with --adapter; `run` generates with it, and its answers on the held-out
    # items are the report's "after" (the figures come from the saved prompt, not a later one).
    with_adapter = pc.load_model(str(tiny_causal_dir), adapter=out)
    assert with_adapter.identity.adapter_hash == report["adapter"]["hash"]
    runs = tmp_path / "run.json"
    res = CliRunner().invoke(
        app,
        ["run", str(suite), "--model", str(tiny_causal_dir), "--adapter", str(out), "--limit", "12"]
        + ["--json", str(runs)],
    )
    assert res.exit_code in (0, 1), res.output
    doc = json.loads(runs.read_text())
    (task,) = doc["tasks"]
    assert doc["model"]["adapter_hash"] == report["adapter"]["hash"]
    assert len(task["items"]) == 12 and all(len(i["outputs"]) == 4 for i in task["items"])
    # The held-out items fix reported on: the same sample and split, from the report's own options.
    split = split_task(pc.load_task(suite, limit=12), FixConfig(**report["config"]))
    held = {i.id for i in split.heldout_items}
    assert len(held) == t["heldout_items"]
    rows = [i for i in task["items"] if i["id"] in held]
    kinds = [ins["kind"] for ins in task["instructions"]]
    ref, unobserved = kinds.index("reference"), [k for k, kind in enumerate(kinds) if kind == "unobserved"]
    after = t["after"]
    assert sum(r["correct"][ref] for r in rows) / len(rows) == pytest.approx(after["reference_accuracy"])
    for what in ("misformatted", "unparsed"):
        got = sum(r["outcomes"][ref] == what for r in rows) / len(rows)
        assert got == pytest.approx(after[f"reference_{what}_rate"])
        cells = [r["outcomes"][k] for r in rows for k in unobserved]
        assert sum(c == what for c in cells) / len(cells) == pytest.approx(after[f"heldout_{what}_rate"])


def test_fix_on_a_free_form_task_repeats_itself(tiny_causal_dir, free, tmp_path, monkeypatch):
    """Same seed, same report numbers, from an empty score cache each time (nothing read back)."""
    from promptcheck.fix.run import run_fix

    cfg = dataclasses.replace(CFG, steps=3, eval_every=1, search=1, harm_tolerance=1.0)
    docs = []
    for k in range(2):
        monkeypatch.setenv("PROMPTCHECK_SCORE_CACHE", str(tmp_path / f"scores{k}.sqlite"))
        report = run_fix(pc.load_model(str(tiny_causal_dir)), [free], cfg, tmp_path / f"o{k}")
        docs.append(_report_numbers(report.document))
    assert docs[0] == docs[1]
    assert docs[0]["tasks"][0]["after"]["items"] == docs[0]["tasks"][0]["heldout_items"]


def test_answers_under_an_adapter_are_the_greedy_answers_of_the_prompted_model(free):
    """A free-form task's selection and after-figures are only as right as generation under the soft
    prompt: greedy decoding through ``HFScorer.generate`` must equal greedy decoding by hand with the
    peft model's own forward pass (each step recomputed in full: no cache, no position bookkeeping)."""
    from tiny_models import tiny_causal

    from promptcheck.models.base import GenerationRequest, ModelIdentity
    from promptcheck.models.hf import HFScorer

    model, tokenizer = tiny_causal(0)
    with torch.no_grad():  # larger weights: the random model then writes varied tokens, not only newlines
        for p in model.parameters():
            p.mul_(4.0)
    tuned = attach_soft_prompt(HFScorer(model, tokenizer, ModelIdentity("tiny-x4")), CFG, free.reference_instruction)
    contexts = [
        pc.render(free.reference_instruction, i, free, chat_formatter=tuned.chat_formatter()).context
        for i in free.items[:4]
    ]
    got = [g.text for g in tuned.generate([GenerationRequest(c, 6) for c in contexts])]
    by_hand = []
    for context in contexts:
        ids = torch.tensor([context_ids(tuned, context)])
        new: list[int] = []
        with torch.no_grad():
            for _ in range(6):
                seq = torch.cat([ids, torch.tensor([new], dtype=torch.long)], dim=1)
                new.append(int(tuned.model(input_ids=seq, attention_mask=torch.ones_like(seq)).logits[0, -1].argmax()))
        end = new.index(tokenizer.eos_token_id) if tokenizer.eos_token_id in new else len(new)
        by_hand.append(tokenizer.decode(new[:end], skip_special_tokens=True))
    assert got == by_hand
