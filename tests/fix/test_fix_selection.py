"""What fix trains on, how it selects, and how it says whether the gap closed (issue 16)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from conftest import assert_fix_ran, fix_cli

import promptcheck as pc
from promptcheck.fix import select as fix_select
from promptcheck.fix.config import FixConfig
from promptcheck.fix.data import split_task
from promptcheck.fix.phrasings import norm, phrasing_pool
from promptcheck.fix.run import gap_outcome, task_problems
from promptcheck.fix.train import attach_soft_prompt, train
from promptcheck.fix.verdict import gate_verdict


@pytest.fixture(scope="module")
def heldout_suites(examples_dir):
    root = examples_dir.parent / "heldout"
    return {n: pc.load_task(root / f"{n}.yaml") for n in ("sentiment", "capitals", "yesno")}


def test_phrasing_pool_spans_sources_and_never_holds_a_heldout_instruction(heldout_suites):
    for task in heldout_suites.values():
        pool = phrasing_pool(task, generated=6, seed=0)
        sources = {p.source for p in pool}
        assert sources == {"observed", "bank", "generated", "structural"}, task.name
        keys = [norm(p.text) for p in pool]
        assert len(keys) == len(set(keys))
        assert not set(keys) & ({norm(t) for t in task.unobserved} | {norm(task.reference_instruction)})
        assert any(p.text.endswith("?") for p in pool if p.source == "structural")  # a question form
        assert any(p.text.startswith("{input}") for p in pool if p.source == "structural")  # after the input


def test_a_bank_is_used_only_when_its_labels_are_the_tasks_answers(heldout_suites):
    # The sentiment bank says "negative or positive": it must not train a yes/no task.
    yesno = dataclasses.replace(heldout_suites["yesno"], kind="classification")
    assert not [p for p in phrasing_pool(yesno, generated=0) if p.source == "bank"]
    assert [p for p in phrasing_pool(heldout_suites["sentiment"], generated=0) if p.source == "bank"]


def test_splits_are_disjoint_and_validation_instructions_are_written_ones(heldout_suites):
    cfg = FixConfig(generated=4)
    for task in heldout_suites.values():
        ft = split_task(task, cfg)
        ids = [{i.id for i in s} for s in (ft.train_items, ft.val_items, ft.heldout_items)]
        assert all(ids) and not (ids[0] & ids[1] or ids[0] & ids[2] or ids[1] & ids[2])
        assert sum(map(len, ids)) == len(task.items)
        val, tr, held = set(ft.val_instructions), set(ft.train_instructions), set(ft.heldout_instructions)
        assert val and not (val & tr or val & held or tr & held)
        assert split_task(task, cfg) == ft  # seeded


def test_item_splits_hold_each_answer_in_its_share_of_the_task(heldout_suites):
    # A plain shuffle gave yes/no 7 "no" of 10 training items and 11 "yes" of 16 held-out ones.
    for seed in range(4):
        for task in heldout_suites.values():
            ft = split_task(task, FixConfig(seed=seed, generated=0))
            for answer in {i.answers for i in task.items}:
                share = sum(i.answers == answer for i in task.items) / len(task.items)
                for part in (ft.train_items, ft.val_items, ft.heldout_items):
                    assert abs(sum(i.answers == answer for i in part) - share * len(part)) < 1.0 + 1e-9


def test_answer_weights_make_each_answer_count_alike_and_average_one(heldout_suites):
    from promptcheck.fix.data import FixTask
    from promptcheck.fix.train import answer_weights

    task = heldout_suites["yesno"]
    no, yes = [i for i in task.items if i.answers == (0,)], [i for i in task.items if i.answers == (1,)]
    ft = FixTask(
        task, train_items=tuple(no[:7] + yes[:3]), heldout_items=(), train_instructions=(), heldout_instructions=()
    )
    w = answer_weights([ft])
    assert abs(w[task.name, no[0].id] - 10 / 14) < 1e-9 and abs(w[task.name, yes[0].id] - 10 / 6) < 1e-9
    per_answer: dict = {}
    for item in ft.train_items:
        per_answer[item.answers] = per_answer.get(item.answers, 0.0) + w[task.name, item.id]
    assert len(per_answer) == 2 and len({round(v, 9) for v in per_answer.values()}) == 1
    assert abs(sum(w.values()) / len(w) - 1.0) < 1e-9


def test_candidates_are_seeded_distinct_and_start_with_the_users_options():
    cfg = FixConfig(search=4, lr=0.02)
    got = fix_select.candidates(cfg)
    assert got[0] == cfg and len(got) == 4 and got == fix_select.candidates(cfg)
    assert len({(c.lr, c.kl_weight, c.num_virtual_tokens) for c in got}) == 4
    assert fix_select.candidates(dataclasses.replace(cfg, seed=1))[1:] != got[1:]


def test_gap_outcome_says_a_fix_that_lifts_everything_but_widens_the_gap_is_no_fix():
    before = {"reference_accuracy": 0.8, "heldout_drop": 0.165, "heldout_gate": {"verdict": "fail"}}
    widened = {"reference_accuracy": 1.0, "heldout_drop": 0.215, "heldout_gate": {"verdict": "fail"}}
    o = gap_outcome(before, widened, 0.01)
    assert o["gap_widened"] and not o["gap_closed"] and not o["gate_passes_after"]
    reference_fell = {"reference_accuracy": 0.667, "heldout_drop": -0.007, "heldout_gate": {"verdict": "pass"}}
    o = gap_outcome(before, reference_fell, 0.01)
    assert o["heldout_drop_halved"] and not o["reference_kept"] and not o["gap_closed"]
    good = {"reference_accuracy": 0.8, "heldout_drop": 0.05, "heldout_gate": {"verdict": "inconclusive"}}
    assert gap_outcome(before, good, 0.01)["gap_closed"]
    none_before = {"reference_accuracy": 0.8, "heldout_drop": -0.02, "heldout_gate": {"verdict": "pass"}}
    assert gap_outcome(none_before, {**good, "heldout_drop": 0.0}, 0.01)["gap_closed"]  # none before, none after
    assert not gap_outcome(none_before, good, 0.01)["gap_closed"]


def test_fix_names_each_reason_it_exits_3_in_one_line():
    before = {"reference_accuracy": 0.8, "heldout_drop": 0.042, "heldout_gate": {"verdict": "inconclusive"}}
    not_halved = {"reference_accuracy": 1.0, "heldout_drop": 0.029, "heldout_gate": {"verdict": "inconclusive"}}
    (line,) = task_problems("sentiment", gap_outcome(before, not_halved, 0.01), feasible=True, harm_tolerance=0.01)
    assert line.startswith("GAP NOT CLOSED: sentiment: held-out drop +4.2 -> +2.9 points") and "+2.1" in line
    widened = {"reference_accuracy": 0.75, "heldout_drop": 0.1, "heldout_gate": {"verdict": "fail"}}
    lines = task_problems("s", gap_outcome(before, widened, 0.01), feasible=False, harm_tolerance=0.01)
    assert [x.split(":")[0] for x in lines] == ["NO SAFE FIX", "HARM", "GAP WIDENED"]
    assert "fell by 5.0 points" in lines[1] and all("\n" not in x for x in lines)
    closed = {"reference_accuracy": 0.8, "heldout_drop": 0.02, "heldout_gate": {"verdict": "inconclusive"}}
    assert task_problems("s", gap_outcome(before, closed, 0.01), feasible=True, harm_tolerance=0.01) == []


def test_fix_verdict_is_the_gates_verdict():
    # The gate (assert_robust) decides with stats.verdicts.judge; fix's verdict must be that call.
    from promptcheck.stats.verdicts import judge

    rng = np.random.default_rng(3)
    seen = set()
    for p in (0.97, 0.6, 0.85):
        ref = rng.random(40) < 0.9
        para = rng.random((12, 40)) < p
        mine = gate_verdict(ref, para, threshold=0.05, confidence=0.95, seed=0)
        theirs = judge(ref, para, max_accuracy_drop=0.05, confidence=0.95, claim="phrasings", seed=0)
        assert mine.verdict == theirs.verdict and mine.interval == theirs.interval
        seen.add(mine.verdict)
    assert "fail" in seen


def test_early_stopping_keeps_the_best_validation_checkpoint(tiny_causal_dir, heldout_suites, tmp_path):
    task = dataclasses.replace(heldout_suites["sentiment"], items=heldout_suites["sentiment"].items[:14])
    cfg = FixConfig(num_virtual_tokens=4, steps=50, lr=0.05, eval_every=2, patience=2, generated=2)
    tuned = attach_soft_prompt(pc.load_model(str(tiny_causal_dir)), cfg, task.reference_instruction)
    scores = iter([3.0, 1.0, 2.0, 2.5, 0.5, 0.1])  # best at step 2, then two worse scores: stop at step 6

    state = train(tuned, [split_task(task, cfg)], cfg, tmp_path, validate=lambda scorer: {"key": [0, next(scores)]})
    assert state.stopped_early and state.step == 6
    assert state.best["step"] == 2 and [r["step"] for r in state.validation] == [0, 2, 4, 6]


def test_no_candidate_keeps_the_reference_exits_3_with_the_best_trade_off(
    tiny_causal_dir, examples_dir, tmp_path, monkeypatch
):
    # A floor no model can reach (validation reference accuracy above 1) stands in for a task
    # where every candidate lowers the reference: fix must say so itself.
    monkeypatch.setattr("promptcheck.fix.run.baseline", lambda scorer, splits: fix_select.Baseline((1.5,)))
    out = tmp_path / "o"
    res = fix_cli(
        [str(examples_dir / "yesno.yaml")],
        str(tiny_causal_dir),
        str(out),
        "--steps 2 --virtual-tokens 3 --search 1 --eval-every 1",
    )
    assert res.exit_code == 3, res.output
    assert "NO SAFE FIX" in res.output
    assert "not for use: fix exits 3" in res.output and "use it:" not in res.output  # no advert for a failed fix
    report = json.loads((out / "fix_report.json").read_text())
    assert not report["selection"]["ok"] and report["selection"]["infeasible_tasks"] == ["yesno"]
    assert (out / "adapter_config.json").is_file()  # the trade-off is saved, and labelled unusable


def test_fix_says_no_signal_where_the_default_model_guesses_under_the_reference(default_model, heldout_suites):
    # The default model answers the yes/no suite at chance under the reference (19/32): fix must
    # say that itself rather than report a gap it cannot be shown to close.
    from promptcheck.fix.run import reference_signal

    yesno = reference_signal(default_model, heldout_suites["yesno"], 0.95)
    sentiment = reference_signal(default_model, heldout_suites["sentiment"], 0.95)
    assert not yesno["above_chance"] and yesno["lower_bound"] <= yesno["chance"] == 0.5
    assert sentiment["above_chance"] and sentiment["lower_bound"] > 0.5
    outcome = {"reference_kept": True, "heldout_drop_halved": True}
    (line,) = task_problems("yesno", outcome, feasible=True, harm_tolerance=0.01, signal=yesno)
    k, n = yesno["reference_correct"], yesno["items"]
    assert line.startswith("NO SIGNAL: yesno:") and f"{k}/{n}" in line and "\n" not in line
    assert task_problems("sentiment", outcome, feasible=True, harm_tolerance=0.01, signal=sentiment) == []


def test_selection_ranks_a_closed_gap_with_the_reference_up_above_one_that_lowered_the_reference(
    heldout_suites, monkeypatch
):
    # Sentiment, 2026-12-06: ranking by the raw drop chose a checkpoint whose validation drop was
    # -0.11 because its reference had fallen (0.625) over one at -0.03 with the reference at 0.875.
    # A negative drop is a closed gap, not a better one.
    ft = split_task(heldout_suites["sentiment"], FixConfig(generated=0))
    n_items, n_instr = len(ft.val_items), len(ft.val_instructions)
    assert (n_items, n_instr) == (8, 8)

    def scores(ref_right: int, para_right: int) -> tuple:
        ref = np.arange(n_items) < ref_right
        para = (np.arange(n_instr * n_items) < para_right).reshape(n_instr, n_items)
        return ref, para, 0.03

    checkpoints = {
        "reference fell": scores(5, 47),  # ref 5/8, paraphrases 47/64: drop -0.11
        "reference up": scores(7, 58),  # ref 7/8, paraphrases 58/64: drop -0.03
        "gap open": scores(7, 48),  # ref 7/8, paraphrases 48/64: drop +0.125
    }
    now = {"which": ""}
    monkeypatch.setattr(fix_select, "_val_scores", lambda scorer, f: checkpoints[now["which"]])
    validate = fix_select.validator([ft], fix_select.Baseline((0.5,)), FixConfig())
    keys = {}
    for name in checkpoints:
        now["which"] = name
        keys[name] = validate(None)["key"]
    assert sorted(keys, key=keys.__getitem__) == ["reference up", "reference fell", "gap open"]


def test_a_rare_answer_cannot_weigh_many_times_its_neighbours(heldout_suites):
    # 18 items answered "no", one "yes", one where both count: uncapped, the two rare ones would
    # weigh 18x the others in a batch of two.
    from promptcheck.fix.data import FixTask
    from promptcheck.fix.train import MAX_ANSWER_WEIGHT, answer_weights
    from promptcheck.tasks.records import MCItem

    items = [MCItem(f"n{i}", f"q{i}", ("no", "yes"), 0) for i in range(18)]
    items += [MCItem("y", "qy", ("no", "yes"), 1), MCItem("b", "qb", ("no", "yes"), 0, answers=(0, 1))]
    task = heldout_suites["yesno"]
    w = answer_weights([FixTask(task, tuple(items), (), (), ())])
    assert abs(sum(w.values()) / len(w) - 1.0) < 1e-9
    assert max(w.values()) / min(w.values()) <= MAX_ANSWER_WEIGHT / (20 / 54) + 1e-9 < 18


def test_guessing_accuracy_is_the_better_of_a_uniform_guess_and_one_answer_every_time():
    from promptcheck.stats.sets import guessing_accuracy
    from promptcheck.tasks.records import MCItem

    yes_heavy = [MCItem(f"y{i}", "q", ("no", "yes"), 1) for i in range(8)] + [MCItem("n", "q", ("no", "yes"), 0)] * 2
    assert guessing_accuracy(yes_heavy) == 0.8  # always "yes": 8 of 10
    three = [MCItem(f"c{i}", "q", ("a", "b", "c"), i % 3) for i in range(9)]
    assert abs(guessing_accuracy(three) - 1 / 3) < 1e-9


def test_a_suite_too_small_to_split_validates_in_sample_and_says_so(tiny_causal_dir, tmp_path):
    """4 items and one written phrasing: nothing is left for validation after the held-out ones.

    Selecting on an empty split scored NaN, every checkpoint compared false, and fix kept the
    untrained prompt and called it NO SAFE FIX; now selection reuses training items and
    phrasings, a warning says so, and the report names what was reused.
    """
    rows = [{"question": f"Is {n} even?", "choices": ["no", "yes"], "answer": int(n % 2 == 0)} for n in range(4)]
    (tmp_path / "i.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    suite = tmp_path / "tiny.yaml"
    suite.write_text(
        "name: tiny\nkind: yesno\nitems: i.jsonl\nformat: texts\n"
        'reference_instruction: "Answer with yes or no."\n'
        'instructions:\n  observed: ["Yes or no?"]\n  unobserved: ["Say yes or no."]\n'
    )
    out = tmp_path / "o"
    extra = "--steps 2 --virtual-tokens 3 --search 1 --eval-every 1 --phrasings observed --harm-tolerance 1.0"
    res = fix_cli([suite], tiny_causal_dir, out, extra)
    said = [ln for ln in res.output.splitlines() if "model selection scores training" in ln]
    assert len(said) == 1 and said[0].startswith(
        "promptcheck: warning: tiny: model selection scores training items and instructions (in-sample"
    ), res.output  # one line, once (the CLI's early check and run_fix both split)
    assert_fix_ran(res)
    assert "NO SAFE FIX" not in res.output
    report = json.loads((out / "fix_report.json").read_text())
    (task,) = report["tasks"]
    assert task["validation_in_sample"] == ["items", "instructions"]
    assert task["val_instructions"] == ["Yes or no?"] and task["val_items"] == task["train_items"] == 2
    rows_scored = report["selection"]["candidates"][0]["validation"]
    assert len(rows_scored) == 3 and all(np.isfinite(r["objective"]) for r in rows_scored)


def test_one_written_phrasing_holds_out_made_ones_for_validation(heldout_suites):
    task = dataclasses.replace(heldout_suites["capitals"], observed=heldout_suites["capitals"].observed[:1])
    ft = split_task(task, FixConfig(phrasings="observed,structural", generated=0))
    assert ft.in_sample == () and ft.val_instructions
    assert not set(ft.val_instructions) & set(ft.train_instructions)
    assert task.observed[0] in ft.train_instructions  # the one written phrasing still trains


def test_an_items_file_without_instructions_is_checked_on_the_written_banks_heldout_ones(tmp_path):
    """`promptcheck fix data.csv`: no unobserved instructions of its own; the bank's held-out split
    is the check, said in a warning. A bank asking for other answers is refused in one line."""
    from promptcheck.errors import InputError
    from promptcheck.paraphrase.banks import load_bank

    rows = [{"question": f"q{i}", "choices": ["a", "b", "c"], "answer": i % 3} for i in range(12)]
    (tmp_path / "i.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    task = pc.load_task(tmp_path / "i.jsonl")
    with pytest.warns(RuntimeWarning, match=r"i: no unobserved instructions: .* written mcqa bank's 12 unobserved"):
        ft = split_task(task, FixConfig(generated=2))
    assert set(ft.heldout_instructions) == set(load_bank("mcqa").unobserved)
    assert not {norm(t) for t in ft.heldout_instructions} & {norm(t) for t in ft.train_instructions}
    assert ft.train_instructions and ft.val_instructions
    assert ft.heldout_source == "bank:mcqa"
    tf = pc.load_task(tmp_path / "i.jsonl", kind="yesno")  # choices a/b/c, the yes/no bank asks for yes/no
    with pytest.raises(InputError, match=r"i\.jsonl: instructions\.unobserved: has no unobserved .*ask for yes / no"):
        split_task(tf, FixConfig())
    # negative / positive / neutral: the sentiment bank never offers "neutral", so it checks nothing here
    three = [{"question": f"r{i}", "choices": ["negative", "positive", "neutral"], "answer": i % 3} for i in range(9)]
    (tmp_path / "s.jsonl").write_text("\n".join(json.dumps(r) for r in three))
    with pytest.raises(InputError, match=r"ask for negative / positive, not this task's answers"):
        split_task(pc.load_task(tmp_path / "s.jsonl", kind="classification"), FixConfig())
    assert not [
        p for p in phrasing_pool(pc.load_task(tmp_path / "s.jsonl", kind="classification")) if p.source == "bank"
    ]


def test_a_large_task_is_fixed_on_the_sample_limit_would_take(tmp_path):
    """14k MMLU items would mean hours of validation scoring: fix takes the --limit 500 sample, and says so."""
    from promptcheck.fix.data import MAX_ITEMS

    rows = [{"question": f"q{i}", "choices": ["a", "b"], "answer": i % 2} for i in range(MAX_ITEMS + 100)]
    (tmp_path / "big.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    task = pc.load_task(tmp_path / "big.jsonl", observed=["Pick."], unobserved=["Choose."])
    with pytest.warns(RuntimeWarning, match=rf"big: {MAX_ITEMS + 100} items: fix uses a seeded sample of {MAX_ITEMS}"):
        ft = split_task(task, FixConfig(generated=0))
    limited = pc.load_task(tmp_path / "big.jsonl", observed=["Pick."], unobserved=["Choose."], limit=MAX_ITEMS)
    assert ft.task == limited and ft.task.population == MAX_ITEMS + 100
    assert len(ft.train_items) + len(ft.val_items) + len(ft.heldout_items) == MAX_ITEMS
    kept = pc.load_task(tmp_path / "big.jsonl", observed=["Pick."], unobserved=["Choose."], limit=MAX_ITEMS + 50)
    assert len(split_task(kept, FixConfig(generated=0)).task.items) == MAX_ITEMS + 50  # a limit given is kept


def test_a_reference_that_places_the_input_keeps_it_once_and_its_answer_cue_last():
    """A user's reference "Headline: {input}\\nTopic:" was wrapped as "{input}\\n\\nHeadline: {input}..."
    and followed by "Answer with the correct option only." after the cue; both were trained on."""
    from promptcheck.fix.phrasings import structural

    ref = "Headline: {input}\nTopic:"
    made = structural(ref, seed=0)
    assert made and all(t.count("{input}") == 1 and t.endswith(ref) for t in made)
    assert all(t.count("{input}") <= 1 for t in structural("Classify the headline.", seed=0))
    items = tuple(pc.MCItem(f"h{k}", f"headline {k}", ("sports", "science"), k % 2) for k in range(6))
    task = pc.Task("h", items, ref, observed=("Sports or science?",), unobserved=("Topic?",))
    pool = phrasing_pool(task, generated=6, seed=0)
    assert {p.source for p in pool} >= {"generated", "structural"}
    assert all(p.text.endswith("Topic:") for p in pool if "{input}" in p.text)  # the cue is never reworded


def test_fix_asks_would_the_gate_pass_with_the_gates_own_verdict_on_the_same_matrix():
    """fix's gate check left out the per-item chance the gate passes to judge, so the two could
    disagree on one matrix. Over seeds, items with 2 to 5 choices, 2 to 6 instructions: the same
    verdict, drop and bounds."""
    from promptcheck.evaluation.results import InstructionResult, TaskResult
    from promptcheck.models.base import ModelIdentity
    from promptcheck.stats.sets import item_chance

    for seed in range(12):
        rng = np.random.default_rng(seed)
        n, m = int(rng.integers(12, 40)), int(rng.integers(2, 7))
        sizes = rng.integers(2, 6, size=n)
        items = tuple(pc.MCItem(f"i{k}", f"q{k}", tuple(f"c{c}" for c in range(s)), 0) for k, s in enumerate(sizes))
        task = pc.Task(name="t", items=items, reference_instruction="ref")
        ref = rng.random(n) < 0.8
        held = rng.random((m, n)) < rng.uniform(0.4, 0.9, size=(m, 1))
        rows = [("ref", "reference", ref)] + [(f"p{j}", "unobserved", held[j]) for j in range(m)]
        result = TaskResult(
            task=task,
            model=ModelIdentity(id="synthetic"),
            instructions=tuple(
                InstructionResult(
                    pc.Instruction(t, k),
                    tuple(0 if c else 1 for c in row),
                    tuple(bool(c) for c in row),
                    tuple((-1.0,) * len(i.choices) for i in items),
                )
                for t, k, row in rows
            ),
        )
        try:
            gate = pc.assert_robust(result, max_accuracy_drop=0.05, seed=seed, on_inconclusive="pass")
        except pc.RobustnessError as failed:
            gate = failed.verdict
        mine = gate_verdict(ref, held, threshold=0.05, seed=seed, chance=item_chance(items))
        assert (mine.verdict, mine.drop, mine.interval) == (gate.verdict, gate.drop, gate.interval), seed


def test_plan_fix_holds_the_threshold_rule_and_refuses_before_a_model_loads(examples_dir):
    """The fix front end held the threshold rule and input checks; the library does (plan_fix)."""
    from promptcheck.fix.entry import plan_fix

    plan = plan_fix([examples_dir / "sentiment.yaml"], max_accuracy_drop=0.1, config={"steps": 4})
    assert plan.model == "default" and plan.config.gate_threshold == 0.1 and plan.config.steps == 4
    assert [t.name for t in plan.tasks] == ["sentiment"]
    assert plan_fix([examples_dir / "sentiment.yaml"]).config.gate_threshold == FixConfig().gate_threshold
    with pytest.raises(pc.InputError, match="not a served one"):
        plan_fix([examples_dir / "sentiment.yaml"], model="http://gpu:8000/v1")
    with pytest.raises(pc.InputError, match="suite files, or --from"):
        plan_fix()
