"""Items from Hugging Face datasets (local files through datasets' own builders) and lm-eval task configs."""

from __future__ import annotations

import dataclasses
import json
import textwrap

import pytest
from typer.testing import CliRunner

import promptcheck as pc
from promptcheck.cli.main import app
from promptcheck.tasks.lmeval import load_lm_eval_tasks

datasets = pytest.importorskip("datasets", reason="optional extra: pip install 'promptcheck[datasets]'")

ROWS = [{"q": f"Is {i} even?", "A": "yes", "B": "no", "label": i % 2, "uid": f"n{i}"} for i in range(12)]


def suite(tmp_path, items: str, extra: str = "") -> object:
    (tmp_path / "s.yaml").write_text(
        "name: ds\nreference_instruction: Answer the question.\n"
        + extra
        + "items:\n"
        + textwrap.indent(textwrap.dedent(items), "  ")
    )
    return tmp_path / "s.yaml"


@pytest.mark.parametrize("fmt", ["parquet", "csv", "jsonl"])
def test_local_files_through_datasets_builders(tmp_path, fmt):
    ds = datasets.Dataset.from_list(ROWS)
    path = tmp_path / f"d.{fmt}"
    {"parquet": ds.to_parquet, "csv": ds.to_csv, "jsonl": lambda p: ds.to_json(p, lines=True)}[fmt](str(path))
    task = pc.load_task(
        suite(
            tmp_path,
            f"""
        files: [d.{fmt}]
        question: q
        choices: [A, B]
        answer: label
        id: uid
    """,
        )
    )
    assert len(task.items) == 12 and task.items[3].id == "n3" and task.items[3].answer == 1
    assert task.items[3].question == "Is 3 even?" and task.items[3].choices == ("yes", "no")
    sample = pc.load_task(tmp_path / "s.yaml", limit=5)
    assert [i.id for i in sample.items] == [i.id for i in pc.load_task(tmp_path / "s.yaml", limit=8).items][:5]


def test_list_field_and_answer_sets(tmp_path):
    rows = [
        {"question": "vowels?", "choices": ["a", "b", "e"], "answer": [0, 2]},
        {"question": "b?", "choices": ["a", "b", "c"], "answer": [1]},
    ]
    (tmp_path / "d.json").write_text(json.dumps(rows))
    task = pc.load_task(suite(tmp_path, "files: d.json\nquestion: question\nchoices: choices\nanswer: answer\n"))
    assert [i.answers for i in task.items] == [(0, 2), (1,)]


@pytest.mark.parametrize(
    ("items", "message"),
    [
        (
            "files: [d.jsonl]\nquestion: nope\nchoices: [A, B]\nanswer: label\n",
            "s.yaml:3: items.question: the dataset has no field 'nope' (fields: q, A, B, label, uid)",
        ),
        (
            "files: [d.jsonl]\nquestion: q\nchoices: [A]\nanswer: label\n",
            "items.choices: must be a field name, or a list",
        ),
        ("files: [d.jsonl]\nquestion: q\nchoices: [A, B]\nanswer: label\nsplt: x\n", "items.splt: unknown key"),
        ("dataset: x\nfiles: [d.jsonl]\nquestion: q\nchoices: [A, B]\nanswer: label\n", "not both or neither"),
        (
            "files: [d.jsonl]\nquestion: q\nchoices: [A, B]\nanswer: q\n",
            "items: row 0: answer: 'Is 0 even?' is neither",
        ),
        (
            "dataset: promptcheck-no-such/dataset-xyz\nquestion: q\nchoices: [A, B]\nanswer: label\n",
            "items.dataset: dataset promptcheck-no-such/dataset-xyz: no cached copy and the Hugging Face hub cannot be reached",
        ),
    ],
)
def test_dataset_errors_are_one_line(tmp_path, monkeypatch, items, message):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)  # read at import: set it as the env would
    datasets.Dataset.from_list(ROWS).to_json(str(tmp_path / "d.jsonl"), lines=True)
    res = CliRunner().invoke(app, ["run", str(suite(tmp_path, items))])
    assert res.exit_code == 2, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], lines


LM_EVAL_TASK = """
task: pc_evens
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: {output_type}
description: "Answer the question about numbers.\\n\\n"
doc_to_text: "Question: {{{{question}}}}\\nAnswer:"
doc_to_choice: "{{{{choices}}}}"
doc_to_target: answer
metric_list:
  - metric: acc
"""


@pytest.fixture
def lm_eval_dir(tmp_path):
    pytest.importorskip("lm_eval", reason="optional extra: pip install 'promptcheck[lm-eval]'")
    rows = [{"question": f"Is {i} an even number?", "choices": ["yes", "no"], "answer": i % 2} for i in range(10)]
    data = tmp_path / "evens.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    folder = tmp_path / "lm_tasks"
    folder.mkdir()
    (folder / "evens.yaml").write_text(LM_EVAL_TASK.format(data=data, output_type="multiple_choice"))
    (folder / "gen.yaml").write_text(
        LM_EVAL_TASK.format(data=data, output_type="generate_until").replace("pc_evens", "pc_evens_gen")
    )
    return folder


def test_lm_eval_task_runs_end_to_end_with_its_description_as_reference(lm_eval_dir, tmp_path, tiny_causal_dir):
    out = tmp_path / "r.json"
    res = CliRunner().invoke(
        app,
        [
            "run",
            "--lm-eval-task",
            "pc_evens",
            "--lm-eval-include",
            str(lm_eval_dir),
            "--model",
            str(tiny_causal_dir),
            "--paraphrases",
            "2",
            "--limit",
            "6",
            "--json",
            str(out),
            "--no-cache",
        ],
    )
    assert res.exit_code == 0, res.output
    (t,) = json.loads(out.read_text())["tasks"]
    assert t["name"] == "pc_evens" and t["n_items"] == 6 and t["sample"]["population"] == 10
    assert t["reference_instruction"] == "Answer the question about numbers."
    assert len(t["instructions"]) == 3 and t["items"][0]["n_choices"] == 2
    # a suite naming the task: its own instructions, lm-eval's items
    (tmp_path / "s.yaml").write_text(
        "name: evens\nlm_eval_task: pc_evens\nlm_eval_include: lm_tasks\n"
        "instructions:\n  unobserved: [Reply about the number.]\n"
    )
    task = pc.load_task(tmp_path / "s.yaml")
    assert task.reference_instruction == "Answer the question about numbers." and len(task.items) == 10
    assert task.items[3].question == "Question: Is 3 an even number?\nAnswer:" and task.items[3].answer == 1


def test_lm_eval_generate_until_task_scored_by_another_metric_is_refused_in_one_line(lm_eval_dir):
    """A generate_until task loads as a free-form one (its index target named by doc_to_choice, as
    lm-eval's process_results does), but one scored by acc is refused: promptcheck judges exact_match."""
    res = CliRunner().invoke(app, ["run", "--lm-eval-task", "pc_evens_gen", "--lm-eval-include", str(lm_eval_dir)])
    assert res.exit_code == 2
    lines = res.stderr.strip().splitlines()
    assert (
        len(lines) == 1
        and f"{lm_eval_dir / 'gen.yaml'}:13: metric_list: lm-eval task 'pc_evens_gen' scores acc; promptcheck "
        "judges a generate_until task by exact_match"
        in lines[0]
    ), lines
    text = (lm_eval_dir / "gen.yaml").read_text().replace("metric: acc", "metric: exact_match")
    (lm_eval_dir / "gen.yaml").write_text(text)
    (task,) = load_lm_eval_tasks(["pc_evens_gen"], include_path=[lm_eval_dir])
    assert task.generative and {item.targets for item in task.items} == {("yes",), ("no",)}
    (lm_eval_dir / "gen.yaml").write_text(text.replace("output_type: generate_until", "output_type: loglikelihood"))
    with pytest.raises(pc.InputError, match="has output_type .loglikelihood.; promptcheck scores multiple_choice and"):
        load_lm_eval_tasks(["pc_evens_gen"], include_path=[lm_eval_dir])


def lm_eval_task_dir(tmp_path, data: str, *changes: tuple[str, str]):
    """A folder holding evens.yaml (LM_EVAL_TASK with ``data`` as its data file), each change applied."""
    pytest.importorskip("lm_eval", reason="optional extra: pip install 'promptcheck[lm-eval]'")
    folder = tmp_path / "lm_tasks"
    folder.mkdir(exist_ok=True)
    text = LM_EVAL_TASK.format(data=data, output_type="multiple_choice")
    for old, new in changes:
        assert old in text, old
        text = text.replace(old, new)
    (folder / "evens.yaml").write_text(text)
    return folder


def lm_eval_error(folder) -> str:
    """The one line ``promptcheck run --lm-eval-task pc_evens`` prints for the task in ``folder`` (exit 2)."""
    res = CliRunner().invoke(app, ["run", "--lm-eval-task", "pc_evens", "--lm-eval-include", str(folder)])
    assert res.exit_code == 2, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def write_evens(path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [{"question": f"Is {i} an even number?", "choices": ["yes", "no"], "answer": i % 2} for i in range(10)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("{{choices}}", "{{options}}"),
            "evens.yaml:11: doc_to_choice: lm-eval task 'pc_evens': '{{options}}' cannot be rendered for document 0 "
            "('options' is undefined); its fields: question, choices, answer",
        ),
        (
            ("{{choices}}", "{{question}}"),
            "evens.yaml:11: doc_to_choice: lm-eval task 'pc_evens': '{{question}}' renders 'Is 0 an even number?' "
            "for document 0, not a list of choices (lm-eval reads the rendered text as a Python list)",
        ),
        (
            ("{{choices}}", "{{choices[0]}}"),
            "evens.yaml:11: doc_to_choice: lm-eval task 'pc_evens': '{{choices[0]}}' renders 'yes' for document 0, "
            "not a list of choices",
        ),
        (
            ("{{question}}", "{{query}}"),
            "evens.yaml:10: doc_to_text: lm-eval task 'pc_evens': 'Question: {{query}}\\nAnswer:' cannot be rendered "
            "for document 0 ('query' is undefined); its fields: question, choices, answer",
        ),
        (
            ("doc_to_target: answer", "doc_to_target: '{{label}}'"),
            "evens.yaml:12: doc_to_target: lm-eval task 'pc_evens': '{{label}}' cannot be rendered for document 0 "
            "('label' is undefined)",
        ),
        (
            ("test_split: test", "test_split: tst"),
            "evens.yaml:7: test_split: lm-eval task 'pc_evens': the dataset has no split 'tst' (splits: test)",
        ),
        (
            ("doc_to_target: answer", "doc_to_target: '{{[0][answer]}}'"),
            "evens.yaml:12: doc_to_target: lm-eval task 'pc_evens': '{{[0][answer]}}' cannot be rendered for "
            "document 1 (",
        ),
        (
            ("{{choices}}", "{{answer}}"),
            "evens.yaml:11: doc_to_choice: lm-eval task 'pc_evens': '{{answer}}' gives 0 for document 0; lm-eval "
            "needs a list of strings",
        ),
        (
            ("test_split: test", "test_split: test\ndoc_to_txt: x"),
            "evens.yaml:8: doc_to_txt: lm-eval task 'pc_evens': unknown key (lm-eval's TaskConfig has no field "
            "'doc_to_txt')",
        ),
        (
            ("doc_to_target: answer", "doc_to_target: 5"),
            "evens.yaml:12: doc_to_target: lm-eval task 'pc_evens': gives 5 for document 0, not an index of its 2 "
            "choices",
        ),
        (
            ('doc_to_choice: "{{choices}}"', 'doc_to_choice: ["yes"]'),
            "evens.yaml:11: doc_to_choice: lm-eval task 'pc_evens': document 0: needs at least 2 choices, got 1",
        ),
    ],
    ids=[
        "choice-field-undefined",
        "choice-renders-a-sentence",
        "choice-renders-a-word",
        "text-field-undefined",
        "target-field-undefined",
        "split-missing",
        "target-fails-on-a-later-document",
        "choice-renders-a-number",
        "unknown-key",
        "target-out-of-range",
        "one-choice",
    ],
)
def test_lm_eval_config_errors_name_the_yaml_line_and_field(tmp_path, change, message):
    write_evens(tmp_path / "evens.jsonl")
    folder = lm_eval_task_dir(tmp_path, str(tmp_path / "evens.jsonl"), change)
    res = CliRunner().invoke(app, ["run", "--lm-eval-task", "pc_evens", "--lm-eval-include", str(folder)])
    assert res.exit_code == 2, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and f"{folder / message}" in lines[0], lines
    assert "offline" not in lines[0]  # the data is local: no download was attempted


def test_lm_eval_relative_data_files_are_read_from_the_working_directory(tmp_path, monkeypatch):
    write_evens(tmp_path / "data" / "evens.jsonl")
    folder = lm_eval_task_dir(tmp_path, "data/evens.jsonl")
    monkeypatch.chdir(tmp_path)  # as lm-eval (datasets.load_dataset) resolves them
    (task,) = load_lm_eval_tasks(["pc_evens"], include_path=[folder])
    assert len(task.items) == 10
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    lines = [lm_eval_error(folder)]
    assert (
        f"{folder / 'evens.yaml'}:5: dataset_kwargs.data_files: lm-eval task 'pc_evens': no file 'data/evens.jsonl' "
        f"(tried {elsewhere / 'data' / 'evens.jsonl'}); relative paths are read from the working directory, as "
        "lm-eval reads them" in lines[0]
    ), lines
    assert "offline" not in lines[0]


def test_lm_eval_data_file_beside_the_yaml_is_pointed_to(tmp_path, monkeypatch):
    folder = lm_eval_task_dir(tmp_path, "evens.jsonl")
    write_evens(folder / "evens.jsonl")
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(app, ["run", "--lm-eval-task", "pc_evens", "--lm-eval-include", str(folder)])
    assert res.exit_code == 2, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and f"(the YAML's folder has {folder / 'evens.jsonl'}: give that path)" in lines[0], lines


def test_lm_eval_hub_dataset_offline_gets_the_offline_hint(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    folder = lm_eval_task_dir(
        tmp_path,
        "unused.jsonl",
        (
            "dataset_path: json\ndataset_kwargs:\n  data_files:\n    test: unused.jsonl\n",
            "dataset_path: pc-no-such/ds\n",
        ),
    )
    lines = [lm_eval_error(folder)]
    assert (
        f"{folder / 'evens.yaml'}:3: dataset_path: lm-eval task 'pc_evens': dataset 'pc-no-such/ds' cannot be loaded"
        in (lines[0])
    )
    assert lines[0].endswith("offline, a dataset not in the cache cannot load: run once online or use local data_files")


def test_lm_eval_unreadable_local_data_is_one_line_without_the_offline_hint(tmp_path):
    (tmp_path / "evens.jsonl").write_text('{"question": "Is 0 even?", \n')
    folder = lm_eval_task_dir(tmp_path, str(tmp_path / "evens.jsonl"))
    lines = [lm_eval_error(folder)]
    assert (
        f"{folder / 'evens.yaml'}:5: dataset_kwargs.data_files: lm-eval task 'pc_evens': the dataset cannot be "
        "loaded (DatasetGenerationError: " in lines[0]
    ), lines
    assert "JSON parse error" in lines[0] and "offline" not in lines[0]


def test_an_lm_eval_task_is_compared_with_generated_paraphrases_of_its_description(lm_eval_dir):
    """``--lm-eval-task NAME`` alone scored the reference only and its table judged nothing."""
    from promptcheck.options import RunOptions
    from promptcheck.pipeline import plan_run

    options = RunOptions(lm_eval_task="pc_evens", lm_eval_include=[str(lm_eval_dir)])
    plan = plan_run([], options)
    chosen = plan.instruction_sets[0]
    assert chosen[0].text == "Answer the question about numbers." and len(chosen) == 11
    assert {p.kind for p in chosen[1:]} == {"generated"} and plan.added_sources() == {"pc_evens": "generated"}
    off = plan_run([], dataclasses.replace(options, default_instructions=False))
    assert len(off.instruction_sets[0]) == 1


def test_a_local_dataset_path_that_is_missing_or_a_broken_yaml_is_one_line_at_its_place(tmp_path, monkeypatch):
    """A new user's trial: a missing local dataset_path got the hub's offline hint, and a YAML syntax
    error in the user's own task file was reported as "lm-eval has no task" with no file or line."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # offline, as here: the hint must still not appear for a local path
    folder = lm_eval_task_dir(
        tmp_path,
        "unused.jsonl",
        ("dataset_path: json\ndataset_kwargs:\n  data_files:\n    test: unused.jsonl\n", "dataset_path: ./mydata\n"),
    )
    res = CliRunner().invoke(app, ["run", "--lm-eval-task", "pc_evens", "--lm-eval-include", str(folder)])
    assert res.exit_code == 2, res.output
    (line,) = res.stderr.strip().splitlines()
    assert f"{folder / 'evens.yaml'}:3: dataset_path: lm-eval task 'pc_evens': no folder './mydata'" in line
    assert "offline" not in line
    (tmp_path / "b").mkdir()
    broken = lm_eval_task_dir(tmp_path / "b", "unused.jsonl", ("test_split: test\n", "test_split: [test\n"))
    res = CliRunner().invoke(app, ["run", "--lm-eval-task", "pc_evens", "--lm-eval-include", str(broken)])
    assert res.exit_code == 2, res.output
    (line,) = res.stderr.strip().splitlines()
    assert line.startswith(f"promptcheck: error: {broken / 'evens.yaml'}:") and "not valid YAML" in line, line


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("output_type: {output_type}", "output_type: multiple_choise"),
            ":8: output_type: lm-eval task 'pc_evens': unknown output_type 'multiple_choise' (did you mean 'multiple_choice'?)",
        ),
        (
            ("description:", "target_delimiter:\ndescription:"),
            ":9: target_delimiter: lm-eval task 'pc_evens': target_delimiter must be text",
        ),
    ],
    ids=["output-type-typo", "target-delimiter-empty"],
)
def test_fields_lm_eval_fails_on_from_its_insides_are_named_at_their_line(tmp_path, change, expected):
    """A typo'd output_type said "cannot be loaded (ValueError: Got invalid output_type ...)", an empty
    target_delimiter "(AttributeError: 'NoneType' object has no attribute 'rstrip')", no line, no field."""
    pytest.importorskip("lm_eval", reason="optional extra: pip install 'promptcheck[lm-eval]'")
    data = tmp_path / "evens.jsonl"
    write_evens(data)
    folder = tmp_path / "lm_tasks"
    folder.mkdir()
    text = LM_EVAL_TASK.replace(*change).format(data=data, output_type="multiple_choice")
    (folder / "evens.yaml").write_text(text)
    res = CliRunner().invoke(app, ["run", "--lm-eval-task", "pc_evens", "--lm-eval-include", str(folder)])
    assert res.exit_code == 2, res.output
    (line,) = res.stderr.strip().splitlines()
    assert f"{folder / 'evens.yaml'}{expected}" in line, line
