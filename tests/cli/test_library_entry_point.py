"""``run_suites``: the library entry point the CLI renders gives the CLI's results file, option for option."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import promptcheck as pc
from promptcheck.cli.main import app
from promptcheck.errors import InputError


def _comparable(path):
    doc = json.loads(path.read_text())
    doc.pop("created", None)
    for task in doc["tasks"]:
        task.pop("seconds", None)
    return doc


def test_run_suites_writes_what_the_cli_writes(tiny_causal_dir, examples_dir, tmp_path):
    suite = str(examples_dir / "yesno.yaml")
    cli_out, lib_out = tmp_path / "cli.json", tmp_path / "lib.json"
    args = ["run", suite, "--model", str(tiny_causal_dir), "--no-score-cache", "--seed", "2", "--limit", "6"]
    res = CliRunner().invoke(app, [*args, "--json", str(cli_out)])
    assert res.exit_code == 0, res.output
    phases: list[str] = []
    scored: list[int] = []
    result = pc.run_suites(
        [suite],
        pc.ModelOptions(model=str(tiny_causal_dir), score_cache=False),
        pc.RunOptions(json=str(lib_out), seed=2, limit=6),
        on_phase=phases.append,
        on_prompts=scored.append,
    )
    assert _comparable(lib_out) == _comparable(cli_out)
    assert [t.task.name for t in result.tasks] == ["yesno"] and phases == ["scoring yesno"]
    assert sum(scored) == result.tasks[0].prompts_scored > 0


def test_run_suites_checks_inputs_before_any_model_loads(tmp_path):
    with pytest.raises(InputError, match="name suite files"):
        pc.run_suites([], pc.ModelOptions(model=str(tmp_path / "never-loaded")))
    with pytest.raises(InputError, match="dtype: must be one of"):
        pc.ModelOptions(dtype="float8")


@pytest.fixture
def judge_calls(monkeypatch) -> list[int]:
    """One entry per call of judge made through stats.sets (every set and compared group is judged there)."""
    import promptcheck.stats.sets as sets

    calls: list[int] = []
    real = sets.judge

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(sets, "judge", counting)
    return calls


def test_saving_the_results_after_each_task_judges_each_task_once(tmp_path, judge_calls):
    """The results file is saved after every task (an interruption keeps what finished); each save
    judged every finished task again: quadratic in tasks, 2,000 bootstrap draws each time."""
    from tiny_models import RuleModel

    calls = judge_calls
    items = "".join(
        json.dumps({"question": f"Is {k} even?", "choices": ["no", "yes"], "answer": int(k % 2 == 0)}) + "\n"
        for k in range(8)
    )
    (tmp_path / "items.jsonl").write_text(items)
    suites = []
    for n in range(20):
        suite = tmp_path / f"t{n}.yaml"
        suite.write_text(
            f"name: t{n}\nitems: items.jsonl\nreference_instruction: Answer yes or no.\n"
            "instructions:\n  unobserved: [Reply with yes or no., Say yes or no.]\n"
        )
        suites.append(suite)
    out = tmp_path / "r.json"
    model = RuleModel("rule", lambda ctx: "Answer" in ctx)
    pc.run_suites(suites[:1], model, pc.RunOptions(json=str(out)))
    per_task = len(calls)
    calls.clear()
    run = pc.run_suites(suites, model, pc.RunOptions(json=str(out)))
    assert per_task > 0 and len(calls) == 20 * per_task, "each task judged once, whatever the number saved before it"
    doc = json.loads(out.read_text())
    assert [t["name"] for t in doc["tasks"]] == [f"t{n}" for n in range(20)] and len(run.tasks) == 20
    assert all(t["robustness"]["verdict"] for t in doc["tasks"])


def test_the_run_table_renders_the_statistics_the_results_file_stores(
    tiny_causal_dir, examples_dir, tmp_path, judge_calls
):
    """The terminal table judged every set again (cli -> report.terminal -> summarize_sets) beside the
    results file's own judgment. Now both render one TaskStatistics: the CLI judges as often as the
    library call, and the table's bounds are the file's."""
    calls = judge_calls
    out = tmp_path / "r.json"
    suite = str(examples_dir / "yesno.yaml")
    res = CliRunner().invoke(app, ["run", suite, "--model", str(tiny_causal_dir), "--json", str(out)])
    assert res.exit_code == 0, res.output
    by_cli = len(calls)
    calls.clear()
    pc.run_suites([suite], pc.ModelOptions(model=str(tiny_causal_dir)), pc.RunOptions(json=str(tmp_path / "s.json")))
    assert by_cli == len(calls) > 0
    doc = json.loads(out.read_text())
    for s in doc["tasks"][0]["sets"]:
        low, high = s["drop_interval"][:2]
        assert f"[{100 * low:+.1f}, {100 * high:+.1f}]" in res.output or s["decidable"] is False
