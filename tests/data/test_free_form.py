"""Free-form tasks through the product: suite and JSONL formats, generation, matching, outcomes,
the form/content split of the drop, the results file, the run table and the gate.

A model built in code writes answers from a rule of the prompt, so every outcome is known; the
packaged model's own free-form answers are tried in tests/models/test_generation.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from tiny_models import WriterModel
from typer.testing import CliRunner

import promptcheck as pc
from promptcheck.stats.task import task_statistics
from promptcheck.tasks.records import GenItem

CAPITALS = {
    "France": "Paris",
    "Japan": "Tokyo",
    "Italy": "Rome",
    "Spain": "Madrid",
    "Peru": "Lima",
    "Chad": "N'Djamena",
}


def _country(context: str) -> str:
    return next(c for c in CAPITALS if c in context)


def _writer(context: str) -> str:
    """Terse under the reference; a sentence under "Name"; nothing under "Which"; wrong under "Tell"."""
    city = CAPITALS[_country(context)]
    if context.startswith("Name"):
        return f"The capital is {city}."
    if context.startswith("Which"):
        return "   "
    if context.startswith("Tell"):
        return "London"
    return city


def _suite(tmp_path: Path, body: str = "", items: str | None = None) -> Path:
    items = items or "\n".join(f'  - {{question: "{c}", targets: ["{t}"]}}' for c, t in CAPITALS.items())
    path = tmp_path / "free.yaml"
    path.write_text(
        "name: capitals-free\n"
        'reference_instruction: "What is the capital of this country? Answer with the city name only."\n'
        "instructions:\n  unobserved:\n"
        '    - "Name the capital city of this country."\n'
        '    - "Which city is the capital of this country?"\n'
        '    - "Tell me the capital of this country."\n' + body + "items:\n" + items + "\n",
        encoding="utf-8",
    )
    return path


def test_a_suite_with_targets_is_a_free_form_task(tmp_path):
    task = pc.load_task(_suite(tmp_path, 'generation:\n  max_new_tokens: 8\n  stop: ["\\n\\n"]\n'))
    assert task.generative and task.generation.max_new_tokens == 8 and task.generation.stop == ("\n\n",)
    assert all(isinstance(item, GenItem) for item in task.items)
    assert task.items[0].targets == ("Paris",) and task.chance == 0.0 and task.n_choices == 0


def test_targets_come_as_targets_target_or_a_text_answer_in_suites_and_jsonl(tmp_path):
    items = '  - {question: "France", targets: ["Paris", "paris"]}\n  - {question: "Japan", target: "Tokyo"}\n'
    items += '  - {question: "Italy", answer: "Rome"}\n  - {question: "Two", target: 2}'
    task = pc.load_task(_suite(tmp_path, items=items))
    assert [i.targets for i in task.items] == [("Paris", "paris"), ("Tokyo",), ("Rome",), ("2",)]
    jsonl = tmp_path / "free.jsonl"
    jsonl.write_text('{"question": "France", "answer": "Paris"}\n{"question": "Peru", "targets": ["Lima"]}\n')
    task = pc.load_task(jsonl)
    assert task.generative and [i.targets for i in task.items] == [("Paris",), ("Lima",)]


@pytest.mark.parametrize(
    ("body", "items", "said"),
    [
        (
            "generation:\n  max_new_tokens: 0\n",
            None,
            "free.yaml:9: generation.max_new_tokens: must be a positive integer, got 0",
        ),
        ("generation:\n  tokens: 5\n", None, "free.yaml:9: generation.tokens: unknown key 'tokens'"),
        ("matching:\n  metric: bleu\n", None, "free.yaml:9: matching.metric: unknown metric 'bleu'"),
        ("matching:\n  pattern: '(unclosed'\n", None, "free.yaml:9: matching.pattern:"),
        ("", '  - {question: "France", targets: [""]}', "free.yaml:9: items[0].targets[0]: is empty"),
        ("", '  - {question: "France", targets: []}', "free.yaml:9: items[0].targets: is an empty list"),
        (
            "",
            '  - {question: "France", target: "Paris"}\n  - {question: "x", choices: [a, b], answer: 0}',
            "free.yaml:10: choices: this item is multiple-choice",
        ),
        (
            "generation:\n  max_new_tokens: 5\n",
            '  - {question: "x", choices: [a, b], answer: 0}',
            "free.yaml:8: generation: applies to free-form items",
        ),
        ("format: letters\n", None, "free.yaml:8: format: free-form items have no choices to letter"),
    ],
)
def test_bad_free_form_input_is_one_line_naming_file_line_and_field(tmp_path, body, items, said):
    with pytest.raises(pc.InputError) as info:
        pc.load_task(_suite(tmp_path, body, items))
    text = str(info.value)
    assert (
        text.startswith(said.split(" ", 1)[0])
        and said in str(tmp_path / "x")
        or said in text.replace(str(tmp_path) + "/", "")
    ), text
    assert "\n" not in text


def test_every_cell_gets_one_outcome_and_the_drop_splits_into_form_and_content(tmp_path):
    task = pc.load_task(_suite(tmp_path))
    model = WriterModel(_writer)
    result = pc.evaluate(model, task)
    by_text = {r.text.split()[0]: r for r in result.instructions}
    assert set(by_text["What"].outcomes) == {"correct"}
    assert set(by_text["Name"].outcomes) == {"misformatted"}
    assert by_text["Name"].extracted[0] == "The capital is Paris."
    assert set(by_text["Which"].outcomes) == {"unparsed"} and by_text["Which"].extracted[0] is None
    assert set(by_text["Tell"].outcomes) == {"wrong"}
    assert {(r.max_new_tokens, r.stop) for r in model.requests} == {(32, ())}
    stats = task_statistics(result)
    parts = stats.parts
    # 3 instructions: form failures rose by 2/3 (misformatted + unparsed), wrong answers by 1/3.
    assert parts.form.drop == pytest.approx(2 / 3) and parts.content.drop == pytest.approx(1 / 3)
    assert parts.form.drop + parts.content.drop == pytest.approx(stats.robustness.judgment.drop)
    assert parts.form.interval.low <= parts.form.drop <= parts.form.interval.high
    flags = dict(zip((r.text.split()[0] for r in result.instructions), stats.form_only))
    assert flags == {"What": False, "Name": True, "Which": True, "Tell": False}


def test_consistency_and_flips_count_answers_not_outcomes(tmp_path):
    """Two instructions that read the same answer agree; a different answer flips the item."""
    task = pc.load_task(_suite(tmp_path))
    result = pc.evaluate(WriterModel(_writer), task)
    preds = np.asarray([r.predictions for r in result.instructions])
    ref = preds[0]
    tell = next(r for r in result.instructions if r.text.startswith("Tell"))
    which = next(r for r in result.instructions if r.text.startswith("Which"))
    assert (np.asarray(tell.predictions) != ref).all() and set(which.predictions) == {-1}
    same = WriterModel(lambda ctx: CAPITALS[_country(ctx)])
    again = pc.evaluate(same, task)
    assert len({r.predictions for r in again.instructions}) == 1


def test_the_results_file_holds_outputs_extracted_answers_and_outcomes(tmp_path):
    from promptcheck.report.jsonio import task_to_json

    task = pc.load_task(_suite(tmp_path))
    result = pc.evaluate(WriterModel(_writer), task)
    doc = task_to_json(result)
    assert doc["generation"] == {"max_new_tokens": 32, "stop": []}
    item = doc["items"][0]
    order = [i["text"].split()[0] for i in doc["instructions"]]
    assert item["targets"] == ["Paris"] and "answer" not in item
    assert dict(zip(order, item["outcomes"])) == {
        "What": "correct",
        "Name": "misformatted",
        "Which": "unparsed",
        "Tell": "wrong",
    }
    assert dict(zip(order, item["outputs"]))["Name"] == "The capital is Paris."
    assert dict(zip(order, item["extracted"]))["Which"] is None
    rates = {
        i["text"].split()[0]: (i["misformatted_rate"], i["unparsed_rate"], i["form_only"]) for i in doc["instructions"]
    }
    assert rates == {"What": (0, 0, False), "Name": (1, 0, True), "Which": (0, 1, True), "Tell": (0, 0, False)}
    parts = doc["robustness"]["drop_parts"]
    assert parts["form"]["drop"] == pytest.approx(2 / 3) and parts["content"]["drop"] == pytest.approx(1 / 3)


def test_compare_reads_a_free_form_run_by_its_correct_flags_not_its_answer_codes(tmp_path):
    """Answer codes are not choices: read as choices they would count wrong answers as right."""
    from promptcheck.report.compare import evidence_of
    from promptcheck.report.jsonio import task_to_json

    task = pc.load_task(_suite(tmp_path))
    result = pc.evaluate(WriterModel(_writer), task)
    doc = {"tasks": [task_to_json(result)]}
    e = evidence_of(doc)["capitals-free"]
    assert e.correct[0].all() and not e.correct[1:].any()


def test_the_gate_judges_a_free_form_task_and_names_the_form_part(tmp_path):
    task = pc.load_task(_suite(tmp_path))
    verdict = pc.assert_robust(WriterModel(_writer), task, on_inconclusive="pass", max_accuracy_drop=0.9)
    assert verdict.drop == pytest.approx(1.0) and verdict.mean_kl is None
    doc = verdict.to_json()
    assert doc["drop_parts"]["form"]["drop"] == pytest.approx(2 / 3)
    rates = {i["text"].split()[0]: i.get("misformatted_rate") for i in doc["evidence"]["instructions"]}
    assert rates["Name"] == 1.0 and rates["What"] == 0.0
    assert "form (misformatted or unparsed) +66.7" in verdict.message()
    json.dumps(doc, allow_nan=False)  # a free-form verdict is valid JSON (no NaN KL)


def test_a_model_that_cannot_generate_is_refused_in_one_line(tmp_path):
    from tiny_models import RuleModel

    task = pc.load_task(_suite(tmp_path))
    with pytest.raises(pc.InputError, match="cannot generate"):
        pc.evaluate(RuleModel("rule", lambda ctx: True), task)


def test_run_prints_the_form_content_split_and_writes_the_run_file(tmp_path, tiny_causal_dir):
    """The CLI end to end on a tiny model built in code: whatever it writes, every cell has an
    outcome, the run file says so, and a second run reads every answer from the score cache."""
    from promptcheck.cli.main import app

    suite = _suite(tmp_path, "generation:\n  max_new_tokens: 4\n")
    out = tmp_path / "run.json"
    args = ["run", str(suite), "--model", str(tiny_causal_dir), "--json", str(out), "--cache-dir", str(tmp_path)]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "free-form answers: of the drop, form" in first.output
    doc = json.loads(out.read_text())
    (t,) = doc["tasks"]
    assert all(
        len(it["outcomes"]) == 4 and set(it["outcomes"]) <= {"correct", "misformatted", "unparsed", "wrong"}
        for it in t["items"]
    )
    second = CliRunner().invoke(app, args)
    assert second.exit_code == 0 and "24 from the score cache" in second.output, second.output
    again = json.loads(out.read_text())["tasks"][0]["items"]
    assert [it["outputs"] for it in again] == [it["outputs"] for it in t["items"]]


SUMS = """task: pc_sums
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: generate_until
description: "Add the numbers.\\n\\n"
doc_to_text: "Question: {{{{question}}}}\\nAnswer:"
doc_to_target: "{{{{answer}}}}"
generation_kwargs:
  until: ["\\n\\n"]
  max_gen_toks: 16
  do_sample: false
filter_list:
  - name: strict
    filter:
      - function: regex
        regex_pattern: "The answer is (\\\\-?[0-9]+)"
      - function: take_first
  - name: flexible
    filter:
      - function: regex
        regex_pattern: "(-?[0-9]+)"
        group_select: -1
      - function: take_first
metric_list:
  - metric: exact_match
    ignore_case: true
"""


def _sums_task(tmp_path: Path, metric_list: str | None = None):
    pytest.importorskip("lm_eval", reason="optional extra: pip install 'promptcheck[lm-eval]'")
    from promptcheck.tasks.lmeval import load_lm_eval_tasks

    data = tmp_path / "sums.jsonl"
    rows = [
        {"question": f"{a} + {b}", "answer": str(a + b)}
        for a, b in [(2, 3), (4, 4), (1, 6), (5, 5), (3, 9), (7, 1), (2, 1)]
    ]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    folder = tmp_path / "tasks"
    folder.mkdir(exist_ok=True)
    text = SUMS.format(data=data)
    if metric_list is not None:
        text = text.split("metric_list:")[0] + metric_list
    (folder / "sums.yaml").write_text(text)
    return load_lm_eval_tasks(["pc_sums"], include_path=[folder])[0], folder


def _sums_writer(context: str) -> str:
    """The right sum in lm-eval's format, bare, in lower case (the regex is case-sensitive), or off by one."""
    a, b = (int(x) for x in context.split("Question: ")[1].split("\n")[0].split(" + "))
    kind = (a * 7 + b) % 4
    return [f"The answer is {a + b}.", f"{a + b}", f"the answer is {a + b}", f"The answer is {a + b + 1}."][kind]


def test_an_lm_eval_generate_until_task_is_scored_as_lm_eval_scores_it(tmp_path):
    """promptcheck's correct flags equal lm-eval's own exact_match after lm-eval's own first filter
    pipeline, applied to the same outputs: the task's numbers are lm-eval's."""
    task, _ = _sums_task(tmp_path)
    assert task.generative and task.generation.stop == ("\n\n",) and task.generation.max_new_tokens == 16
    assert task.reference_instruction == "Add the numbers."
    result = pc.evaluate(WriterModel(_sums_writer), task, [task.reference_instruction])
    (row,) = result.instructions
    import lm_eval.tasks

    lm_task = lm_eval.tasks.TaskManager(include_path=str(tmp_path / "tasks")).load(["pc_sums"])["tasks"]["pc_sums"]
    docs = list(lm_task.eval_docs)
    by_question = {d["question"]: d for d in docs}
    ordered = [by_question[item.question.split("Question: ")[1].split("\n")[0]] for item in task.items]
    strict = next(f for f in lm_task._filters if f.name == "strict")
    resps = [[o] for o in row.outputs]
    for step in strict.filters:
        resps = list(step().apply(resps, ordered))  # take_first leaves one string per document
    theirs = [bool(lm_task.process_results(doc, [r])["exact_match"]) for doc, r in zip(ordered, resps)]
    assert list(row.correct) == theirs and 0 < sum(theirs) < len(theirs)
    said = dict(zip(row.outputs, row.outcomes))
    assert said["The answer is 10."] == "correct"
    assert said["the answer is 12"] == "unparsed"  # lm-eval's fallback "[invalid]": never a match
    assert said["5"] == "unparsed"
    assert said["The answer is 4."] == "wrong"


@pytest.mark.parametrize(
    ("metric_list", "said"),
    [
        ("metric_list:\n  - metric: bleu\n", "metric_list: lm-eval task 'pc_sums' scores bleu; promptcheck judges"),
        (
            "metric_list:\n  - metric: exact_match\n    regexes_to_ignore: [',']\n",
            "exact_match's regexes_to_ignore is not mirrored",
        ),
    ],
)
def test_lm_eval_scoring_promptcheck_does_not_mirror_is_refused_in_one_line(tmp_path, metric_list, said):
    with pytest.raises(pc.InputError) as info:
        _sums_task(tmp_path, metric_list)
    text = str(info.value)
    assert said in text and "sums.yaml" in text and "\n" not in text


def test_a_dataset_with_a_targets_field_is_a_free_form_task(tmp_path):
    pytest.importorskip("datasets", reason="optional extra: pip install 'promptcheck[datasets]'")
    data = tmp_path / "caps.jsonl"
    data.write_text("".join(json.dumps({"q": c, "a": [t]}) + "\n" for c, t in CAPITALS.items()))
    items = "\n  files: [caps.jsonl]\n  question: q\n  targets: a"
    task = pc.load_task(_suite(tmp_path, items=items))
    assert task.generative and task.items[0].targets == ("Paris",) and len(task.items) == len(CAPITALS)
    with pytest.raises(pc.InputError) as info:
        pc.load_task(_suite(tmp_path, items=items + "\n  answer: a"))
    assert "items.answer: a free-form dataset names its targets field" in str(info.value)


def test_plan_report_and_compare_read_a_free_form_run_file(tmp_path, tiny_causal_dir):
    """The results-document shape check knows free-form items (targets and correct flags, no choices)."""
    from promptcheck.cli.main import app

    suite = _suite(tmp_path, "generation:\n  max_new_tokens: 3\n")
    out = tmp_path / "run.json"
    base = ["--model", str(tiny_causal_dir), "--cache-dir", str(tmp_path)]
    assert CliRunner().invoke(app, ["run", str(suite), "--json", str(out), *base]).exit_code == 0
    for command in (["plan", str(out)], ["report", str(out)], ["compare", str(out), str(out)]):
        res = CliRunner().invoke(app, command)
        assert res.exit_code == 0, (command, res.output)
    doc = json.loads(out.read_text())
    doc["tasks"][0]["items"][0]["correct"][1] = "yes"
    out.write_text(json.dumps(doc))
    res = CliRunner().invoke(app, ["plan", str(out)])
    assert res.exit_code == 2 and "items[0].correct: must be true or false" in res.output


@pytest.mark.parametrize(
    ("items", "body", "said"),
    [
        (
            '  - {question: "France", target: "Paris", targets: ["Lyon"]}',
            "",
            "free.yaml:9: items[0].target: an item gives targets and target",
        ),
        (
            '  - {question: "France", target: null}',
            "",
            "free.yaml:9: items[0].target: missing: give the accepted answer",
        ),
        (None, "show_choices: true\n", "free.yaml:8: show_choices: applies to choices; free-form items have none"),
        (None, "length_norm: tokens\n", "free.yaml:8: length_norm: applies to choices"),
        (
            '  - {question: "France", targets: ["..."]}',
            "",
            "free.yaml:9: targets: accepted answer '...' is empty after the normalisers",
        ),
    ],
)
def test_more_bad_free_form_input_is_refused_at_its_line_before_a_model_loads(tmp_path, items, body, said):
    with pytest.raises(pc.InputError) as info:
        pc.load_task(_suite(tmp_path, body, items))
    assert said in str(info.value).replace(str(tmp_path) + "/", ""), str(info.value)


def test_a_float_target_is_read_as_a_model_writes_it(tmp_path):
    task = pc.load_task(
        _suite(tmp_path, items='  - {question: "2 + 3", target: 5.0}\n  - {question: "pi", target: 3.14}')
    )
    assert [i.targets for i in task.items] == [("5",), ("3.14",)]


def test_an_instruction_as_accurate_as_the_reference_breaks_nothing(tmp_path):
    """Answers moved from wrong to misformatted, accuracy unchanged: no form-only flag, no form-only drop."""
    task = pc.load_task(_suite(tmp_path))

    def writer(context: str) -> str:
        city = CAPITALS[_country(context)]
        return "London" if context.startswith("What") else f"The capital is {city}."

    stats = task_statistics(pc.evaluate(WriterModel(writer), task))
    assert not any(stats.form_only) and not stats.parts.form_only


def test_compare_refuses_runs_graded_by_different_rules(tmp_path):
    from promptcheck.report.compare import compare_evidence, evidence_of
    from promptcheck.report.jsonio import task_to_json

    task = pc.load_task(_suite(tmp_path))
    strict = pc.load_task(_suite(tmp_path, "matching:\n  normalisers: [strip]\n"))
    old = evidence_of({"tasks": [task_to_json(pc.evaluate(WriterModel(_writer), task))]})
    new = evidence_of({"tasks": [task_to_json(pc.evaluate(WriterModel(_writer), strict))]})
    with pytest.raises(pc.InputError, match="wrote or matched free-form answers differently") as info:
        compare_evidence(old, new)
    assert info.value.field == "matching"
