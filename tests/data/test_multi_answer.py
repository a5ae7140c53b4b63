"""Items with several correct choices: loading, scoring, statistics inputs, results JSON, fix's loss."""

from __future__ import annotations

import json

import pytest
import torch

import promptcheck as pc
from promptcheck.errors import InputError
from promptcheck.tasks.records import MCItem


def jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_answer_list_is_a_set_of_correct_choices(tmp_path):
    jsonl(
        tmp_path / "i.jsonl",
        [
            {"question": "Which are even?", "choices": ["1", "2", "3", "4"], "answer": ["D", 1]},
            {"question": "Which is odd?", "choices": ["1", "2"], "answer": 0},
        ],
    )
    task = pc.load_task(tmp_path / "i.jsonl")
    multi, single = task.items
    assert multi.answers == (1, 3) and multi.answer == 1
    assert single.answers == (0,)
    assert [multi.is_correct(k) for k in range(4)] == [False, True, False, True]
    # chance: the expected accuracy of a uniform guess, |correct|/|choices| averaged over items
    assert task.chance == pytest.approx((2 / 4 + 1 / 2) / 2)


def test_mcitem_keeps_answer_first_of_answers():
    with pytest.raises(ValueError):
        MCItem("x", "q", ("a", "b", "c"), answer=2, answers=(0, 2))


@pytest.fixture(scope="module")
def tiny(tiny_causal_dir):
    return pc.load_model(str(tiny_causal_dir))


def test_a_prediction_is_correct_when_it_is_any_correct_choice(tiny, tmp_path):
    """A real (tiny) model: build the item so its prediction is a correct choice that is not ``answer``."""
    default_model = tiny
    rows = [
        {"question": "The capital of France is", "choices": ["Berlin", "Paris", "Madrid"], "answer": 0},
        {"question": "The opposite of hot is", "choices": ["cold", "warm", "loud"], "answer": 0},
    ]
    first = pc.evaluate(default_model, pc.load_task(jsonl(tmp_path / "a.jsonl", rows)))
    preds = first.reference.predictions
    for row, pred in zip(rows, preds):
        other = 0 if pred != 0 else 2
        row["answer"] = sorted({pred, other})  # pred is correct, but (when pred > other) not the first answer
    second = pc.evaluate(default_model, pc.load_task(jsonl(tmp_path / "b.jsonl", rows)))
    assert second.reference.predictions == preds
    assert all(second.reference.correct)
    single = [{**r, "answer": (r["answer"][0] if r["answer"][0] != p else r["answer"][1])} for r, p in zip(rows, preds)]
    third = pc.evaluate(default_model, pc.load_task(jsonl(tmp_path / "c.jsonl", single)))
    assert not any(third.reference.correct)


def test_results_json_records_the_answer_set_only_when_several(tmp_path, tiny):
    default_model = tiny
    from promptcheck.evaluation.results import RunResult
    from promptcheck.report.compare import evidence_of
    from promptcheck.report.jsonio import run_to_json

    rows = [
        {"question": "Pick a vowel", "choices": ["a", "b", "e"], "answer": [0, 2]},
        {"question": "Pick b", "choices": ["a", "b"], "answer": 1},
    ]
    task = pc.load_task(jsonl(tmp_path / "i.jsonl", rows), observed=["Choose one."])
    result = pc.evaluate(default_model, task)
    doc = run_to_json(RunResult((result,), default_model.identity), timestamp=False)
    items = doc["tasks"][0]["items"]
    assert items[0]["answer"] == 0 and items[0]["answers"] == [0, 2]
    assert items[1]["answer"] == 1 and "answers" not in items[1]
    assert doc["tasks"][0]["chance_accuracy"] == pytest.approx((2 / 3 + 1 / 2) / 2)
    # compare reads correctness back from the file with the set
    path = tmp_path / "r.json"
    path.write_text(json.dumps(doc))
    ev = evidence_of(json.loads(path.read_text()))[task.name]
    assert ev.correct[0].tolist() == list(result.reference.correct)


def test_fix_cross_entropy_target_is_the_set(tiny_causal_dir, tmp_path):
    """CE for an item with correct choices {0, 2} is -log(p0 + p2), from the same log-probs fix trains on."""
    from promptcheck.fix.config import FixConfig
    from promptcheck.fix.data import split_task
    from promptcheck.fix.train import attach_soft_prompt, step_loss
    from promptcheck.prompts.rendering import render

    rows = [{"question": f"item {i}", "choices": ["x", "y", "z"], "answer": [0, 2]} for i in range(4)]
    task = pc.load_task(jsonl(tmp_path / "i.jsonl", rows), observed=["Pick."], unobserved=["Choose."])
    cfg = FixConfig(
        num_virtual_tokens=2,
        steps=1,
        batch_items=1,
        paraphrases_per_item=1,
        mode="ce",
        heldout_items=0.5,
        phrasings="observed",
        val_items=0.0,
        val_instructions=0.0,
    )
    tuned = attach_soft_prompt(pc.load_model(str(tiny_causal_dir)), cfg, task.reference_instruction)
    ft = split_task(task, cfg)
    loss, ce, _ = step_loss(tuned, [ft], cfg, step=0)
    # recompute: the step's single item, under the reference and the one observed instruction
    fmt = tuned.chat_formatter()
    expected = []
    for item in ft.train_items:
        prompts = [render(t, item, task, chat_formatter=fmt) for t in (task.reference_instruction, "Pick.")]
        with torch.no_grad():
            logp = torch.log_softmax(tuned.choice_logprobs_tensor(prompts)[:, :3], dim=-1)
        expected.append(float(-torch.log(logp[:, 0].exp() + logp[:, 2].exp()).mean()))
    assert any(ce == pytest.approx(e, rel=1e-4) for e in expected)


def test_flat_all_correct_is_refused_but_one_line(tmp_path):
    jsonl(tmp_path / "i.jsonl", [{"question": "q", "choices": ["a", "b"], "answer": [0, 1]}])
    with pytest.raises(InputError, match=r"i\.jsonl:1: answer: marks all 2 choices correct"):
        pc.load_task(tmp_path / "i.jsonl")
