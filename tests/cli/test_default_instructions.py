"""A task with no instructions of its own (an items file, a BIG-bench folder, an lm-eval task) is
compared with some by default, so ``promptcheck run`` always measures robustness: before, such a
run scored the reference alone and its table had nothing to judge."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from promptcheck.cli.main import app
from promptcheck.options import RunOptions
from promptcheck.paraphrase.banks import load_bank
from promptcheck.pipeline import plan_run

runner = CliRunner()

CSV = "question,A,B,C,D,answer\n" + "".join(f"What is {k} + 1?,{k},{k + 1},{k + 2},{k + 3},B\n" for k in range(6))


def _bigbench(tmp_path):
    folder = tmp_path / "arith"
    folder.mkdir(exist_ok=True)
    examples = [{"input": f"{k} + 1 =", "target_scores": {str(k + 1): 1, str(k): 0}} for k in range(5)]
    (folder / "task.json").write_text(
        json.dumps({"name": "arith", "task_prefix": "Add the numbers.\n", "examples": examples})
    )
    return folder


def test_a_bare_items_file_is_compared_with_its_kinds_written_bank(tmp_path):
    items = tmp_path / "mmlu.csv"
    items.write_text(CSV)
    plan = plan_run([items], RunOptions())
    chosen = plan.instruction_sets[0]
    bank = load_bank("mcqa")
    assert chosen[0].kind == "reference" and chosen[0].text == bank.reference
    assert [i.text for i in chosen[1:]] == list(bank.unobserved) and {i.kind for i in chosen[1:]} == {"unobserved"}
    assert plan.added_sources() == {"mmlu": "bank:mcqa"}
    assert "the written mcqa bank's 12 unobserved instructions" in plan.added_note("mmlu")
    off = plan_run([items], RunOptions(default_instructions=False))
    assert len(off.instruction_sets[0]) == 1 and off.added_sources() == {}
    # --paraphrases N is the user's own choice: nothing is added beside it.
    gen = plan_run([items], RunOptions(paraphrases=3))
    assert {i.kind for i in gen.instruction_sets[0][1:]} == {"generated"} and gen.added_sources() == {}


def test_a_task_with_its_own_reference_gets_generated_paraphrases_of_it(tmp_path):
    plan = plan_run([_bigbench(tmp_path)], RunOptions(seed=1))
    chosen = plan.instruction_sets[0]
    assert chosen[0].text == "Add the numbers."
    assert len(chosen) == 11 and {i.kind for i in chosen[1:]} == {"generated"}
    assert all(p.reference == "Add the numbers." and p.edits for p in chosen[1:])
    assert plan.added_sources() == {"arith": "generated"}
    again = plan_run([_bigbench(tmp_path)], RunOptions(seed=1))
    assert [p.text for p in again.instruction_sets[0]] == [p.text for p in chosen], "seeded"


def test_a_suite_with_instructions_is_left_as_written(examples_dir):
    plan = plan_run([examples_dir / "sentiment.yaml"], RunOptions())
    assert plan.added_sources() == {} and len(plan.instruction_sets[0]) == 13


def test_run_on_a_bare_csv_judges_robustness_and_says_what_it_compared(tiny_causal_dir, tmp_path):
    items = tmp_path / "mmlu.csv"
    items.write_text(CSV)
    out = tmp_path / "r.json"
    res = runner.invoke(app, ["run", str(items), "--model", str(tiny_causal_dir), "--json", str(out)])
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "unobserved" in text and "compared with the written mcqa bank's 12 unobserved instructions" in text
    doc = json.loads(out.read_text())
    task = doc["tasks"][0]
    assert doc["settings"]["default_instructions"] == {"mmlu": "bank:mcqa"}
    assert task["robustness"]["verdict"] in ("pass", "fail", "inconclusive")
    assert task["prompts_scored"] == 6 * 13
    off = runner.invoke(app, ["run", str(items), "--model", str(tiny_causal_dir), "--no-default-instructions"])
    assert off.exit_code == 0 and "compared with" not in off.output and "unobserved" not in off.output


def test_the_results_file_says_when_default_instructions_were_turned_off(tiny_causal_dir, tmp_path):
    items = tmp_path / "mmlu.csv"
    items.write_text(CSV)
    out = tmp_path / "r.json"
    res = runner.invoke(
        app, ["run", str(items), "--model", str(tiny_causal_dir), "--json", str(out), "--no-default-instructions"]
    )
    assert res.exit_code == 0, res.output
    settings = json.loads(out.read_text())["settings"]
    assert settings["add_default_instructions"] is False and "default_instructions" not in settings


def test_an_lm_eval_include_folder_that_does_not_exist_is_named(tmp_path):
    res = runner.invoke(app, ["run", "--lm-eval-task", "pc_x", "--lm-eval-include", str(tmp_path / "nowhere")])
    assert res.exit_code == 2
    (line,) = res.output.strip().splitlines()
    assert "--lm-eval-include: no such folder" in line and "nowhere" in line, line
