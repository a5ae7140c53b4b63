"""A prompt budget instead of a size (#24, item 4): ``run --budget``, ``--promptcheck-budget`` (ini,
marker), ``assert_robust(..., budget=...)``: rounds over a seeded item order, alpha spent per round,
stopping when decided, when the budget is spent, or when the items run out, and saying which.
docs/statistics.md, "A budget instead of a size".
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gate_options import assert_refused_in_one_line, run_with_session_option
from schema_check import assert_documented
from tiny_models import RuleModel
from typer.testing import CliRunner

import promptcheck as pc
from promptcheck.cli.main import app
from promptcheck.errors import InputError
from promptcheck.options import RunOptions, VerdictOptions
from promptcheck.pipeline import plan_run, run_suites
from promptcheck.stats.budget import plan_budget
from promptcheck.stats.verdicts import look_plan
from promptcheck.tasks import MCItem, Task

runner = CliRunner()


def _task(n: int = 400, m: int = 12, path: Path | None = None) -> Task:
    items = tuple(
        MCItem(id=f"i{i}", question=f"Is {i} {'even' if i % 3 else 'odd'}?", choices=("yes", "no"), answer=i % 2)
        for i in range(n)
    )
    return Task(
        name="parity",
        items=items,
        reference_instruction="Answer the question.",
        unobserved=tuple(f"Reply to the question, version {k}." for k in range(m)),
        observed=("Respond, please.",),
    )


def _right(context: str) -> bool:
    """Always right (the answer is choice 0 on even item numbers): a model with no drop at all."""
    number = int(context.split("Is ", 1)[1].split(" ", 1)[0])
    return number % 2 == 0


def _broken(context: str) -> bool:
    """Right under the reference, wrong on half the items under every other instruction: a 50-point drop."""
    number = int(context.split("Is ", 1)[1].split(" ", 1)[0])
    right = number % 2 == 0
    return right if "Answer the question." in context or number % 4 < 2 else not right


def _noisy(context: str) -> bool:
    """Wrong on a tenth of the items under every instruction, and under each paraphrase on about one
    in twenty more, by the prompt's length: a true drop near the 5-point threshold, undecided."""
    number = int(context.split("Is ", 1)[1].split(" ", 1)[0])
    wrong = number % 10 == 0 or ("Answer the question." not in context and (number + len(context)) % 20 == 0)
    return (number % 2 == 0) != wrong


# -- what a budget buys --------------------------------------------------------------------------
def test_a_budget_buys_as_many_items_as_it_can_at_two_per_item_else_all_items_at_more():
    p = plan_budget(1200, items=500, compared=12)
    assert (p.items, p.instructions_per_item, p.prompts) == (400, 2, 1200)
    assert p.rounds == (100, 200, 400)  # the looks 0.25, 0.5, 1 of the items bought
    q = plan_budget(600, items=100, compared=12)  # the items run out first: all of them, 5 per item
    assert (q.items, q.instructions_per_item, q.prompts) == (100, 5, 600)
    full = plan_budget(5000, items=100, compared=12)  # enough for every cell: the complete design
    assert (full.items, full.instructions_per_item, full.prompts) == (100, None, 1300)
    given = plan_budget(1000, items=500, compared=12, per_item=4)  # a design given is kept
    assert (given.items, given.instructions_per_item) == (200, 4)
    assert [lk.items for lk in p.looks] == [lk.items for lk in look_plan(400, (0.25, 0.5, 1.0), 0.05)]


@pytest.mark.parametrize(
    ("budget", "message"),
    [
        (
            60,
            "a budget of 60 prompts is smaller than one round: 30 items x (1 + 2 of 12) instructions = 90 prompts; "
            "1 instruction per item would need 60 (instructions_per_item 1)",
        ),
        (50, "smaller than one round: 30 items x (1 + 2 of 12) instructions = 90 prompts"),
        (0, "must be a whole number of prompts (2 or more), got 0"),
        (2.5, "must be a whole number of prompts (2 or more), got 2.5"),
        (True, "must be a whole number of prompts (2 or more), got True"),
    ],
)
def test_a_budget_smaller_than_one_round_or_not_a_count_is_refused_in_one_line(budget, message):
    with pytest.raises(InputError) as exc:
        plan_budget(budget, items=400, compared=12)
    assert exc.value.field == "budget" and message in str(exc.value) and "\n" not in str(exc.value)


# -- assert_robust ------------------------------------------------------------------------------
def test_a_decided_verdict_stops_scoring_before_the_budget_is_spent():
    verdict = pc.assert_robust(RuleModel("right", _right), _task(), budget=1200, max_accuracy_drop=0.05)
    b = verdict.budget
    assert verdict.verdict == "pass" and b is not None
    assert b.stopped == "decided" and b.rounds_used < 3 and b.plan.rounds == (100, 200, 400)
    # O'Brien-Fleming spends little alpha at the first round: a model with no drop passes at the second.
    assert verdict.prompts_scored == b.prompts == 200 * 3 < 1200  # 200 items x (1 + 2)
    assert verdict.items == 200 and verdict.looks_used == 2 and verdict.looks_planned == 3
    doc = verdict.to_json()
    assert doc["budget"]["stopped"] == "decided" and doc["budget"]["prompts"] == 600
    assert doc["design"]["instructions_per_item"] == 2
    assert "budget 1,200 prompts: decided after round 2 of 3 (600 prompts, 200 of 400 items" in verdict.message()


def test_a_large_drop_fails_at_the_first_round():
    with pytest.raises(pc.RobustnessError) as exc:
        pc.assert_robust(RuleModel("broken", _broken), _task(), budget=1200)
    verdict = exc.value.verdict
    assert verdict.verdict == "fail" and verdict.budget.stopped == "decided"
    assert verdict.prompts_scored == 300 and verdict.drop > 0.3


def test_an_undecided_verdict_says_whether_the_budget_or_the_items_ran_out():
    spent = pc.assert_robust(RuleModel("noisy", _noisy), _task(), budget=400, on_inconclusive="pass")
    assert spent.verdict == "inconclusive" and spent.budget.stopped == "budget spent"
    assert spent.prompts_scored == spent.budget.plan.prompts <= 400 and spent.items == 133
    out = pc.assert_robust(RuleModel("noisy", _noisy), _task(200), budget=100_000, on_inconclusive="pass")
    assert out.verdict == "inconclusive" and out.budget.stopped == "items exhausted"
    assert out.items == 200 and out.prompts_scored == 200 * 13 and out.design is None  # every cell bought
    assert "items exhausted, undecided (every item given was scored)" in out.message()


def test_the_same_seed_gives_the_same_budgeted_verdict_and_another_seed_other_items():
    a = pc.assert_robust(RuleModel("noisy", _noisy), _task(), budget=400, on_inconclusive="pass", seed=3)
    b = pc.assert_robust(RuleModel("noisy", _noisy), _task(), budget=400, on_inconclusive="pass", seed=3)
    c = pc.assert_robust(RuleModel("noisy", _noisy), _task(), budget=400, on_inconclusive="pass", seed=4)
    assert a.to_json() == b.to_json()
    assert a.evidence["item_ids"] != c.evidence["item_ids"]


def test_a_budget_is_judged_as_the_sequential_gate_with_the_same_design_and_items():
    """The budget's rounds are the sequential looks: the same verdict as sequential=True on the items it bought."""
    task = _task()
    budgeted = pc.assert_robust(RuleModel("noisy", _noisy), task, budget=1200, on_inconclusive="pass", seed=2)
    assert budgeted.budget.plan.items == 400 and budgeted.budget.plan.instructions_per_item == 2
    sequential = pc.assert_robust(
        RuleModel("noisy", _noisy), task, sequential=True, instructions_per_item=2, on_inconclusive="pass", seed=2
    )  # the task has 400 items: the budget bought all of them
    assert budgeted.judgment == sequential.judgment


def test_a_result_cannot_be_given_a_budget():
    result = pc.evaluate(RuleModel("right", _right), _task(40, 3))
    with pytest.raises(InputError) as exc:
        pc.assert_robust(result, budget=100)
    assert exc.value.field == "budget"


# -- run ------------------------------------------------------------------------------------------
SUITE = """name: parity
items: parity.jsonl
reference_instruction: "Answer the question."
instructions:
  unobserved:
{lines}
"""


def _suite(tmp_path: Path, n: int = 300, m: int = 8) -> Path:
    rows = [
        {"id": f"i{i}", "question": f"Is {i} {'even' if i % 3 else 'odd'}?", "choices": ["yes", "no"], "answer": i % 2}
        for i in range(n)
    ]
    (tmp_path / "parity.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    lines = "\n".join(f'    - "Reply to the question, version {k}."' for k in range(m))
    path = tmp_path / "parity.yaml"
    path.write_text(SUITE.format(lines=lines))
    return path


def test_run_with_a_budget_scores_in_rounds_and_records_why_it_stopped(tmp_path):
    suite = _suite(tmp_path)
    out = tmp_path / "r.json"
    opts = RunOptions(json=str(out), budget=600)
    plan = plan_run([suite], opts)
    assert plan.prompts == 200 * 3  # what the budget buys: 200 items x (1 + 2)
    run = run_suites(plan, RuleModel("right", _right), opts)
    doc = json.loads(out.read_text())
    assert_documented(doc)
    (task,) = doc["tasks"]
    assert task["budget"] == {
        "budget": 600,
        "prompts": 300,
        "stopped": "decided",
        "rounds_used": 2,
        "rounds_planned": 3,
        "round_items": [50, 100, 200],
        "items": 100,
        "items_planned": 200,
        "items_available": 300,
        "instructions_per_item": 2,
        "compared_instructions": 8,
    }
    assert task["prompts_scored"] == 300 and task["n_items"] == 100
    assert task["robustness"]["verdict"] == "pass" and task["robustness"]["looks_used"] == 2
    assert doc["settings"]["budget"] == 600
    # The table's set row is judged as the budget's verdict is (the same looks), so the two agree.
    (row,) = [s for s in task["sets"] if s["kind"] == "unobserved"]
    same = ("verdict", "interval", "looks_used", "looks_planned", "items_planned", "minimum_detectable_drop")
    assert {k: row[k] for k in same} == {k: task["robustness"][k] for k in same}
    assert run.statistics[0].budget.stopped == "decided"
    html = tmp_path / "r.html"
    assert runner.invoke(app, ["report", str(out), "-o", str(html)]).exit_code == 0
    assert "budget 600 prompts: decided after round 2 of 3 (300 prompts, 100 of 300 items" in html.read_text()


def test_run_budget_on_the_command_line_prints_what_it_bought_and_refuses_too_small_a_budget(tmp_path, monkeypatch):
    suite = _suite(tmp_path)
    import promptcheck.pipeline as pipeline

    monkeypatch.setattr(pipeline, "open_model", lambda *a, **k: RuleModel("broken", _broken))
    res = runner.invoke(app, ["run", str(suite), "--budget", "600"])
    assert res.exit_code == 0, res.output
    said = " ".join(res.output.split())
    assert "budget 600 prompts: decided after round 1 of 3 (150 prompts, 50 of 300 items" in said
    bad = runner.invoke(app, ["run", str(suite), "--budget", "50"])
    assert bad.exit_code == 2
    (line,) = [ln for ln in bad.output.splitlines() if ln.strip()]
    assert "--budget" in line and "smaller than one round" in line and "parity" in line


def test_a_budget_that_does_not_buy_one_round_is_refused_before_the_model_loads(tmp_path):
    with pytest.raises(InputError) as exc:
        plan_run([_suite(tmp_path)], RunOptions(budget=80), VerdictOptions())
    assert exc.value.field == "--budget" and "task 'parity'" in str(exc.value)


# -- the plugin -----------------------------------------------------------------------------------
_PLUGIN_TEST = """
import pytest
import promptcheck as pc
from promptcheck.models.base import ChoiceScores, ModelIdentity

class Right:
    identity = ModelIdentity(id="right")
    def chat_formatter(self):
        return None
    def score(self, prompts, *, progress=None):
        out = []
        for p in prompts:
            n = int(p.context.split("Q ", 1)[1].split()[0])
            out.append(ChoiceScores((-0.1, -2.0) if n % 2 == 0 else (-2.0, -0.1), (1, 1), (1, 1)))
        return out

def _task():
    items = tuple(pc.tasks.MCItem(id=f"i{i}", question=f"Q {i} ?", choices=("a", "b"), answer=i % 2) for i in range(400))
    return pc.tasks.Task(name="t", items=items, reference_instruction="Pick.",
                         unobserved=tuple(f"Choose {k}." for k in range(12)))

def test_session_default():
    v = pc.assert_robust(Right(), _task())
    assert (v.budget is None) == (EXPECTED is None)
    if EXPECTED is not None:
        assert v.budget.plan.budget == EXPECTED and v.budget.stopped == "decided", v.message()

@pytest.mark.promptcheck(budget=300)
def test_marker_wins():
    v = pc.assert_robust(Right(), _task())
    assert v.budget.plan.budget == 300 and v.prompts_scored == 300

def test_argument_wins():
    v = pc.assert_robust(Right(), _task(), budget=900)
    assert v.budget.plan.budget == 900 and v.prompts_scored == 450  # 150 of its 300 items x (1 + 2)
"""


@pytest.mark.parametrize(("how", "expected"), [("option", 1200), ("ini", 600), ("none", None)])
def test_the_plugin_option_ini_and_marker_set_the_budget(pytester, how, expected):
    source = f"EXPECTED = {expected}\n" + _PLUGIN_TEST
    run_with_session_option(
        pytester, source, how=how, option="--promptcheck-budget=1200", ini="promptcheck_budget = 600"
    )


@pytest.mark.parametrize("value", ["1", "2.5", "x"])
def test_the_plugin_refuses_a_bad_budget_in_one_line(pytester, value):
    assert_refused_in_one_line(pytester, "--promptcheck-budget", value)


def test_a_budget_refused_inside_a_test_is_one_line_not_a_traceback(pytester):
    """Whether a budget buys a round needs the task, so it is found while the test runs: the test
    fails with the one line, not a traceback into promptcheck."""
    pytester.makepyfile(
        "EXPECTED = None\n"
        + _PLUGIN_TEST.split("def test_session_default")[0]
        + "def test_small():\n    pc.assert_robust(Right(), _task(), budget=50)\n"
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*promptcheck: error: budget: a budget of 50 prompts is smaller than one round*"])
    assert "stats/budget.py" not in result.stdout.str() and "Traceback" not in result.stdout.str()
