"""Incomplete designs in every front end (#24, item 2; item 3's plan): ``run --instructions-per-item``,
a suite's ``instructions_per_item:``, the plugin's option, ini and marker, ``assert_robust(...,
instructions_per_item=K)``; the results file's ``design`` block and null cells; what the readers
(plan, compare) do with an incomplete run. docs/statistics.md, "Incomplete designs".
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from gate_options import assert_refused_in_one_line, run_with_session_option
from schema_check import assert_documented
from tiny_models import RuleModel
from typer.testing import CliRunner

import promptcheck as pc
from promptcheck.cli.main import app
from promptcheck.errors import InputError
from promptcheck.models.base import Generation, ModelIdentity
from promptcheck.options import RunOptions
from promptcheck.pipeline import plan_run, run_suites
from promptcheck.report.compare import compare_evidence, evidence_of
from promptcheck.report.jsonio import task_to_json
from promptcheck.report.plan import plan_results
from promptcheck.stats.design import Design, balanced_design
from promptcheck.stats.task import task_statistics
from promptcheck.tasks import GenerationSettings, GenItem, MCItem, Task

runner = CliRunner()
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "suites"
SENTIMENT = EXAMPLES / "sentiment.yaml"


def _rule(context: str) -> bool:
    """Right on some items, wrong on others, differently under different instructions."""
    last = context.strip().splitlines()[-1] if context.strip() else ""
    return ("negative" in last) != (len(context) % 3 == 0)


RULE = RuleModel("rule", _rule)


def _cells(task_doc: dict, j: int) -> list[bool]:
    """Which items instruction ``j`` scored (a non-null prediction)."""
    return [it["predictions"][j] is not None for it in task_doc["items"]]


def _run(tmp_path: Path, name: str, **options) -> dict:
    out = tmp_path / name
    opts = RunOptions(json=str(out), **options)
    run_suites(plan_run([SENTIMENT], opts), RULE, opts)
    return json.loads(out.read_text())


# -- run --------------------------------------------------------------------------------------------
def test_run_with_three_instructions_per_item_scores_n_times_four_prompts_and_gives_a_verdict(
    tiny_causal_dir, tmp_path
):
    out = tmp_path / "r.json"
    res = runner.invoke(
        app,
        ["run", str(SENTIMENT), "--model", str(tiny_causal_dir), "--json", str(out), "--instructions-per-item", "3"],
    )
    assert res.exit_code == 0, res.output
    said = " ".join(res.output.split())
    assert "incomplete design: each item under the reference and 3 of the 6 compared instructions" in said
    assert "observed instructions not scored" in said
    doc = json.loads(out.read_text())
    assert_documented(doc)
    (task,) = doc["tasks"]
    n = task["n_items"]
    assert n == 40 and task["prompts_scored"] == n * (1 + 3)
    assert f"{n * 4} prompts scored" in said
    assert task["design"] == {
        "instructions_per_item": 3,
        "seed": 0,
        "compared_instructions": 6,
        "kinds": ["unobserved"],
    }
    assert task["robustness"]["verdict"] in ("pass", "fail", "inconclusive")
    assert "incomplete design, 3 of 6 instructions per item" in task["robustness"]["method"]
    assert [i["kind"] for i in task["instructions"]] == ["reference"] + ["unobserved"] * 6
    assert doc["settings"]["instructions_per_item"] == 3
    # Balanced: every item under the reference and 3 compared instructions; every instruction 20 items.
    assert all(sum(p is not None for p in it["predictions"][1:]) == 3 for it in task["items"])
    assert all(it["predictions"][0] is not None for it in task["items"])
    assert [i["n_scored"] for i in task["instructions"]] == [40] + [20] * 6
    for j, ins in enumerate(task["instructions"]):  # each accuracy over its own items, from the cells
        mine = [it for it in task["items"] if it["predictions"][j] is not None]
        right = sum(it["predictions"][j] == it["answer"] for it in mine)
        assert ins["n_correct"] == right and ins["accuracy"] == pytest.approx(right / len(mine))
        assert all((it["logprobs"][j] is None) == (it["predictions"][j] is None) for it in task["items"])


def test_the_progress_bar_counts_the_prompts_a_design_scores():
    plan = plan_run([SENTIMENT], RunOptions(instructions_per_item=2))
    assert plan.prompts == 40 * 3
    assert plan_run([SENTIMENT], RunOptions()).prompts == 40 * 13


def test_a_design_is_balanced_per_instruction_and_seeded(tmp_path):
    a = _run(tmp_path, "a.json", instructions_per_item=2, seed=5)["tasks"][0]
    b = _run(tmp_path, "b.json", instructions_per_item=2, seed=5)["tasks"][0]
    c = _run(tmp_path, "c.json", instructions_per_item=2, seed=6)["tasks"][0]
    counts = [sum(_cells(a, j)) for j in range(1, 7)]
    assert max(counts) - min(counts) <= 1 and sum(counts) == 40 * 2
    assert a["design"]["seed"] == 5 and a["items"] == b["items"]
    assert [_cells(a, j) for j in range(7)] != [_cells(c, j) for j in range(7)]
    # The cells are those balanced_design deals, over the items in the order scored.
    mask = balanced_design(40, 6, 2, seed=5)
    assert np.array_equal(np.asarray([_cells(a, j) for j in range(1, 7)]), mask)


def test_a_design_nests_under_limit(tmp_path):
    """A --limit 20 run's design is the first 20 items of the --limit 40 run's: the same cells, scored alike."""
    small = _run(tmp_path, "20.json", instructions_per_item=3, limit=20)["tasks"][0]
    large = _run(tmp_path, "40.json", instructions_per_item=3, limit=40)["tasks"][0]
    assert [it["id"] for it in small["items"]] == [it["id"] for it in large["items"][:20]]
    assert small["items"] == large["items"][:20]
    assert small["prompts_scored"] == 20 * 4 and large["prompts_scored"] == 40 * 4


def test_a_suites_instructions_per_item_key_is_read_and_the_option_wins(tmp_path):
    suite = tmp_path / "s.yaml"
    suite.write_text(SENTIMENT.read_text().replace("items: sentiment.jsonl", f"items: {EXAMPLES / 'sentiment.jsonl'}"))
    suite.write_text(suite.read_text() + "instructions_per_item: 2\n")
    plan = plan_run([suite], RunOptions(allow_outside_paths=True))
    assert plan.designs[0].instructions_per_item == 2 and plan.prompts == 40 * 3
    assert plan_run([suite], RunOptions(allow_outside_paths=True, instructions_per_item=4)).prompts == 40 * 5
    # the gate reads the key too
    verdict = pc.assert_robust(
        RULE, pc.load_task(suite, allow_outside=True), on_inconclusive="pass", max_accuracy_drop=1
    )
    assert verdict.prompts_scored == 40 * 3 and verdict.design["instructions_per_item"] == 2


def test_evaluate_takes_a_design_for_free_form_tasks_too():
    capitals = {"France": "Paris", "Japan": "Tokyo", "Italy": "Rome", "Spain": "Madrid", "Peru": "Lima", "Chad": "X"}

    class Writer:
        identity = ModelIdentity(id="writer")

        def chat_formatter(self):
            return None

        def score(self, prompts, *, progress=None):
            raise AssertionError("free-form tasks are not scored")

        def generate(self, requests, *, progress=None):
            out = []
            for r in requests:
                city = next(v for k, v in capitals.items() if k in r.context)
                out.append(Generation(f"The capital is {city}." if r.context.startswith("Name") else city, "eos"))
            return out

    items = [GenItem(id=c, question=c, targets=(t,)) for c, t in capitals.items()] * 1
    task = Task(
        name="free",
        items=tuple(items),
        reference_instruction="Answer with the capital city only.",
        unobserved=("Name the capital of this country.", "The capital, please.", "Capital city?"),
        generation=GenerationSettings(max_new_tokens=8),
    )
    result = pc.evaluate(Writer(), task, design=Design(2, seed=1))
    assert result.prompts_scored == 6 * 3 and not result.complete
    rows = result.instructions
    assert all(rows[0].scored) and [r.n_scored for r in rows[1:]] == [4, 4, 4]
    for r in rows[1:]:
        for keep, out, outcome in zip(r.scored, r.outputs, r.outcomes):
            assert (out is None) == (outcome is None) == (not keep)
    st = task_statistics(result)
    assert st.parts is not None
    assert st.parts.form.drop + st.parts.content.drop == pytest.approx(st.robustness.judgment.drop)
    name = next(j for j, r in enumerate(rows) if r.text.startswith("Name"))
    assert st.form_only[name] and rows[name].outcome_rate("misformatted") == 1.0
    doc = task_to_json(result, statistics=st)
    assert doc["design"]["instructions_per_item"] == 2
    assert all(len(it["outputs"]) == 4 and sum(o is None for o in it["outputs"]) == 1 for it in doc["items"])


# -- assert_robust and the plugin -------------------------------------------------------------------
def _big_task(n: int = 120) -> Task:
    items = tuple(
        MCItem(
            id=f"i{i}", question=f"Review number {i} {'good' * (i % 4)}", choices=("negative", "positive"), answer=i % 2
        )
        for i in range(n)
    )
    return Task(
        name="big",
        items=items,
        reference_instruction="Classify the sentiment as negative or positive.",
        unobserved=tuple(f"Instruction {k}: negative or positive?" for k in range(8)),
        format="texts",
    )


def test_assert_robust_scores_k_instructions_per_item_and_records_the_design():
    task = _big_task()
    full = pc.assert_robust(RULE, task, on_inconclusive="pass", max_accuracy_drop=1.0)
    part = pc.assert_robust(RULE, task, on_inconclusive="pass", max_accuracy_drop=1.0, instructions_per_item=2)
    assert full.prompts_scored == 120 * 9 and part.prompts_scored == 120 * 3
    assert full.design is None and part.design == {
        "instructions_per_item": 2,
        "seed": 0,
        "compared_instructions": 8,
        "kinds": ["unobserved"],
    }
    record = part.to_json()
    json.dumps(record)
    ev = record["evidence"]
    assert all(c is not None for c in ev["correct"][0])
    per_item = [sum(row[i] is not None for row in ev["correct"][1:]) for i in range(len(ev["item_ids"]))]
    assert set(per_item) == {2}
    assert [i["n_scored"] for i in ev["instructions"][1:]] == [30] * 8
    assert max(ev["flips"]) <= 2
    assert "2 of them per item (incomplete design)" in part.message()


def test_sequential_looks_score_the_design_in_the_seeded_item_order():
    task = _big_task()
    opts = dict(on_inconclusive="pass", max_accuracy_drop=1.0, instructions_per_item=2, sequential=True)
    v = pc.assert_robust(RULE, task, looks=(0.5, 1.0), **opts)
    assert v.looks_used == 1 and v.items == 60, "a drop-free rule passes a 100-point gate at the first look"
    assert v.prompts_scored == 60 * 3
    whole = pc.assert_robust(RULE, task, on_inconclusive="pass", max_accuracy_drop=1.0, instructions_per_item=2)
    # the first look's cells are the first 60 columns of the whole design
    first = np.asarray(v.evidence["correct"][1:], dtype=object) != None  # noqa: E711
    all_cells = np.asarray(whole.evidence["correct"][1:], dtype=object) != None  # noqa: E711
    assert np.array_equal(first, all_cells[:, :60])


def test_a_result_is_judged_on_its_own_cells():
    task = _big_task(60)
    result = pc.evaluate(RULE, task, design=Design(3, seed=2))
    v = pc.assert_robust(result, on_inconclusive="pass", max_accuracy_drop=1.0)
    assert v.prompts_scored == 60 * 4 and v.design["instructions_per_item"] == 3
    with pytest.raises(InputError) as exc:
        pc.assert_robust(result, instructions_per_item=2)
    assert exc.value.field == "instructions_per_item"


@pytest.mark.parametrize("value", [0, -1, 2.5, True, "3"])
def test_assert_robust_refuses_a_bad_instructions_per_item_in_one_line(value):
    with pytest.raises(InputError) as exc:
        pc.assert_robust(RULE, _big_task(40), instructions_per_item=value)
    assert exc.value.field == "instructions_per_item" and "\n" not in str(exc.value)


def test_assert_robust_refuses_more_instructions_per_item_than_compared_before_scoring():
    with pytest.raises(InputError) as exc:
        pc.assert_robust(RULE, _big_task(40), instructions_per_item=9)
    assert exc.value.field == "instructions_per_item"
    assert "9 instructions per item, but only 8 compared instructions" in str(exc.value)


_PLUGIN_TEST = """
import promptcheck as pc
from promptcheck.models.base import ChoiceScores, ModelIdentity

class Rule:
    identity = ModelIdentity(id="rule")
    def chat_formatter(self):
        return None
    def score(self, prompts, *, progress=None):
        return [ChoiceScores((-0.1, -2.0) if len(p.context) % 2 else (-2.0, -0.1), (1, 1), (1, 1)) for p in prompts]

def _task():
    items = tuple(pc.tasks.MCItem(id=f"i{i}", question=f"Q {i}", choices=("a", "b"), answer=i % 2) for i in range(40))
    return pc.tasks.Task(name="t", items=items, reference_instruction="Pick.",
                         unobserved=tuple(f"Choose {k}." for k in range(6)))

def test_session_default():
    v = pc.assert_robust(Rule(), _task(), on_inconclusive="pass", max_accuracy_drop=1.0)
    assert v.prompts_scored == 40 * (1 + EXPECTED), v.prompts_scored

@pytest.mark.promptcheck(instructions_per_item=1)
def test_marker_wins():
    v = pc.assert_robust(Rule(), _task(), on_inconclusive="pass", max_accuracy_drop=1.0)
    assert v.prompts_scored == 40 * 2

def test_argument_wins():
    v = pc.assert_robust(Rule(), _task(), on_inconclusive="pass", max_accuracy_drop=1.0, instructions_per_item=5)
    assert v.prompts_scored == 40 * 6
"""


@pytest.mark.parametrize(("how", "expected"), [("option", 3), ("ini", 2), ("none", 6)])
def test_the_plugin_option_ini_and_marker_set_the_design(pytester, how, expected):
    source = f"import pytest\nEXPECTED = {expected}\n" + _PLUGIN_TEST
    option, ini = "--promptcheck-instructions-per-item=3", "promptcheck_instructions_per_item = 2"
    run_with_session_option(pytester, source, how=how, option=option, ini=ini)


@pytest.mark.parametrize("value", ["0", "2.5", "x"])
def test_the_plugin_refuses_a_bad_option_in_one_line(pytester, value):
    assert_refused_in_one_line(pytester, "--promptcheck-instructions-per-item", value)


def test_the_plugin_refuses_a_bad_marker_in_one_line(pytester):
    pytester.makepyfile("import pytest\n@pytest.mark.promptcheck(instructions_per_item=0)\ndef test_x():\n    pass\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*@pytest.mark.promptcheck: instructions_per_item: must be a positive whole number*"])


# -- bad input in run and suites --------------------------------------------------------------------
def _one_line_error(res) -> str:
    assert res.exit_code == 2, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1, res.output
    return lines[0]


@pytest.mark.parametrize(("value", "says"), [("0", "must be a positive whole number"), ("7", "only 6 compared")])
def test_run_refuses_a_bad_flag_in_one_line_before_loading_a_model(value, says):
    res = runner.invoke(app, ["run", str(SENTIMENT), "--model", "/nonexistent", "--instructions-per-item", value])
    line = _one_line_error(res)
    assert "--instructions-per-item" in line and says in line


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("0", "must be a positive whole number"),
        ("2.5", "whole number"),
        ("yes", "whole number"),
        ("7", "only 6 compared"),
    ],
)
def test_a_bad_suite_key_is_refused_with_its_file_and_line(tmp_path, value, says):
    suite = tmp_path / "s.yaml"
    text = SENTIMENT.read_text().replace("items: sentiment.jsonl", f"items: {EXAMPLES / 'sentiment.jsonl'}")
    suite.write_text(text + f"instructions_per_item: {value}\n")
    line_no = len(text.splitlines()) + 1
    res = runner.invoke(app, ["run", str(suite), "--model", "/nonexistent", "--allow-outside-paths"])
    line = _one_line_error(res)
    assert f"{suite}:{line_no}: instructions_per_item:" in line and says in line


# -- readers ----------------------------------------------------------------------------------------
def test_plan_reads_an_incomplete_pilot_and_recommends_the_cheapest_design(tmp_path):
    doc = _run(tmp_path, "p.json", instructions_per_item=3)
    (p,) = plan_results(doc, "p.json")
    assert p.judgment.drop == pytest.approx(doc["tasks"][0]["robustness"]["drop"])
    assert p.judgment.verdict == doc["tasks"][0]["robustness"]["verdict"]
    assert p.pilot_design == doc["tasks"][0]["design"]
    record = p.to_json()
    designs = record["designs"]
    assert {(d["instructions"], d["instructions_per_item"]) for d in designs} >= {(6, k) for k in range(1, 7)}
    assert {d["instructions"] for d in designs} >= {6, 12, 24}  # a phrasings claim: more instructions too
    for d in designs:
        assert d["complete"] == (d["instructions_per_item"] == d["instructions"])
        assert d["prompts"] is None or d["prompts"] == d["items"] * (1 + d["instructions_per_item"])
    reachable = [d for d in designs if d["prompts"] is not None]
    assert record["recommended_design"]["prompts"] == min(d["prompts"] for d in reachable)
    assert record["design_target_drop"] == 0.0


def test_plan_on_a_complete_pilot_plans_incomplete_designs_too(tmp_path):
    doc = _run(tmp_path, "c.json")
    (p,) = plan_results(doc, "c.json", target_drop=0.0)
    assert p.pilot_design is None and any(not d.complete for d in p.designs)
    full = p.cheapest_complete
    assert full is not None and full.instructions == 6 and full.per_item == 6
    best = p.recommended
    assert best is not None and best.prompts is not None
    assert full.prompts is None or best.prompts <= full.prompts


def test_compare_refuses_an_incomplete_run_in_one_line_naming_the_design(tmp_path):
    part = _run(tmp_path, "part.json", instructions_per_item=3)
    full = _run(tmp_path, "full.json")
    for old, new in ((full, part), (part, full)):
        with pytest.raises(InputError) as exc:
            compare_evidence(evidence_of(old, "old.json"), evidence_of(new, "new.json"))
        assert exc.value.field == "design" and "incomplete design (3 instructions per item" in exc.value.message
    # a complete file still compares with itself
    changes, _ = compare_evidence(evidence_of(full), evidence_of(full))
    assert changes[0].verdict == "unchanged"


def test_evidence_of_an_incomplete_run_has_nan_where_a_cell_was_not_scored(tmp_path):
    doc = _run(tmp_path, "e.json", instructions_per_item=2)
    e = evidence_of(doc)["sentiment"]
    assert e.correct.dtype == np.float64 and not e.complete
    assert not np.isnan(e.correct[0]).any()
    assert Counter(int(x) for x in (~np.isnan(e.correct[1:])).sum(axis=0)) == {2: 40}


def test_the_plan_command_reads_an_incomplete_run_file(tmp_path):
    _run(tmp_path, "p.json", instructions_per_item=3)
    res = runner.invoke(app, ["plan", str(tmp_path / "p.json"), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["tasks"][0]["recommended_design"] is not None


def test_plan_says_which_design_decides_within_a_budget(tmp_path):
    doc = _run(tmp_path, "b.json")
    (p,) = plan_results(doc, "b.json", target_drop=0.25)
    assert p.pilot_prompts == 40 * 7
    best = p.design_within(10**9, items=10**9)
    assert best is not None and best.instructions <= 6 and best.prompts <= 10**9
    assert p.design_within(0) is None
    within = p.design_within(items=40)
    assert within is None or (within.items <= 40 and within.prompts <= 280)


def test_failures_json_takes_a_gate_record_scored_under_a_design(tmp_path):
    from promptcheck.failures import failures_doc, read_failures, tasks_from_failures

    try:
        pc.assert_robust(RULE, pc.load_task(SENTIMENT), max_accuracy_drop=0.0, instructions_per_item=2)
        raise AssertionError("a 0-point gate cannot pass")
    except pc.RobustnessError as exc:
        record = {**exc.verdict.to_json(), "test": "t::x", "test_outcome": "failed"}
    assert record["design"]["instructions_per_item"] == 2
    doc = failures_doc([record], seed=0, model_option="rule")
    assert doc is not None, "an inconclusive gate with a drop above 0 that failed its test is worth fixing"
    out = tmp_path / "failures.json"
    out.write_text(json.dumps(doc))
    read_failures(out)
    (task,), _ = tasks_from_failures(out)
    assert task.name == "sentiment" and len(task.items) == 40


# -- the plugin's start-of-session power warning ------------------------------------------------------
def _parity_rule(context: str) -> bool:
    """Right on even items, wrong on every seventh and on one prompt in nine by its length: no
    systematic drop, but item x instruction noise a complete 100 x 24 gate cannot decide on."""
    number = int(context.split("Is ", 1)[1].split(" ", 1)[0])
    wrong = number % 7 == 0 or (number * 31 + len(context) * 17) % 9 == 0
    return (number % 2 == 0) != wrong


class _Collected:
    """What the warning reads of a collected test: its node id and markers."""

    def __init__(self, nodeid: str) -> None:
        self.nodeid = nodeid

    def iter_markers(self, name: str):
        return iter(())


def test_the_power_warning_names_an_incomplete_design_that_decides_at_todays_prompts(tmp_path):
    from promptcheck.gate.session import power_warnings
    from promptcheck.options import VerdictOptions
    from promptcheck.report.documents import stamp

    items = tuple(MCItem(id=f"i{i}", question=f"Is {i} even?", choices=("yes", "no"), answer=i % 2) for i in range(100))
    task = Task(
        name="parity",
        items=items,
        reference_instruction="Answer the question.",
        unobserved=tuple(f"Reply to the question, version {k}." for k in range(24)),
    )
    verdict = pc.assert_robust(RuleModel("noisy", _parity_rule), task, on_inconclusive="pass")
    assert verdict.verdict == "inconclusive" and verdict.prompts_scored == 100 * 25
    baseline = tmp_path / "old.json"
    doc = stamp("pytest", {"seed": 0, "tests": [dict(verdict.to_json(), test="t.py::test_x")]})  # as the gate writes
    baseline.write_text(json.dumps(doc))
    (line,) = power_warnings(baseline, [_Collected("t.py::test_x")], VerdictOptions())
    assert line.startswith("promptcheck: t.py::test_x::parity: at 100 items x 24 instructions (baseline)")
    # The complete design needs more items; an incomplete one decides within today's 2,500 prompts.
    assert "; or, at today's 2500 prompts, 1 of 24 instructions per item over" in line
    assert "--promptcheck-instructions-per-item 1) would decide" in line
    prompts = int(line.split("instructions per item over ")[1].split(" items (")[1].split(" prompts")[0])
    assert prompts <= 2500


def test_a_designs_worst_drop_is_the_largest_of_the_instructions_own_drops(tmp_path):
    """Under a design each instruction has its own items: its drop is paired on them, and the set's
    worst drop is the largest of those (not all items' reference minus its own items' accuracy)."""
    task = _run(tmp_path, "w.json", instructions_per_item=2)["tasks"][0]
    (row,) = [s for s in task["sets"] if s["kind"] == "unobserved"]
    own = [i["drop"] for i in task["instructions"] if i["kind"] == "unobserved"]
    assert row["worst_drop"] == pytest.approx(max(own))
    complete = _run(tmp_path, "c.json")["tasks"][0]
    (full,) = [s for s in complete["sets"] if s["kind"] == "unobserved"]
    assert full["worst_drop"] == pytest.approx(complete["reference_accuracy"] - full["worst_accuracy"])
