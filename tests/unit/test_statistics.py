"""Statistics: interval helpers against scipy, the judge's rule on small hand-made cases, and
assert_robust on top of it. The error-rate contract is checked in test_verdict_contract.py."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy import special

import promptcheck as pc
from promptcheck.evaluation.results import InstructionResult, TaskResult
from promptcheck.models.base import ModelIdentity
from promptcheck.stats import holm, judge
from promptcheck.stats.robustness import consistency, mcnemar_exact, mean_kl, wilson
from promptcheck.stats.task import task_statistics
from promptcheck.stats.verdicts import (
    ALPHA_SHARE,
    components,
    decisive_variance,
    look_plan,
    possible_drops,
    spending,
)


def test_wilson_interval_matches_the_formula():
    ci = wilson(80, 100, 0.95)
    z = 1.959963984540054
    p, n = 0.8, 100
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    assert (ci.low, ci.high) == pytest.approx((centre - half, centre + half), abs=1e-9)


def test_mcnemar_counts_only_discordant_pairs():
    ref = np.array([1, 1, 1, 1, 1, 1, 0, 0], dtype=bool)
    para = np.array([0, 0, 0, 0, 0, 1, 0, 1], dtype=bool)
    # 5 ref-only correct, 1 para-only: two-sided binomial p for 1 of 6.
    assert mcnemar_exact(ref, para) == pytest.approx(0.21875)
    assert mcnemar_exact(ref, ref) == 1.0


def test_consistency_and_kl():
    preds = np.array([[0, 1, 1], [0, 1, 0], [0, 1, 1]])
    assert consistency(preds) == pytest.approx(2 / 3)
    same = [[-0.1, -2.0], [-3.0, -0.2]]
    assert mean_kl([same], same) == pytest.approx(0.0, abs=1e-12)
    assert mean_kl([[[-2.0, -0.1], [-3.0, -0.2]]], same) > 0.5


def test_two_way_interval_is_wider_than_fixed_instructions():
    rng = np.random.default_rng(1)
    u = rng.random(100)
    ref = u < 0.8
    para = u[None, :] < (0.7 + rng.normal(0, 0.08, 8))[:, None]
    fixed = judge(ref, para, claim="instructions")
    general = judge(ref, para, claim="phrasings")
    assert general.interval.high - general.interval.low > fixed.interval.high - fixed.interval.low
    assert general.df < fixed.df, "few instructions: t with few degrees of freedom, not a normal"
    assert judge(ref, para, claim="phrasings") == general, "deterministic: same arrays, same judgment"


def test_a_drop_interval_on_a_few_items_stays_within_the_possible_drops():
    """2 items, one instruction: the t bound (df 1) was +-632 points, then +-100. Now: the drops a
    reference that answered 1 of 2 can show ([L - 1, U], its accuracy's tiny-alpha Wilson bounds),
    and "cannot decide at this size"."""
    ref = np.array([True, False])
    para = np.array([[False, True]])
    j = judge(ref, para, claim="instructions", max_accuracy_drop=0.05)
    low, high = possible_drops(ref, 0.05 * ALPHA_SHARE)
    assert -1 < low < -0.5 and 0.5 < high < 1
    assert (j.interval.low, j.interval.high) == (low, high) and j.verdict == "inconclusive"
    assert not j.decidable and j.describe_interval().startswith("cannot decide at this size")
    assert j.minimum_detectable_drop is None and j.largest_possible_drop == high
    wide = judge(np.ones(40, bool), np.zeros((1, 40), bool), claim="instructions", max_accuracy_drop=0.05)
    assert wide.verdict == "fail" and wide.interval.high == 1.0  # a sure 100-point drop still fails
    assert wide.decidable


def test_two_unobserved_instructions_cannot_decide_and_say_what_would():
    """A user's gate with 2 unobserved instructions: bounds [-100.0, +100.0] and "this suite detects a
    true drop of 158.6 points", neither of which can happen. Now: no impossible figure, and a size that
    would decide."""
    rng = np.random.default_rng(3)
    ref = rng.random(30) < 0.7
    para = np.vstack([rng.random(30) < 0.75, rng.random(30) < 0.4])  # two instructions far apart
    j = judge(ref, para, claim="phrasings", max_accuracy_drop=0.05)
    low, high = possible_drops(ref, 0.05 * ALPHA_SHARE)
    assert j.verdict == "inconclusive" and not j.decidable
    assert (j.interval.low, j.interval.high) == (low, high), "no bound beyond what the reference can show"
    assert j.minimum_detectable_drop is None  # above 100 points before: now no figure
    note = j.power_note()
    assert "no drop the reference allows" in note
    assert j.sizes_for_drop == 0.1 and "would detect a true drop of 10.0 points" in note
    # With 30 items, no number of instructions alone gets there, nor items alone with 2 instructions:
    assert j.items_needed is None and j.instructions_needed is None
    n, m = j.sizes_needed_together
    assert f"about {n} items with {m} instructions" in note and n > 30 and m > 2
    target = (0.05 / (special.ndtri(0.95) + special.ndtri(0.8))) ** 2
    assert decisive_variance(j.components, n, m, 0.05) <= target
    assert decisive_variance(j.components, int(n * 0.9), int(m * 0.9), 0.05) > target, "the smallest such size"


def test_planned_sizes_count_the_t_quantile_of_two_instructions():
    """With 2 instructions the bound's instruction part is t(1): 6.3 at 95%, not 1.6. A planner on
    normal quantiles said "about 1165 items would decide" a 2-instruction gate; it counts them now."""
    rng = np.random.default_rng(11)
    ref = rng.random(60) < 0.9
    two = np.vstack([rng.random(60) < 0.85, rng.random(60) < 0.8])
    comp = judge(ref, two, claim="phrasings").components
    z = float(special.ndtri(0.95))
    naive = comp.variance_at(1000, 2)
    assert decisive_variance(comp, 1000, 2, 0.05) > 5 * naive  # (6.31 / 1.64)^2 = 14.7 on the instruction part
    twenty = judge(ref, np.vstack([rng.random(60) < 0.82 for _ in range(20)]), claim="phrasings").components
    ratio = decisive_variance(twenty, 60, 20, 0.05) / twenty.variance_at(60, 20)
    assert 1 < ratio < 1.5, ratio  # t(19) and t(59) are close to normal: about the same figure
    assert z > 0


def test_clipping_bounds_to_what_can_happen_keeps_their_coverage():
    """A review's counterexample to clipping at the *measured* reference accuracy: 20 items, true
    reference 0.85, true paraphrase 0.93 (a true drop of -8): the shown lower bound sat above the
    true drop in 16% of runs, not 5%. The clip now uses the reference's own tiny-alpha bounds."""
    rng = np.random.default_rng(0)
    runs, above = 600, 0
    for _ in range(runs):
        ref = rng.random(20) < 0.85
        para = rng.random((1, 20)) < 0.93
        j = judge(ref, para, claim="instructions", max_accuracy_drop=0.05)
        above += j.interval.low > -0.08
    assert above / runs <= 0.05 * (1 + ALPHA_SHARE) + 3 * (0.05 * 0.95 / runs) ** 0.5


def test_relative_bounds_stay_within_the_relative_drops_that_can_happen():
    rng = np.random.default_rng(2)
    for _ in range(40):
        ref = rng.random(30) < 0.9
        para = rng.random((3, 30)) < 0.5
        try:
            j = judge(ref, para, relative=True, chance=0.25, claim="instructions", max_accuracy_drop=0.2)
        except pc.InputError:
            continue  # a reference not clearly above chance is refused for a relative drop
        low, high = possible_drops(ref, (1 - j.bound_confidence) * ALPHA_SHARE, np.full(30, 0.25))
        assert min(low, 0.2) <= j.interval.low <= j.interval.high <= max(high, 0.2)


def test_an_interim_look_is_never_called_undecidable_and_no_look_shows_no_nan():
    """Judged at 30 of 300 planned items it said "cannot decide at this size"; the full run decided."""
    rng = np.random.default_rng(5)
    ref = rng.random(300) < 0.8
    para = rng.random((2, 300)) < 0.75
    early = judge(ref[:30], para[:, :30], looks=(0.1, 1.0), planned_items=300)
    assert early.decidable and "cannot decide" not in early.describe_interval()
    one = judge(ref[:1], para[:, :1])
    assert "nan" not in one.describe_interval() and "score more items" in one.describe_interval()


def test_variance_components_match_the_anova_identity():
    """Var of the grand mean = (MS_items + MS_instr - MS_resid) / (m n), from statsmodels-free ANOVA."""
    rng = np.random.default_rng(2)
    d = rng.normal(size=(6, 50)) + rng.normal(size=(1, 50)) + rng.normal(0, 0.5, size=(6, 1))
    m, n = d.shape
    grand = d.mean()
    ms_items = m * ((d.mean(0) - grand) ** 2).sum() / (n - 1)
    ms_instr = n * ((d.mean(1) - grand) ** 2).sum() / (m - 1)
    resid = d - d.mean(0, keepdims=True) - d.mean(1, keepdims=True) + grand
    ms_res = (resid**2).sum() / ((n - 1) * (m - 1))
    c = components(d, "phrasings")
    assert c.variance == pytest.approx((ms_items + ms_instr - ms_res) / (m * n))
    assert components(d, "instructions").variance == pytest.approx(ms_items / (m * n))
    assert c.variance_at(n, m) == pytest.approx(c.variance)


def test_verdict_rule_is_two_one_sided_tests():
    ref = np.ones(200, bool)
    para = np.ones((8, 200), bool)
    para[:, :40] = False  # every paraphrase loses the same 40 items: a 20-point drop
    bad = judge(ref, para)
    assert bad.verdict == "fail" and bad.interval.low > 0.05 and bad.drop == pytest.approx(0.2)
    good = judge(ref, np.ones((8, 200), bool) & (np.arange(200) % 100 != 0))  # a 1-point drop
    assert good.verdict == "pass" and good.interval.high < 0.05
    assert good.bound_confidence == 0.95 and good.interval.confidence == pytest.approx(0.90)
    rng = np.random.default_rng(1)
    unsure = judge(rng.random(20) < 0.7, rng.random((4, 20)) < 0.65)
    assert unsure.verdict == "inconclusive" and unsure.interval.low < 0.05 < unsure.interval.high


def test_a_perfect_small_suite_is_not_a_pass_at_a_tight_threshold():
    """0 changes in 20 items does not prove a drop under 5 points (rule of three: up to ~14)."""
    ref, para = np.ones(20), np.ones((1, 20))
    j = judge(ref, para, max_accuracy_drop=0.05, claim="instructions")
    assert j.verdict == "inconclusive" and j.interval.high > 0.05
    assert judge(np.ones(400), np.ones((1, 400)), max_accuracy_drop=0.05, claim="instructions").verdict == "pass"


def test_one_instruction_is_refused_for_the_phrasings_claim():
    with pytest.raises(pc.PromptcheckError, match="phrasings.*at least 2"):
        judge(np.ones(30, bool), np.ones((1, 30), bool), claim="phrasings")
    assert judge(np.ones(30, bool), np.ones((1, 30), bool), claim="instructions").claim == "instructions"


def test_relative_drop_removes_chance_and_refuses_a_reference_at_chance():
    rng = np.random.default_rng(3)
    ref = rng.random(300) < 0.9
    para = ref[None, :] & (rng.random((10, 300)) < 0.8)
    j = judge(ref, para, relative=True, chance=0.5, max_accuracy_drop=0.1)
    assert j.drop == pytest.approx((ref.mean() - para.mean()) / (ref.mean() - 0.5))
    assert j.interval.low < j.drop < j.interval.high and j.verdict == "fail"
    with pytest.raises(pc.PromptcheckError, match="clearly above chance"):
        judge(rng.random(40) < 0.5, rng.random((5, 40)) < 0.5, relative=True, chance=0.5)


def test_sequential_plan_spends_alpha_like_obrien_fleming_and_skips_tiny_looks():
    assert spending(0.05, 1.0) == 0.05 and spending(0.05, 0.25) < 1e-3 < spending(0.05, 0.5) < 0.05
    plan = look_plan(400, (0.25, 0.5, 1.0), 0.05)
    assert [lk.items for lk in plan] == [100, 200, 400]
    assert sum(lk.alpha for lk in plan) == pytest.approx(0.05)
    assert [lk.items for lk in look_plan(40, (0.25, 0.5, 1.0), 0.05)] == [40], "10 and 20 items are too few"


def test_holm_matches_the_step_down_definition():
    assert holm([0.01, 0.04, 0.03, 0.2]) == pytest.approx([0.04, 0.09, 0.09, 0.2])
    assert holm([]) == []


def test_power_figures_are_consistent():
    rng = np.random.default_rng(4)
    ref = rng.random(100) < 0.8
    para = ref[None, :] & (rng.random((12, 100)) < 0.93)
    j = judge(ref, para)
    assert j.minimum_detectable_drop > j.threshold
    bigger = judge(np.tile(ref, 4), np.tile(para, 4))
    assert bigger.minimum_detectable_drop < j.minimum_detectable_drop, "more items, finer gate"


def _result(correct: list[list[bool]], kinds: list[str]) -> TaskResult:
    n = len(correct[0])
    items = tuple(pc.MCItem(f"i{k}", f"q{k}", ("a", "b"), 0) for k in range(n))
    task = pc.Task(name="t", items=items, reference_instruction="ref")
    rows = tuple(
        InstructionResult(
            pc.Instruction("ref" if kind == "reference" else f"p{j}", kind),
            tuple(0 if c else 1 for c in row),
            tuple(row),
            tuple((-0.1, -2.0) if c else (-2.0, -0.1) for c in row),
        )
        for j, (row, kind) in enumerate(zip(correct, kinds))
    )
    return TaskResult(task=task, model=ModelIdentity(id="synthetic"), instructions=rows, prompts_scored=n * len(rows))


def test_assert_robust_fails_with_a_message_that_carries_the_evidence():
    rng = np.random.default_rng(0)
    u = rng.random(300)
    ref = list(u < 0.9)
    paras = [list(u < p) for p in (0.5, 0.55, 0.6, 0.45)]
    result = _result([ref] + paras, ["reference", "unobserved", "unobserved", "observed", "unobserved"])
    with pytest.raises(pc.RobustnessError) as info:
        pc.assert_robust(result, max_accuracy_drop=0.05)
    v = info.value.verdict
    assert isinstance(info.value, AssertionError)
    assert v.verdict == "fail" and v.claim == "phrasings" and v.interval.low > 0.05
    msg = str(info.value)
    for part in (
        "FAIL",
        "one-sided 95% bounds",
        "(90% two-sided)",
        "threshold 5.0",
        "worst instructions",
        "'p4'",
        "300 items x 3",
        "seed 0",
        "synthetic",
        "detects a true drop of",
    ):
        assert part in msg, part
    assert len(v.worst) == 3 and v.worst[0][0] == "p4"
    # The paper's columns: unobserved instructions are the verdict, observed ones their own set.
    assert {w[1] for w in v.worst} == {"unobserved"} and set(v.sets) == {"observed", "unobserved"}
    assert v.sets["observed"]["instructions"] == 1 and v.sets["observed"]["claim"] == "instructions"
    pooled = pc.assert_robust(result, max_accuracy_drop=0.6, kinds=["observed", "unobserved"])
    assert pooled.instructions == 4


def test_inconclusive_fails_by_default_and_passes_on_request():
    rng = np.random.default_rng(1)
    rows = [list(rng.random(20) < p) for p in (0.7, 0.65, 0.7)]  # unpaired noise, 20 items: cannot decide
    result = _result(rows, ["reference", "unobserved", "unobserved"])
    with pytest.raises(pc.RobustnessError, match="add items"):
        pc.assert_robust(result)
    assert pc.assert_robust(result, on_inconclusive="pass").verdict == "inconclusive"


def test_sequential_evaluation_stops_early_when_the_interval_decides(examples_dir):
    """A model whose answers collapse under any paraphrase: decided at the first look (30 of 120
    items), with that look's O'Brien-Fleming alpha; looks under 30 items are not taken."""

    from tiny_models import RuleModel

    collapsing = RuleModel("collapsing", lambda ctx: ctx.startswith("Classify the sentiment of the following review"))

    task = pc.load_task(examples_dir / "sentiment.yaml")
    negatives = [i for i in task.items if i.answer == 0]
    items = tuple(pc.MCItem(f"{i.id}-{k}", i.question, i.choices, i.answer) for k in range(6) for i in negatives)
    task = pc.Task(**{**task.__dict__, "items": items[:120]})
    with pytest.raises(pc.RobustnessError) as info:
        pc.assert_robust(collapsing, task, sequential=True, looks=(0.25, 0.5, 1.0))
    v = info.value.verdict
    assert v.verdict == "fail" and v.looks_used == 1 and v.looks_planned == 3 and v.items == 30
    assert v.prompts_scored == 30 * 7, "the reference and the 6 unobserved instructions: observed ones are not judged"
    assert v.judgment.bound_confidence > 0.999, "the first look spends almost none of the alpha"
    assert "1/3 looks" in str(info.value)


def test_the_gate_scores_only_the_instructions_its_verdict_compares(examples_dir):
    """A user's trial: 40 of 60 prompts were observed instructions the verdict never used."""
    from tiny_models import RuleModel

    counted: list[str] = []
    model = RuleModel("reads-all", lambda ctx: counted.append(ctx) is None)
    task = pc.load_task(examples_dir / "sentiment.yaml")  # 6 observed + 6 unobserved
    assert len(task.observed) == 6 and len(task.unobserved) == 6
    v = pc.assert_robust(model, task, max_accuracy_drop=0.5, on_inconclusive="pass")
    n = len(task.items)
    assert v.prompts_scored == len(counted) == n * 7
    assert set(v.sets) == {"unobserved"} and v.instructions == 6
    assert not any(o.split("\n\n")[0] in task.observed for o in counted)
    pooled = pc.assert_robust(
        model, task, max_accuracy_drop=0.5, on_inconclusive="pass", kinds=["observed", "unobserved"]
    )
    assert pooled.prompts_scored == n * 13 and set(pooled.sets) == {"observed", "unobserved"}
    only_observed = dataclasses.replace(task, unobserved=())  # nothing else to compare: observed are judged
    assert pc.assert_robust(model, only_observed, max_accuracy_drop=0.5, on_inconclusive="pass").prompts_scored == n * 7


def test_the_run_table_says_when_the_reference_is_not_above_guessing():
    """A user's 3-topic suite: reference 12/30, both sets "pass" and nothing said. Now the table says it."""
    from promptcheck.report.terminal import guessing_note

    def result(ref_right: int) -> TaskResult:
        items = tuple(pc.MCItem(f"i{k}", f"q{k}", ("a", "b", "c"), k % 3) for k in range(30))
        task = pc.Task(name="t", items=items, reference_instruction="ref")
        ref = [k < ref_right for k in range(30)]
        rows = tuple(
            InstructionResult(
                pc.Instruction(text, kind), tuple(0 for _ in ref), tuple(ref), tuple((-1.0,) * 3 for _ in ref)
            )
            for text, kind in (("ref", "reference"), ("p", "unobserved"))
        )
        return TaskResult(task=task, model=ModelIdentity(id="synthetic"), instructions=rows)

    def note_of(r: TaskResult) -> str | None:
        return guessing_note(r, task_statistics(r).guessing)

    note = note_of(result(12))
    assert note and note.startswith("reference 40.0% is not clearly above guessing 33.3%")
    assert note_of(result(24)) is None  # 80% against a third: clearly above


def test_guessing_counts_the_same_answer_by_what_the_model_sees():
    """Choice texts scored without a list: position means nothing. A suite whose right answer
    always comes first looked unbeatable (guessing 100%) and every run said the reference guessed."""
    from promptcheck.stats.sets import guessing_accuracy, task_guessing

    cities = [("Paris", "Rome"), ("Oslo", "Bern"), ("Lima", "Quito"), ("Cairo", "Accra")]
    items = tuple(pc.MCItem(f"i{k}", f"capital {k}?", pair, 0) for k, pair in enumerate(cities))
    task = pc.Task(name="t", items=items, reference_instruction="ref")  # texts, no list shown
    assert guessing_accuracy(items) == 1.0  # by position: "always the first"
    assert task_guessing(task) == 0.5  # by text: no answer repeats, so a uniform guess
    assert task_guessing(dataclasses.replace(task, format="letters")) == 1.0  # letters: position is what it sees
    yes_no = tuple(pc.MCItem(f"y{k}", f"q{k}", ("no", "yes"), int(k < 3)) for k in range(4))
    assert task_guessing(pc.Task(name="y", items=yes_no, reference_instruction="r")) == 0.75  # "yes" 3 of 4


def test_chance_and_guessing_are_named_and_explained_the_same_way_in_table_json_and_html():
    """An MMLU table said "chance 25.0%" in its header and "not clearly above guessing 40.0%" below,
    with no word on why the two differ. Now both are named in the header, the note says what guessing
    is, and the JSON and HTML carry the same two figures."""
    from rich.console import Console

    from promptcheck.report.html import render_report
    from promptcheck.report.jsonio import task_to_json
    from promptcheck.report.terminal import task_table

    answers = [1, 1, 1, 1, 0, 0, 2, 2, 3, 3]  # "B" 4 times in 10: always "B" scores 40%
    items = tuple(pc.MCItem(f"i{k}", f"q{k}", ("w", "x", "y", "z"), a) for k, a in enumerate(answers))
    task = pc.Task(name="mmlu", items=items, reference_instruction="ref", format="letters")
    ref = [k < 3 for k in range(10)]
    rows = tuple(
        InstructionResult(
            pc.Instruction(text, kind), tuple(0 for _ in ref), tuple(ref), tuple((-1.0,) * 4 for _ in ref)
        )
        for text, kind in (("ref", "reference"), ("p1", "unobserved"), ("p2", "unobserved"))
    )
    result = TaskResult(task=task, model=ModelIdentity(id="synthetic"), instructions=rows)
    console = Console(record=True, width=200)
    console.print(task_table(result, task_statistics(result)))
    text = " ".join(console.export_text().split())
    assert "chance 25.0%, guessing 40.0%" in text
    assert "not clearly above guessing 40.0% (the better of chance and giving the same answer every time" in text
    doc = task_to_json(result)
    assert doc["chance_accuracy"] == 0.25 and doc["guessing_accuracy"] == 0.4
    html = render_report({"schema_version": 2, "model": {"id": "synthetic"}, "seed": 0, "tasks": [doc]})
    assert "chance 25.0%, guessing 40.0%" in html


def test_a_gate_that_cannot_decide_says_so_in_every_table_and_message():
    """The gate's summary, its Markdown, the assertion message and the run table: "cannot decide" and
    what would, never "[-100.0, +100.0]" or a detectable drop above 100 points."""
    from rich.console import Console

    from promptcheck.gate.tables import markdown_summary, summary_table
    from promptcheck.report.terminal import task_table

    rng = np.random.default_rng(3)
    correct = [list(rng.random(30) < 0.7), list(rng.random(30) < 0.75), list(rng.random(30) < 0.4)]
    result = _result(correct, ["reference", "unobserved", "unobserved"])
    with pytest.raises(pc.RobustnessError) as info:
        pc.assert_robust(result)
    message = str(info.value)
    assert "cannot decide at this size" in message and "would detect a true drop of 10.0 points" in message
    assert "+100.0" not in message and "-100.0" not in message
    record = {**info.value.verdict.to_json(), "test": "test_gate"}
    summary = " ".join(summary_table([record]).split())
    assert "[cannot decide]" in summary and "+100.0" not in summary
    assert "| cannot decide at this size |" in markdown_summary([record], seed=0)
    console = Console(record=True, width=200)
    console.print(task_table(result, task_statistics(result)))
    run_table = " ".join(console.export_text().split())
    assert "cannot decide" in run_table and "unobserved: cannot decide at this size;" in run_table


def test_a_gate_with_nothing_to_compare_says_so_before_scoring(examples_dir):
    from tiny_models import RuleModel

    counted: list[str] = []
    model = RuleModel("reads-all", lambda ctx: counted.append(ctx) is None)
    bare = dataclasses.replace(pc.load_task(examples_dir / "sentiment.yaml"), observed=(), unobserved=())
    with pytest.raises(pc.InputError, match="no instructions to compare with the reference: give the suite") as info:
        pc.assert_robust(model, bare)
    assert info.value.field == "instructions" and not counted, "refused before any prompt was scored"


def test_a_result_passed_as_the_task_is_refused_in_one_line(examples_dir):
    """A user wrote assert_robust(model, evaluate(model, task)) and got a TypeError from inside."""
    from tiny_models import RuleModel

    model = RuleModel("any", lambda ctx: True)
    task = pc.load_task(examples_dir / "sentiment.yaml")
    result = pc.evaluate(model, task)
    with pytest.raises(pc.InputError, match=r"judge it as it is with assert_robust\(result\)"):
        pc.assert_robust(model, result)
    with pytest.raises(pc.InputError, match="must be a Task"):
        pc.assert_robust(model, "sentiment.yaml")
    assert pc.assert_robust(result, max_accuracy_drop=0.5, on_inconclusive="pass").task == "sentiment"
