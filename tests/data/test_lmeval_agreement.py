"""promptcheck scores an lm-eval task as lm-evaluation-harness itself does.

lm-eval's own evaluator (``simple_evaluate`` with its ``HFLM`` model class, ``log_samples=True``)
and promptcheck (``promptcheck run --lm-eval-task``) score the same local task YAML, items and
tiny model; the reference instruction's prompts, per-choice log-likelihoods, predictions and
accuracy must be lm-eval's, with the chat template off and on. The old rendering (promptcheck's
own layout around lm-eval's text) is checked to differ, so the comparison can fail.
"""

from __future__ import annotations

import dataclasses
import json
import shutil

import pytest
from typer.testing import CliRunner

import promptcheck as pc
from promptcheck.cli.main import app
from promptcheck.tasks.lmeval import load_lm_eval_tasks

pytest.importorskip("datasets", reason="optional extra: pip install 'promptcheck[lm-eval]'")
pytest.importorskip("lm_eval", reason="optional extra: pip install 'promptcheck[lm-eval]'")

#: A description (lm-eval puts it before doc_to_text; with a chat template, in a system turn).
DESCRIBED = """task: pc_caps
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: multiple_choice
description: "Answer the question about capitals.\\n\\n"
doc_to_text: "Question: {{{{question}}}}\\nAnswer:"
doc_to_choice: "{{{{choices}}}}"
doc_to_target: answer
metric_list:
  - metric: acc
"""

#: No description: the instruction is the first line of doc_to_text; another target_delimiter.
INLINE = """task: pc_caps_inline
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: multiple_choice
doc_to_text: "Answer the question about capitals.\\nQuestion: {{{{question}}}}\\nAnswer"
target_delimiter: ": "
doc_to_choice: "{{{{choices}}}}"
doc_to_target: answer
metric_list:
  - metric: acc
"""


@pytest.fixture(scope="module")
def caps_dir(tmp_path_factory, examples_dir):
    folder = tmp_path_factory.mktemp("lm_caps")
    rows = [json.loads(line) for line in (examples_dir / "capitals.jsonl").read_text().splitlines()]
    data = folder / "caps.jsonl"
    data.write_text("".join(json.dumps({k: r[k] for k in ("question", "choices", "answer")}) + "\n" for r in rows))
    tasks = folder / "tasks"
    tasks.mkdir()
    (tasks / "caps.yaml").write_text(DESCRIBED.format(data=data))
    (tasks / "inline.yaml").write_text(INLINE.format(data=data))
    return tasks


@pytest.fixture(scope="module")
def tiny(tiny_causal_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return AutoModelForCausalLM.from_pretrained(tiny_causal_dir).eval(), AutoTokenizer.from_pretrained(tiny_causal_dir)


def lm_eval_samples(model, tokenizer, task_dir, name: str, *, chat: bool) -> tuple[list[dict], float]:
    """lm-evaluation-harness's own run: its samples in document order and its ``acc``."""
    import lm_eval
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    lm = HFLM(pretrained=model, tokenizer=tokenizer, batch_size=8, device="cpu")
    res = lm_eval.simple_evaluate(
        model=lm,
        tasks=[name],
        task_manager=TaskManager(include_path=[str(task_dir)], include_defaults=False),
        log_samples=True,
        apply_chat_template=chat,
        bootstrap_iters=0,
    )
    return sorted(res["samples"][name], key=lambda s: s["doc_id"]), res["results"][name]["acc,none"]


def loglikelihoods(samples: list[dict]) -> list[list[float]]:
    return [[float(resp[0]) for resp in s["filtered_resps"]] for s in samples]


def argmax(row: list[float]) -> int:
    return max(range(len(row)), key=row.__getitem__)  # the first of ties, as np.argmax in lm-eval


def max_diff(a: list[list[float]], b) -> float:
    return max(abs(x - y) for ra, rb in zip(a, b) for x, y in zip(ra, rb, strict=True))


@pytest.mark.parametrize("chat", [False, True], ids=["chat-off", "chat-on"])
@pytest.mark.parametrize("name", ["pc_caps", "pc_caps_inline"])
def test_reference_scores_equal_lm_evals(caps_dir, tiny, tiny_causal_dir, tmp_path, name, chat):
    model, tokenizer = tiny
    samples, acc = lm_eval_samples(model, tokenizer, caps_dir, name, chat=chat)
    theirs = loglikelihoods(samples)
    preds = [argmax(row) for row in theirs]
    assert len(set(preds)) == 3 and len(samples) == 40, preds  # a random model, but not one answer for all

    # promptcheck run, as a user runs it
    out = tmp_path / "r.json"
    res = CliRunner().invoke(
        app,
        [
            "run",
            "--lm-eval-task",
            name,
            "--lm-eval-include",
            str(caps_dir),
            "--model",
            str(tiny_causal_dir),
            "--chat-template" if chat else "--no-chat-template",
            "--no-default-instructions",  # the reference alone: lm-eval's prompt
            "--json",
            str(out),
            "--no-cache",
        ],
    )
    assert res.exit_code == 0, res.output
    (t,) = json.loads(out.read_text())["tasks"]
    assert t["reference_instruction"] == "Answer the question about capitals."
    ours = [item["logprobs"][0] for item in t["items"]]
    assert max_diff(theirs, ours) < 1e-4
    assert [item["predictions"][0] for item in t["items"]] == preds
    assert t["instructions"][0]["accuracy"] == pytest.approx(acc, abs=1e-12)

    # the very strings lm-eval scored: context + continuation, per choice
    (task,) = load_lm_eval_tasks([name], include_path=[caps_dir])
    scorer = pc.load_model(str(tiny_causal_dir), chat_template=chat)
    fmt = scorer.chat_formatter()
    rendered = [pc.render(task.reference_instruction, item, task, chat_formatter=fmt) for item in task.items]
    for prompt, sample in zip(rendered, samples):
        assert [prompt.context + c for c in prompt.continuations] == [ctx + cont for ctx, cont in sample["arguments"]]
        assert prompt.context == sample["arguments"][0][0].rstrip()  # lm-eval's _encode_pair split
    if chat and name == "pc_caps":  # the description is a system turn, as in lm-eval
        assert rendered[0].context.startswith("<|system|>\nAnswer the question about capitals.\n\n\n<|user|>\n")

    # the test can fail: promptcheck's own layout around the same text scores other numbers
    old = dataclasses.replace(task, layout=None)
    before = [pc.render(old.reference_instruction, item, old, chat_formatter=fmt) for item in old.items]
    assert before[0].context != rendered[0].context
    assert max_diff(theirs, [s.logprobs for s in scorer.score(before)]) > 1e-3


def test_paraphrase_replaces_only_the_description(caps_dir):
    (task,) = load_lm_eval_tasks(["pc_caps"], include_path=[caps_dir])
    item = task.items[0]
    ref = pc.render(task.reference_instruction, item, task)
    assert ref.context == "Answer the question about capitals.\n\nQuestion: What is the capital of France?\nAnswer:"
    assert ref.continuations == (" Paris", " Lyon", " Marseille")
    para = pc.render("Reply about capital cities.", item, task)
    assert para.context == "Reply about capital cities.\n\nQuestion: What is the capital of France?\nAnswer:"
    slot = pc.render("{input}\n(about capitals)", item, task)
    assert slot.context == "Question: What is the capital of France?\nAnswer:\n(about capitals)"
    (inline,) = load_lm_eval_tasks(["pc_caps_inline"], include_path=[caps_dir])
    assert pc.render("Name the capital.", inline.items[0], inline).context == (
        "Name the capital.\nQuestion: What is the capital of France?\nAnswer"
    )
    assert pc.render("x", inline.items[0], inline).continuations[0] == ": Paris"


def test_no_instruction_in_lm_evals_prompt_puts_promptchecks_where_a_description_goes(caps_dir, tmp_path):
    folder = tmp_path / "bare"
    shutil.copytree(caps_dir, folder)
    (folder / "inline.yaml").unlink()
    text = (folder / "caps.yaml").read_text()
    (folder / "caps.yaml").write_text(text.replace('description: "Answer the question about capitals.\\n\\n"\n', ""))
    (task,) = load_lm_eval_tasks(["pc_caps"], include_path=[folder])
    assert task.reference_instruction == "Answer the following multiple choice question."
    prompt = pc.render(task.reference_instruction, task.items[0], task)
    assert prompt.context == (
        "Answer the following multiple choice question.\n\nQuestion: What is the capital of France?\nAnswer:"
    )


def test_bos_adding_tokenizer_agrees_with_lm_eval(caps_dir, tiny):
    """A tokenizer that adds BOS: promptcheck (chat template off) adds it as lm-eval's HFLM does."""
    from tokenizers import processors
    from transformers import AutoTokenizer

    from promptcheck.models.hf import HFScorer

    model, plain = tiny
    tokenizer = AutoTokenizer.from_pretrained(plain.name_or_path)
    bos = tokenizer.bos_token_id
    tokenizer.backend_tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A", special_tokens=[("<s>", bos)]
    )
    assert tokenizer("Paris")["input_ids"][0] == bos
    samples, acc = lm_eval_samples(model, tokenizer, caps_dir, "pc_caps", chat=False)
    scorer = HFScorer(model, tokenizer, pc.ModelIdentity(id="tiny-bos"), use_chat_template=False)
    (task,) = load_lm_eval_tasks(["pc_caps"], include_path=[caps_dir])
    reference = task.instructions()[:1]
    result = pc.evaluate(scorer, task, reference)
    theirs = loglikelihoods(samples)
    assert max_diff(theirs, result.instructions[0].logprobs) < 1e-4
    assert list(result.instructions[0].predictions) == [argmax(row) for row in theirs]
    assert result.reference_accuracy == pytest.approx(acc, abs=1e-12)
    plain_scorer = HFScorer(model, plain, pc.ModelIdentity(id="tiny"), use_chat_template=False)
    without = pc.evaluate(plain_scorer, task, reference)
    assert max_diff(theirs, without.instructions[0].logprobs) > 1e-3  # the BOS is really scored


def test_a_template_without_a_system_role_keeps_the_instruction_in_the_user_turn(caps_dir, tiny):
    """lm-eval drops the system turn when a template refuses it; promptcheck keeps the instruction."""
    from transformers import AutoTokenizer

    from promptcheck.prompts.rendering import chat_template_text

    tokenizer = AutoTokenizer.from_pretrained(tiny[1].name_or_path)
    tokenizer.chat_template = (
        "{% for m in messages %}{% if m['role'] == 'system' %}{{ raise_exception('no system role') }}{% endif %}"
        "<|{{ m['role'] }}|>\n{{ m['content'] }}\n{% endfor %}{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
    )
    (task,) = load_lm_eval_tasks(["pc_caps"], include_path=[caps_dir])

    def fmt(user_text: str, system: str | None = None) -> str:
        return chat_template_text(tokenizer, user_text, system)

    prompt = pc.render("Reply about capitals.", task.items[0], task, chat_formatter=fmt)
    assert prompt.context == (
        "<|user|>\nReply about capitals.\n\nQuestion: What is the capital of France?\nAnswer:\n<|assistant|>"
    )
    assert prompt.continuations[0] == "\nParis"
    # a formatter that takes no system turn (a scorer of one's own) gets it in the user turn too
    plain = pc.render("Reply about capitals.", task.items[0], task, chat_formatter=lambda text: f"[{text}]")
    assert plain.context == "[Reply about capitals.\n\nQuestion: What is the capital of France?\nAnswer:]"
