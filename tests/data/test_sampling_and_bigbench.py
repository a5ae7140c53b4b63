"""``--limit`` samples and BIG-bench task folders as they are (hand-written task.json files)."""

from __future__ import annotations

import json
import textwrap

import pytest
from conftest import EXAMPLES, assert_fix_ran, fix_cli
from typer.testing import CliRunner

import promptcheck as pc
from promptcheck.cli.main import app
from promptcheck.errors import InputError
from promptcheck.tasks.suite import load_tasks


def rows(n, start=0):
    return [{"question": f"question {i}", "choices": ["yes", "no"], "answer": i % 2} for i in range(start, start + n)]


def jsonl(path, items):
    path.write_text("".join(json.dumps(r) + "\n" for r in items))
    return path


def ids(task):
    return [i.id for i in task.items]


def test_limit_is_seeded_stable_and_nested(tmp_path):
    path = jsonl(tmp_path / "i.jsonl", rows(300))
    s200 = pc.load_task(path, limit=200)
    s100 = pc.load_task(path, limit=100)
    assert len(s200.items) == 200 and ids(s200)[:100] == ids(s100)  # nested
    assert ids(pc.load_task(path, limit=100)) == ids(s100)  # same in every run
    assert ids(pc.load_task(path, limit=100, observed=["Other."])) == ids(s100)  # any instruction set
    assert ids(pc.load_task(path, limit=100, sample_seed=1)) != ids(s100)  # the seed matters
    assert s100.limit == 100 and s100.population == 300
    assert ids(s100) != ids(pc.load_task(path))[:100], "a sample, not the file's head"
    # other items added to the file: the sample keeps every old item that still ranks in it
    grown = pc.load_task(jsonl(tmp_path / "g.jsonl", rows(300) + rows(300, start=300)), limit=100)
    assert set(ids(grown)) & set(ids(s100)) and set(ids(grown)) - set(ids(pc.load_task(path))) <= set(ids(grown))
    assert [i for i in ids(grown) if i in set(ids(s100))] == [i for i in ids(s100) if i in set(ids(grown))]


def test_limit_above_the_item_count_keeps_all_in_sample_order(tmp_path):
    task = pc.load_task(jsonl(tmp_path / "i.jsonl", rows(7)), limit=50)
    assert sorted(ids(task)) == sorted(ids(pc.load_task(tmp_path / "i.jsonl"))) and task.population == 7


def test_duplicates_outside_the_sample_are_still_refused(tmp_path):
    jsonl(tmp_path / "i.jsonl", rows(20) + rows(1))
    with pytest.raises(InputError, match=r"i\.jsonl:21: id: the same question and choices as the item at"):
        pc.load_task(tmp_path / "i.jsonl", limit=2)


def test_suite_limit_key_and_override(tmp_path):
    jsonl(tmp_path / "i.jsonl", rows(40))
    (tmp_path / "s.yaml").write_text("name: t\nitems: i.jsonl\nreference_instruction: Answer.\nlimit: 10\n")
    assert len(pc.load_task(tmp_path / "s.yaml").items) == 10
    assert len(pc.load_task(tmp_path / "s.yaml", limit=5).items) == 5
    (tmp_path / "b.yaml").write_text("name: t\nitems: i.jsonl\nreference_instruction: Answer.\nlimit: -3\n")
    with pytest.raises(InputError, match=r"b\.yaml:4: limit: must be a positive whole number"):
        pc.load_task(tmp_path / "b.yaml")


def task_json(folder, examples, **meta):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "task.json").write_text(json.dumps({"name": folder.name, **meta, "examples": examples}, indent=1))
    return folder


MC = [{"input": f"q{i}", "target_scores": {"a": int(i % 2 == 0), "b": int(i % 2 == 1), "c": 0}} for i in range(6)]
GEN = [{"input": "say hi", "target": "hi"}]


def test_bigbench_folder_subtasks_pooling_and_free_form_subtasks(tmp_path):
    parent = tmp_path / "bb"
    task_json(parent, None)
    (parent / "task.json").write_text(json.dumps({"name": "bb", "description": "parent"}))
    task_json(parent / "one", MC + GEN, task_prefix="Pick one.\n", append_choices_to_input=False)
    task_json(parent / "two", MC[:4])
    task_json(parent / "gen", GEN * 1, stop_string="\n", output_regex="[a-z]+")
    with pytest.warns(RuntimeWarning, match="skipped 1 of 7 examples"):  # one's free-form example, not gen's
        tasks = load_tasks([parent])
    assert [t.name for t in tasks] == ["bb/gen", "bb/one", "bb/two"]
    gen, one, two = tasks
    assert gen.generative and gen.items[0].targets == ("hi",) and gen.generation.stop == ("\n",)
    assert gen.match_spec().pattern == "([a-z]+)"  # BIG-bench's output_regex reads the answer
    assert one.reference_instruction == "Pick one." and one.show_choices is False  # task_prefix, append_choices
    assert two.show_choices is True and len(two.items) == 4  # BIG-bench's default
    with pytest.raises(InputError, match="is a BIG-bench task with 3 subtasks"):
        pc.load_task(parent)
    with pytest.raises(InputError, match=r"pools free-form subtasks \(gen\) with multiple-choice ones \(one\)"):
        pc.load_task(parent, pool_subtasks=True)
    (parent / "gen" / "task.json").unlink()
    (parent / "gen").rmdir()
    with pytest.warns(RuntimeWarning):
        pooled = pc.load_task(parent, pool_subtasks=True)
    assert (
        pooled.name == "bb" and len(pooled.items) == 10 and {i.id.split("/")[0] for i in pooled.items} == {"one", "two"}
    )
    # `promptcheck run FOLDER --pool-subtasks` (load_tasks) pools too: it scored only the first
    # subtask's 6 items under the parent's name.
    with pytest.warns(RuntimeWarning):
        (run_pooled,) = load_tasks([parent], pool_subtasks=True)
    assert run_pooled.name == "bb" and len(run_pooled.items) == 10 and run_pooled.items == pooled.items
    with pytest.warns(RuntimeWarning, match=r"skipped 1 of 7 examples without target_scores"):
        assert len(pc.load_task(parent / "one" / "task.json").items) == 6


def test_bigbench_tie_at_the_top_is_a_set_and_contradicting_repeats_are_dropped(tmp_path):
    ex = [
        {"input": "caste?", "target_scores": {"Merchants": 1, "Artisans": 1, "Kings": 0}},
        {"input": "same", "target_scores": {"x": 1, "y": 0}},
        {"input": "same", "target_scores": {"x": 0, "y": 1}},
        {"input": "twice", "target_scores": {"x": 1, "y": 0}},
        {"input": "twice", "target_scores": {"x": 1, "y": 0}},
        {"input": "", "target_scores": {"true statement": 1, "false statement": 0}},
    ]
    with pytest.warns(RuntimeWarning) as record:
        task = pc.load_task(task_json(tmp_path / "t", ex))
    assert [i.answers for i in task.items] == [(0, 1), (0,), (0,)]
    messages = " ".join(str(w.message) for w in record)
    assert "skipped 2 examples whose input and choices repeat with a different correct answer" in messages
    assert "skipped 1 example(s) repeating an earlier one" in messages


def test_cli_runs_a_bigbench_folder_with_limit_and_refuses_generative_in_one_line(tmp_path, tiny_causal_dir):
    folder = task_json(
        tmp_path / "mc", MC * 1 + [{"input": f"x{i}", "target_scores": {"a": 1, "b": 0}} for i in range(20)]
    )
    out = tmp_path / "r.json"
    res = CliRunner().invoke(
        app, ["run", str(folder), "--limit", "5", "--model", str(tiny_causal_dir), "--json", str(out), "--no-cache"]
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(out.read_text())
    (t,) = doc["tasks"]
    assert t["n_items"] == 5 and t["sample"] == {"limit": 5, "seed": 0, "population": 26}
    assert doc["settings"]["limit"] == 5 and "a sample of 26" in res.output
    first = [it["id"] for it in t["items"]]
    res = CliRunner().invoke(
        app,
        [
            "run",
            str(folder),
            "--limit",
            "5",
            "--model",
            str(tiny_causal_dir),
            "--json",
            str(out),
            "--no-cache",
            "--paraphrases",
            "2",
        ],
    )
    assert [it["id"] for it in json.loads(out.read_text())["tasks"][0]["items"]] == first
    gen = task_json(tmp_path / "gen", [{"input": f"say {w}", "target": [w, w.upper()]} for w in ("hi", "yo", "ok")])
    task = pc.load_task(gen, limit=2)
    assert task.generative and len(task.items) == 2 and all(len(i.targets) == 2 for i in task.items)


def test_plugin_suite_fixture_takes_a_limit(pytester, tiny_causal_dir):
    jsonl(pytester.path / "i.jsonl", rows(30))
    pytester.makepyfile(
        textwrap.dedent("""
        import promptcheck as pc

        def test_sampled(promptcheck_suite):
            task = promptcheck_suite("i.jsonl", limit=7)
            assert len(task.items) == 7 and task.limit == 7 and task.population == 30
            again = promptcheck_suite("i.jsonl", limit=3)
            assert [i.id for i in again.items] == [i.id for i in task.items][:3]
    """)
    )
    pytester.runpytest(f"--promptcheck-model={tiny_causal_dir}").assert_outcomes(passed=1)


def test_fix_takes_a_limit(tmp_path, tiny_causal_dir, examples_dir):
    out = tmp_path / "adapter"
    res = fix_cli(
        [str(examples_dir / "yesno.yaml")],
        str(tiny_causal_dir),
        str(out),
        "--steps 2 --virtual-tokens 2 --limit 8 --harm-tolerance 1.0 --search 1",
    )
    assert_fix_ran(res)
    (t,) = json.loads((out / "fix_report.json").read_text())["tasks"]
    assert t["train_items"] + t["val_items"] + t["heldout_items"] == 8 and t["sample"]["limit"] == 8


def _failures_file(path, tasks):
    """failures.json as the gate writes it for ``tasks`` (each failed)."""
    from promptcheck.failures import failures_doc, task_load_options

    records = [
        {
            "verdict": "fail",
            "task": t.name,
            "task_source": t.source,
            "task_load": task_load_options(t),
            "reference_instruction": t.reference_instruction,
            "failing_instructions": [],
            "test": f"test_gate[{n}]",
            "drop": 0.5,
            "interval": [0.3, 0.7],
            "threshold": 0.05,
            "claim": "phrasings",
            "model": {},
        }
        for n, t in enumerate(tasks)
    ]
    path.write_text(json.dumps(failures_doc(records, seed=0, model_option=None)))
    return path


def test_fix_from_failures_rebuilds_pooled_bigbench_and_sampled_suites(tmp_path):
    from promptcheck.failures import tasks_from_failures

    parent = tmp_path / "bb"
    task_json(parent, None)
    (parent / "task.json").write_text(json.dumps({"name": "bb", "description": "parent"}))
    task_json(parent / "one", MC)
    task_json(parent / "two", MC[:4])
    pooled = pc.load_task(parent, pool_subtasks=True, unobserved=["Choose."], limit=7, sample_seed=2)
    suite = pc.load_task(EXAMPLES / "yesno.yaml", limit=9, sample_seed=4)  # a sample given in code
    path = _failures_file(tmp_path / "failures.json", [pooled, suite])
    assert tasks_from_failures(path)[0] == [pooled, suite]
    # Same stem, other instructions: two tasks, not one with the second's verdicts filed under the first.
    other = pc.load_task(parent, pool_subtasks=True, unobserved=["Pick."], limit=7, sample_seed=2)
    doc = json.loads(_failures_file(tmp_path / "two.json", [pooled, other]).read_text())
    assert [t["load"]["unobserved"] for t in doc["tasks"]] == [["Choose."], ["Pick."]]


@pytest.mark.parametrize(
    ("load", "message"),
    [
        ({"kind": "poem"}, r"failures\.json: tasks\[0\]\.load\.kind: must be one of"),
        ({"limit": "ten"}, r"failures\.json: tasks\[0\]\.load\.limit: has the wrong type \(str\)"),
        ({"color": "red"}, r"failures\.json: tasks\[0\]\.load\.color: unknown option"),
        ({"observed": [1]}, r"failures\.json: tasks\[0\]\.load\.observed: has the wrong type"),
    ],
)
def test_a_bad_load_entry_in_failures_json_is_one_line_naming_it(tmp_path, load, message):
    from promptcheck.failures import tasks_from_failures

    items = tmp_path / "i.jsonl"
    items.write_text("\n".join(json.dumps({"question": f"q{i}", "choices": ["a", "b"], "answer": 0}) for i in range(3)))
    path = tmp_path / "failures.json"
    path.write_text(json.dumps({"tasks": [{"name": "i", "source": str(items), "load": load}]}))
    with pytest.raises(InputError, match=message):
        tasks_from_failures(path)


def test_a_suite_entry_in_failures_json_takes_only_its_sample(tmp_path):
    from promptcheck.failures import tasks_from_failures

    path = tmp_path / "failures.json"
    path.write_text(json.dumps({"tasks": [{"source": str(EXAMPLES / "yesno.yaml"), "load": {"name": "x"}}]}))
    with pytest.raises(InputError, match=r"tasks\[0\]\.load: name: a suite file carries these itself"):
        tasks_from_failures(path)
