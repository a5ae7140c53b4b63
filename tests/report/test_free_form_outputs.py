"""Free-form tasks in the outputs beyond the run table and run JSON: the HTML report (run and gate
documents), the gate's terminal summary, Markdown and JUnit properties.

Each shows every instruction's misformatted and unparsed rates, splits the drop into its form part
and its content part with their bounds, and names the instructions that break only the form. A
model built in code writes the answers, so every outcome is known: terse under the reference
(correct), a sentence under "Name" (misformatted), blanks under "Which" (unparsed) and a script
tag under "Tell" (wrong). Multiple-choice documents render as they did before free-form tasks.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import re
import shutil
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import EXAMPLES
from report_fixtures import PNG_SIGNATURE, SCRIPT, data_pngs
from tiny_models import WriterModel

import promptcheck as pc
from promptcheck.evaluation.results import RunResult
from promptcheck.gate.tables import form_note, markdown_summary, summary_table
from promptcheck.models.base import ModelIdentity
from promptcheck.report.documents import stamp
from promptcheck.report.html import render_report
from promptcheck.report.jsonio import run_to_json

pytest_plugins = ["pytester"]

CAPITALS = {"France": "Paris", "Japan": "Tokyo", "Italy": "Rome", "Spain": "Madrid", "Peru": "Lima", "Chad": "Ndjamena"}
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def write(context: str) -> str:
    """Correct under the reference, misformatted under "Name", unparsed under "Which", wrong under "Tell"."""
    city = next(city for country, city in CAPITALS.items() if country in context)
    if context.startswith("Name"):
        return f"The capital is {city}."
    if context.startswith("Which"):
        return "   "
    if context.startswith("Tell"):
        return "<script>alert(1)</script>"
    return city


SUITE = (
    "name: capitals-free\n"
    'reference_instruction: "What is the capital of this country? Answer with the city name only."\n'
    "instructions:\n  unobserved:\n"
    '    - "Name the capital city of this country."\n'
    '    - "Which city is the capital of this country?"\n'
    '    - "Tell me the capital of this country."\n'
    "items:\n" + "".join(f'  - {{question: "{c}", targets: ["{t}"]}}\n' for c, t in CAPITALS.items())
)


def _task(folder: Path) -> pc.Task:
    (folder / "free.yaml").write_text(SUITE, encoding="utf-8")
    return pc.load_task(folder / "free.yaml")


@pytest.fixture(scope="module")
def free_result(tmp_path_factory):
    return pc.evaluate(WriterModel(write), _task(tmp_path_factory.mktemp("free")))


def _by_word(instructions: list[dict]) -> dict[str, dict]:
    return {i["text"].split()[0]: i for i in instructions}


def _row(html: str, section: str, text: str) -> str:
    """The table row of instruction ``text`` in the table after heading ``section``."""
    table = html.split(section, 1)[1].split("</table>", 1)[0]
    return next(r for r in table.split("<tr>") if text in r)


def _cells(row: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]


def _pts(x: float) -> str:
    return f"{100 * x:+.1f}"


def _split_rows(html: str) -> dict[str, list[str]]:
    table = html.split("form and content of the drop", 1)[1].split("</table>", 1)[0]
    rows = [_cells(r) for r in table.split("<tr>")[2:]]
    return {r[0]: r[1:] for r in rows}


# -- HTML: a run document --------------------------------------------------------------------------
def test_html_of_a_free_form_run_shows_rates_the_split_and_escaped_answers(free_result):
    doc = run_to_json(RunResult((free_result,), ModelIdentity(id="writer"), seed=3), timestamp=False)
    (task,) = doc["tasks"]
    html = render_report(doc)

    # each instruction's accuracy, misformatted and unparsed rates, from the file, and who breaks only the form
    words = _by_word(task["instructions"])
    for word, ins in words.items():
        for section in ("Worst instructions", "All 4 instructions"):
            if section == "Worst instructions" and ins["kind"] == "reference":
                continue
            row = _row(html, section, ins["text"])
            cells = _cells(row)
            assert cells[4:7] == [
                f"{ins['accuracy']:.3f}",
                f"{ins['misformatted_rate']:.3f}",
                f"{ins['unparsed_rate']:.3f}",
            ], (section, word, cells)
            assert ("breaks only the form" in row) is (word in ("Name", "Which")), (section, word)
    assert (words["Name"]["misformatted_rate"], words["Which"]["unparsed_rate"]) == (1.0, 1.0)
    assert "2 instructions break only the answer's form" in html

    # the split of the drop, each part with its bounds, as the file holds them
    parts = task["robustness"]["drop_parts"]
    split = _split_rows(html)
    for part, label in (("form", "form (misformatted or unparsed)"), ("content", "content (wrong answers)")):
        lo, hi = parts[part]["interval"]
        assert split[label] == [_pts(parts[part]["drop"]), f"[{_pts(lo)}, {_pts(hi)}]"]
    assert split["form (misformatted or unparsed)"][0] == "+66.7"

    # example items: target, each instruction's output, the answer read and the outcome; model text escaped
    examples = html.split("<h3>Example items</h3>", 1)[1].split("</table>", 1)[0]
    assert examples.count("<tr>") == 1 + 3 * 4  # header, then 3 items x 4 instructions
    assert "The capital is " in examples and "(nothing read)" in examples and "(blank)" in examples
    for outcome in ("correct", "misformatted", "unparsed", "wrong"):
        assert f'class="outcome o-{outcome}">{outcome}<' in examples
    assert ESCAPED in examples
    assert SCRIPT not in html and "<script" not in html.lower()

    # the accuracy and drop plots, and the answers per instruction
    pngs = data_pngs(html)
    assert len(pngs) == 3 and all(p.startswith(PNG_SIGNATURE) and len(p) > 2000 for p in pngs)


def test_the_split_is_read_from_the_file_not_worked_out(free_result):
    doc = run_to_json(RunResult((free_result,), ModelIdentity(id="writer")), timestamp=False)
    doc["tasks"][0]["robustness"]["drop_parts"] = {
        "form": {"drop": 0.4242, "interval": [0.1111, 0.7373], "bound_confidence": 0.9},
        "content": {"drop": -0.0202, "interval": [-0.3131, 0.2526], "bound_confidence": 0.9},
    }
    doc["tasks"][0]["instructions"][3]["misformatted_rate"] = 0.8766
    html = render_report(doc)
    split = _split_rows(html)
    assert split == {
        "form (misformatted or unparsed)": ["+42.4", "[+11.1, +73.7]"],
        "content (wrong answers)": ["-2.0", "[-31.3, +25.3]"],
    }
    assert "one-sided 90.0% bounds" in html and "0.877" in html


# -- HTML: a gate document ---------------------------------------------------------------------------
def _gate_doc(record: dict) -> dict:
    return stamp("pytest", {"seed": 0, "model_option": "writer", "adapter_option": None, "tests": [record]})


def test_html_of_a_gate_record_without_form_flags_shows_rates_and_split_and_claims_nothing_more(free_result):
    """A record as ``assert_robust`` makes it (the plugin adds the form-only flags): rates and the split
    are shown; which instructions break only the form is not said, since the record does not say."""
    verdict = pc.assert_robust(free_result, on_inconclusive="pass", max_accuracy_drop=0.9)
    record = {**verdict.to_json(), "test": "t.py::test_free"}
    html = render_report(_gate_doc(record))
    row = _cells(_row(html, "All 4 instructions", "Name the capital"))
    assert row[4:7] == ["0.000", "1.000", "0.000"]
    assert _split_rows(html)["content (wrong answers)"][0] == _pts(record["drop_parts"]["content"]["drop"])
    assert "breaks only the form" not in html and "No instruction breaks only" not in html
    # the record keeps outcomes, not outputs: the example items show each instruction's outcome
    examples = html.split("<h3>Example items</h3>", 1)[1].split("</table>", 1)[0]
    assert examples.count("<tr>") == 1 + 3 and examples.count('class="outcome o-wrong"') == 3


# -- multiple-choice documents render as before ----------------------------------------------------
def _mc_result():
    """A rule model on 16 sentiment items: choice 0 whenever the instruction's first line mentions a review."""
    from tiny_models import RuleModel

    task = pc.load_task(EXAMPLES / "sentiment.yaml")
    task = replace(task, items=task.items[:16])
    return pc.evaluate(RuleModel("rule", lambda ctx: "review" in ctx.split("\n")[0].lower()), task)


def _skeleton(html: str) -> str:
    """The page with its plots, numbers and verdict words masked: what the templates put around them."""
    html = html.replace(str(EXAMPLES.parents[1]), "ROOT")  # the checkout's path: CI clones elsewhere
    html = re.sub(r"base64,[^\"]+", "base64,PNG", html)
    html = re.sub(r"\b(pass|fail|inconclusive)\b", "VERDICT", html)
    return re.sub(r"\d+", "#", html)


#: sha256 of the skeletons of the two multiple-choice pages below, as rendered by the report before
#: free-form tasks reached it (commit 9457a8f's html.py and templates). A change here is a change
#: to every multiple-choice report: make it on purpose, then record the new digests.
MC_RUN_SKELETON = "b0877611b4a9447eb3af854c1b566111957bd1a08d355d5b6807f7bea89c7605"
MC_GATE_SKELETON = "b8aa566c55b28049f1c5bd27d8c34d8f40b1ffc3af0773cfab1f63bc3bbe41c0"


def test_multiple_choice_pages_are_unchanged():
    result = _mc_result()
    run = run_to_json(RunResult((result,), result.model, seed=4), timestamp=False)
    verdict = pc.assert_robust(result, on_inconclusive="pass", seed=4)
    gate = _gate_doc({**verdict.to_json(), "test": "t.py::test_sentiment"})
    for doc, digest in ((run, MC_RUN_SKELETON), (gate, MC_GATE_SKELETON)):
        html = render_report(doc)
        for free in ("misformatted", "unparsed", "form only", "Example items", "outcome", "Free-form", "formonly"):
            assert free not in html, free
        assert len(data_pngs(html)) == 2  # accuracy and drop, no answers plot
        assert hashlib.sha256(_skeleton(html).encode()).hexdigest() == digest


def test_multiple_choice_gate_summaries_have_no_free_form_line():
    result = _mc_result()
    mc = {**pc.assert_robust(result, on_inconclusive="pass").to_json(), "test": "t.py::test_mc"}
    assert form_note(mc) is None and "free-form" not in summary_table([mc]) + markdown_summary([mc], seed=0)


# -- the plugin: terminal summary, Markdown, JUnit, JSON and HTML of a free-form gate -----------------
CONFTEST = (
    "import pytest\n"
    "from promptcheck.models.base import ChoiceScores, Generation, ModelIdentity\n\n"
    f"CAPITALS = {CAPITALS!r}\n\n\n"
    + inspect.getsource(WriterModel)
    + "\n\n"
    + inspect.getsource(write)
    + '''

class Rule:
    """A multiple-choice scorer: the right choice on even items, a wrong one on odd items under paraphrases."""

    def __init__(self, task):
        self.identity = ModelIdentity(id="rule")
        self.task = task

    def chat_formatter(self):
        return None

    def score(self, prompts, *, progress=None):
        out = []
        for p in prompts:
            n, item = next((n, it) for n, it in enumerate(self.task.items) if it.question.strip() in p.context)
            right = p.context.startswith(self.task.reference_instruction) or n % 2 == 0
            best = item.answer if right else (item.answer + 1) % len(item.choices)
            k = len(p.continuations)
            out.append(ChoiceScores(tuple(-0.1 if i == best else -2.0 for i in range(k)), (1,) * k, (1,) * k))
        return out


@pytest.fixture(scope="session")
def promptcheck_model():
    return WriterModel(write)
'''
)

GATES = """
import promptcheck as pc
from conftest import Rule


def test_free(promptcheck_model, promptcheck_suite):
    pc.assert_robust(promptcheck_model, promptcheck_suite("free.yaml"), on_inconclusive="pass", max_accuracy_drop=0.9)


def test_choices(promptcheck_suite):
    task = promptcheck_suite("suites/sentiment.yaml")
    task = pc.Task(**{**task.__dict__, "items": task.items[:12]})
    pc.assert_robust(Rule(task), task, on_inconclusive="pass", max_accuracy_drop=0.9)
"""


def test_the_gate_names_the_form_part_in_every_output(pytester):
    shutil.copytree(EXAMPLES, pytester.path / "suites")
    (pytester.path / "free.yaml").write_text(SUITE, encoding="utf-8")
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_gates=GATES)
    result = pytester.runpytest(
        "--promptcheck-json=gate.json",
        "--promptcheck-html=gate.html",
        "--promptcheck-markdown=pr.md",
        "--junitxml=out.xml",
        "-W",
        "error",
    )
    result.assert_outcomes(passed=2)
    doc = json.loads((pytester.path / "gate.json").read_text())
    free, choices = doc["tests"]
    assert "drop_parts" in free and "drop_parts" not in choices

    # the JSON record: each evidence instruction flagged as the run file's instructions are
    flags = {i["text"].split()[0]: i["form_only"] for i in free["evidence"]["instructions"]}
    assert flags == {"What": False, "Name": True, "Which": True, "Tell": False}
    assert all("form_only" not in i for i in choices["evidence"]["instructions"])

    # the terminal summary: one line under the free-form gate's test id, none for the other
    form, content = free["drop_parts"]["form"], free["drop_parts"]["content"]
    line = (
        f"free-form answers: of the drop, form (misformatted or unparsed) {_pts(form['drop'])} "
        f"[{_pts(form['interval'][0])}, {_pts(form['interval'][1])}], content (wrong) {_pts(content['drop'])} "
        f"[{_pts(content['interval'][0])}, {_pts(content['interval'][1])}] points; "
        "2 of 3 instructions break only the answer's form"
    )
    out = result.stdout.str()
    assert out.count("free-form answers:") == 1
    result.stdout.fnmatch_lines(["[[]1] test_gates.py::test_free", f"    {line}", "[[]2] test_gates.py::test_choices"])
    assert "+66.7" in line and "+33.3" in line

    # Markdown: the same line under the table, and each worst instruction's rates
    md = (pytester.path / "pr.md").read_text()
    assert f"\n\n**capitals-free** (`test_gates.py::test_free`) {line}\n" in md and md.count("free-form") == 1
    assert "'Name the capital city of this country.' (misformatted 100.0%, unparsed 0.0%; breaks only the form)" in md
    assert "'Tell me the capital of this country.' (misformatted 0.0%, unparsed 0.0%)" in md

    # JUnit: the two parts as properties of the free-form test case only
    cases = {c.get("name"): c for c in ET.parse(pytester.path / "out.xml").iter("testcase")}
    props = {p.get("name"): p.get("value") for p in cases["test_free"].iter("property")}
    for part in ("form", "content"):
        got = json.loads(props[f"promptcheck.drop_{part}"])
        assert got == {"drop": free["drop_parts"][part]["drop"], "interval": free["drop_parts"][part]["interval"]}
    assert not [p for p in cases["test_choices"].iter("property") if "drop_form" in (p.get("name") or "")]

    # the HTML report of the gate: rates, the split, the form-only marks, outcomes; the script escaped
    html = (pytester.path / "gate.html").read_text()
    assert _cells(_row(html, "All 4 instructions", "Which city"))[4:7] == ["0.000", "0.000", "1.000"]
    assert _split_rows(html)["form (misformatted or unparsed)"] == [
        _pts(form["drop"]),
        f"[{_pts(form['interval'][0])}, {_pts(form['interval'][1])}]",
    ]
    assert "2 instructions break only the answer's form" in html
    assert html.count('<span class="formonly">breaks only the form</span>') == 4  # worst + all instructions
    assert html.count("form and content of the drop") == 1  # the multiple-choice gate has none
