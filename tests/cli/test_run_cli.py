"""``promptcheck run`` as a user runs it: tables, JSON results, one-line errors and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from schema_check import assert_documented
from typer.testing import CliRunner

from promptcheck.cli.main import app
from promptcheck.report.jsonio import SCHEMA_VERSION

runner = CliRunner()


def run_cli(*args: str):
    return runner.invoke(app, ["run", *args])


def test_run_prints_a_table_per_task_and_writes_json(tiny_causal_dir, examples_dir, tmp_path):
    out = tmp_path / "r.json"
    res = run_cli(
        str(examples_dir / "sentiment.yaml"),
        str(examples_dir / "yesno.yaml"),
        "--model",
        str(tiny_causal_dir),
        "--json",
        str(out),
        "--seed",
        "3",
    )
    assert res.exit_code == 0, res.output
    assert "sentiment" in res.output and "yesno" in res.output
    assert "unobserved" in res.output and "95% bounds" in res.output
    doc = json.loads(out.read_text())
    assert_documented(doc)
    assert doc["kind"] == "run" and doc["schema_version"] == SCHEMA_VERSION and doc["seed"] == 3
    assert doc["model"]["weights_hash"] and doc["model"]["dtype"] == "float32"
    assert doc["libraries"]["torch"] and doc["promptcheck_version"]
    task = doc["tasks"][0]
    assert task["name"] == "sentiment" and len(task["suite_hash"]) == 64
    kinds = [i["kind"] for i in task["instructions"]]
    assert kinds[0] == "reference" and kinds.count("observed") == 6 and kinds.count("unobserved") == 6
    assert task["reference_accuracy"] == task["instructions"][0]["accuracy"]
    item = task["items"][0]
    assert len(item["predictions"]) == len(task["instructions"]) == len(item["logprobs"])
    # The accuracy in the JSON is recomputable from the per-item predictions.
    for j, ins in enumerate(task["instructions"]):
        correct = sum(it["predictions"][j] == it["answer"] for it in task["items"])
        assert ins["accuracy"] == pytest.approx(correct / task["n_items"])


def test_run_is_deterministic(tiny_seq2seq_dir, examples_dir, tmp_path):
    docs = []
    for name in ("a.json", "b.json"):
        res = run_cli(
            str(examples_dir / "capitals.yaml"),
            "--model",
            str(tiny_seq2seq_dir),
            "--json",
            str(tmp_path / name),
            "--no-cache",
        )  # both runs compute: the cache is tested elsewhere
        assert res.exit_code == 0, res.output
        doc = json.loads((tmp_path / name).read_text())
        doc.pop("created")
        for t in doc["tasks"]:
            t.pop("seconds")
        docs.append(doc)
    assert docs[0] == docs[1]
    assert docs[0]["model"]["is_seq2seq"] is True


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["missing.yaml"], "missing.yaml: file not found"),
        (["{bad}"], "{bad}:4: refrence: unknown key"),
        (["{good}", "--model", "/nonexistent/model"], "/nonexistent/model: model: no such file or folder"),
        (["{good}", "--model", "{folder}"], "model: not a model folder (no config.json)"),
        (["{good}", "--dtype", "int3"], "dtype: must be one of"),
        # A hub id while the hub is unreachable: a clear line, not a traceback.
        (["{good}", "--model", "nobody/no-such-model"], "nobody/no-such-model: model: cannot load model"),
    ],
)
def test_bad_input_is_one_line_on_stderr_with_exit_2(tmp_path, examples_dir, args, expected):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: t\nitems: i.jsonl\nreference_instruction: A\nrefrence: B\n")
    folder = tmp_path / "empty"
    folder.mkdir()
    subs = {"{bad}": str(bad), "{good}": str(examples_dir / "yesno.yaml"), "{folder}": str(folder)}
    argv = [subs.get(a, a) for a in args]
    expected = expected.replace("{bad}", str(bad))
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "promptcheck", "run", *argv],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
        env=env,
    )
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert expected in lines[0] and lines[0].startswith("promptcheck: error: ")
    assert "Traceback" not in proc.stderr + proc.stdout


def test_models_lists_aliases_and_config_extensions(tmp_path, monkeypatch):
    (tmp_path / "promptcheck.toml").write_text('[aliases]\nmine = "./models/mine"\n')
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(app, ["models"])
    assert res.exit_code == 0
    assert "llama-7b" in res.output and "mine" in res.output and "default" in res.output


def test_alias_from_config_resolves_to_a_local_model(tiny_causal_dir, examples_dir, tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text(f'[tool.promptcheck.aliases]\ntiny = "{tiny_causal_dir}"\n')
    monkeypatch.chdir(tmp_path)
    res = run_cli(str(examples_dir / "yesno.yaml"), "--model", "tiny")
    assert res.exit_code == 0, res.output
    assert "yesno" in res.output


def test_suite_in_the_documented_example_format_runs_unchanged(tiny_causal_dir, tmp_path):
    """A suite written by someone else, letters format, answers as letters and texts, no ids."""
    (tmp_path / "capitals.jsonl").write_text(
        '{"question": "What is the capital of France?", "choices": ["Lyon", "Paris", "Nice"], "answer": "B"}\n'
        '{"question": "What is the capital of Italy?", "choices": ["Rome", "Milan", "Turin", "Pisa"], "answer": 0}\n'
        '{"question": "What is the capital of Spain?", "choices": ["Madrid", "Seville"], "answer": "Madrid"}\n'
    )
    (tmp_path / "capitals.yaml").write_text(
        "name: capitals\n"
        "items: capitals.jsonl          # one per line\n"
        'reference_instruction: "Answer the following multiple choice question."\n'
        "instructions:\n"
        '  observed: ["Answer this multiple choice question.", "Pick the right answer."]\n'
        '  unobserved: ["Choose the correct option.", "Which option is correct?"]\n'
        "format: letters\n"
        "kind: mcqa\n"
    )
    out = tmp_path / "r.json"
    res = run_cli(str(tmp_path / "capitals.yaml"), "--model", str(tiny_causal_dir), "--json", str(out))
    assert res.exit_code == 0, res.output
    task = json.loads(out.read_text())["tasks"][0]
    assert task["format"] == "letters" and [i["answer"] for i in task["items"]] == [1, 0, 0]
    assert [len(i["logprobs"][0]) for i in task["items"]] == [3, 4, 2]


def test_paraphrase_command_prints_json_with_edits_and_similarity():
    res = runner.invoke(
        app,
        [
            "paraphrase",
            "Answer the following multiple choice question.",
            "-n",
            "6",
            "--seed",
            "2",
            "--json",
            "--min-similarity",
            "0.7",
        ],
    )
    assert res.exit_code == 0, res.output
    items = json.loads(res.output)
    assert len(items) == 6 and len({i["text"] for i in items}) == 6
    assert all(i["edits"] and i["similarity"] >= 0.7 for i in items)
    again = json.loads(
        runner.invoke(
            app,
            [
                "paraphrase",
                "Answer the following multiple choice question.",
                "-n",
                "6",
                "--seed",
                "2",
                "--json",
                "--min-similarity",
                "0.7",
            ],
        ).output
    )
    assert again == items


def test_paraphrase_command_table_and_bad_family():
    res = runner.invoke(app, ["paraphrase", "Answer the question.", "-n", "3", "--families", "syntactic,framing"])
    assert res.exit_code == 0 and "paraphrases of" in res.output and "edits" in res.output
    bad = runner.invoke(app, ["paraphrase", "Answer.", "--families", "nope"])
    assert bad.exit_code == 2


def test_run_with_generated_paraphrases_records_them_with_edits(tiny_causal_dir, examples_dir, tmp_path):
    out = tmp_path / "r.json"
    res = run_cli(
        str(examples_dir / "yesno.yaml"), "--model", str(tiny_causal_dir), "--paraphrases", "4", "--json", str(out)
    )
    assert res.exit_code == 0, res.output
    assert "generated" in res.output
    task = json.loads(out.read_text())["tasks"][0]
    generated = [i for i in task["instructions"] if i["kind"] == "generated"]
    assert len(generated) == 4 and all(g["edits"] for g in generated)
    assert {s["kind"] for s in task["sets"]} == {"observed", "unobserved", "generated"}
