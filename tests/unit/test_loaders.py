"""Suite and items loaders: formats, defaults, stable ids, and errors that name file, line and field."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

import promptcheck as pc
from promptcheck.errors import InputError


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


ROWS = [
    {"question": "2+2?", "choices": ["3", "4"], "answer": 1},
    {"id": "q2", "question": "Sky colour?", "choices": ["blue", "green", "red"], "answer": "A"},
]


def test_minimal_suite_gets_documented_defaults(tmp_path):
    jsonl(tmp_path / "i.jsonl", ROWS)
    write(
        tmp_path / "s.yaml",
        """
        name: t
        items: i.jsonl
        reference_instruction: Answer the question.
    """,
    )
    task = pc.load_task(tmp_path / "s.yaml")
    assert (task.name, task.format, task.kind, task.length_norm, task.show_choices) == (
        "t",
        "texts",
        "mcqa",
        "none",
        False,
    )
    assert task.observed == () and task.unobserved == ()
    assert [i.answer for i in task.items] == [1, 0]
    assert task.items[1].id == "q2"
    assert [i.kind for i in task.instructions()] == ["reference"]


def test_items_without_id_keep_their_id_when_the_file_is_edited(tmp_path):
    jsonl(tmp_path / "a.jsonl", ROWS)
    jsonl(tmp_path / "b.jsonl", [{"question": "new?", "choices": ["x", "y"], "answer": 0}] + ROWS[::-1])
    a = {i.question: i.id for i in pc.load_task(tmp_path / "a.jsonl").items}
    b = {i.question: i.id for i in pc.load_task(tmp_path / "b.jsonl").items}
    assert a["2+2?"] == b["2+2?"] and len(a["2+2?"]) == 12


def test_example_suites_load_with_their_instruction_sets(examples_dir):
    for name in ("capitals", "sentiment", "yesno"):
        task = pc.load_task(examples_dir / f"{name}.yaml")
        assert len(task.items) >= 30
        assert len(task.observed) >= 5 and len(task.unobserved) >= 5
        kinds = [i.kind for i in task.instructions()]
        assert kinds[0] == "reference" and kinds.count("reference") == 1


def test_bare_instruction_list_counts_as_unobserved(tmp_path):
    jsonl(tmp_path / "i.jsonl", ROWS)
    write(
        tmp_path / "s.yaml",
        """
        name: t
        items: i.jsonl
        reference_instruction: Answer.
        instructions: ["Reply.", "Respond."]
    """,
    )
    assert pc.load_task(tmp_path / "s.yaml").unobserved == ("Reply.", "Respond.")


def test_inline_items_in_the_suite(tmp_path):
    write(
        tmp_path / "s.yaml",
        """
        name: t
        reference_instruction: Answer.
        items:
          - {question: "1+1?", choices: ["2", "3"], answer: 0}
          - {question: "1+2?", choices: ["2", "3"], answer: B}
    """,
    )
    assert [i.answer for i in pc.load_task(tmp_path / "s.yaml").items] == [0, 1]


def test_mmlu_csv_with_and_without_header(tmp_path):
    (tmp_path / "h.csv").write_text('question,A,B,C,D,answer\n"What, is 1+1?",1,2,3,4,B\n')
    (tmp_path / "n.csv").write_text('"What, is 1+1?",1,2,3,4,B\nSky?,blue,red,green,black,A\n')
    h = pc.load_task(tmp_path / "h.csv")
    n = pc.load_task(tmp_path / "n.csv")
    assert h.format == "letters" and len(h.items) == 1 and h.items[0].choices == ("1", "2", "3", "4")
    assert h.items[0].answer == 1 and h.items[0].id == n.items[0].id
    assert len(n.items) == 2


def test_bigbench_json_uses_target_scores_and_task_prefix(tmp_path):
    data = {
        "name": "bb",
        "task_prefix": "Pick the right one.",
        "examples": [
            {"input": "1+1", "target_scores": {"2": 1, "3": 0}},
            {"input": "2+2", "target_scores": {"5": 0, "4": 1, "3": 0}},
        ],
    }
    (tmp_path / "t.json").write_text(json.dumps(data, indent=2))
    task = pc.load_task(tmp_path / "t.json")
    assert task.name == "bb" and task.reference_instruction == "Pick the right one."
    assert [i.answer for i in task.items] == [0, 1]


@pytest.mark.parametrize(
    ("suite", "items", "where"),
    [
        ("name: t\nitems: i.jsonl\n", None, "s.yaml:1: reference_instruction: missing required key"),
        ("name: t\nitems: i.jsonl\nreference_instruction: A\nrefrence: B\n", None, "s.yaml:4: refrence: unknown key"),
        (
            "name: t\nitems: i.jsonl\nreference_instruction: A\nformat: letter\n",
            None,
            "s.yaml:4: format: must be one of",
        ),
        ("name: t\nitems: i.jsonl\nreference_instruction: ''\n", None, "s.yaml:3: reference_instruction: is empty"),
        (
            "name: t\nitems: i.jsonl\nreference_instruction: A\ninstructions:\n  observed: [A]\n",
            None,
            "instructions.observed[0]: duplicate instruction",
        ),
        (
            "name: t\nitems: i.jsonl\nreference_instruction: A\ninstructions:\n  seen: [B]\n",
            None,
            "s.yaml:5: instructions.seen: unknown instruction set",
        ),
        ("name: t\nitems: [oops\n", None, "s.yaml:3: invalid YAML"),
        ("name: t\nitems: missing.jsonl\nreference_instruction: A\n", None, "s.yaml:2: items: items file not found:"),
        ("name: t\nitems: ../x.jsonl\nreference_instruction: A\n", None, "s.yaml:2: items: path '../x.jsonl' leaves"),
        (
            "name: t\nitems: i.jsonl\nreference_instruction: A\n",
            '{"question": "q", "choices": ["a", "b"], "answer": 2}\n',
            "i.jsonl:1: answer: index 2 is out of range",
        ),
        (
            "name: t\nitems: i.jsonl\nreference_instruction: A\n",
            '{"question": "q", "choices": ["a", "b"], "answer": 0}\n{"question": "q", "choices": ["a", "b"], "answer": "C"}\n',
            "i.jsonl:2: answer: letter 'C' is not among",
        ),
        (
            "name: t\nitems: i.jsonl\nreference_instruction: A\n",
            '{"question": "q", "choices": ["a", "a"], "answer": 0}\n',
            "i.jsonl:1: choices[1]: duplicate choice",
        ),
        (
            "name: t\nitems: i.jsonl\nreference_instruction: A\n",
            '{"question": "q", "choices": ["a", ""], "answer": 0}\n',
            "i.jsonl:1: choices[1]: is empty",
        ),
        (
            "name: t\nitems: i.jsonl\nreference_instruction: A\n",
            '\n{"question": "q", "choices": ["a", "b"]\n',
            "i.jsonl:2: invalid JSON",
        ),
        (
            "name: t\nitems: i.jsonl\nreference_instruction: A\n",
            '{"choices": ["a", "b"], "answer": 0}\n',
            "i.jsonl:1: question: missing",
        ),
        ("name: t\nitems: i.jsonl\nreference_instruction: A\n", "\n\n", "s.yaml:2: items: the suite has no items"),
    ],
)
def test_bad_input_names_file_line_and_field(tmp_path, suite, items, where):
    (tmp_path / "sub").mkdir()
    write(tmp_path / "sub" / "s.yaml", suite)
    if items is not None:
        (tmp_path / "sub" / "i.jsonl").write_text(items)
    with pytest.raises(InputError) as info:
        pc.load_task(tmp_path / "sub" / "s.yaml")
    message = str(info.value)
    assert where in message
    assert "\n" not in message


def test_bigbench_error_names_the_example_line(tmp_path):
    text = '{\n  "examples": [\n    {"input": "a", "target_scores": {"x": 1, "y": 0}},\n    {"input": "b", "target_scores": {"x": 0, "y": 0}}\n  ]\n}\n'
    (tmp_path / "t.json").write_text(text)
    with pytest.raises(
        InputError, match=r"t\.json:4: examples\[1\]\.target_scores: needs a choice with a positive score"
    ):
        pc.load_task(tmp_path / "t.json")


def test_outside_paths_allowed_on_request(tmp_path):
    jsonl(tmp_path / "i.jsonl", ROWS)
    (tmp_path / "sub").mkdir()
    write(tmp_path / "sub" / "s.yaml", "name: t\nitems: ../i.jsonl\nreference_instruction: A\n")
    assert len(pc.load_task(tmp_path / "sub" / "s.yaml", allow_outside=True).items) == 2


def test_mmlu_csv_ragged_row_names_its_line(tmp_path):
    (tmp_path / "r.csv").write_text("q1,a,b,c,d,A\nq2,a,b,c,B\n")
    with pytest.raises(InputError, match=r"r\.csv:2: has 5 columns where the file has 6"):
        pc.load_task(tmp_path / "r.csv")


def test_items_file_options_are_validated_like_a_suite(tmp_path):
    jsonl(tmp_path / "i.jsonl", ROWS)
    with pytest.raises(InputError, match=r"unobserved\[1\]: is empty"):
        pc.load_task(tmp_path / "i.jsonl", unobserved=["Reply.", " "])
    with pytest.raises(InputError, match="duplicate instruction"):
        pc.load_task(tmp_path / "i.jsonl", reference_instruction="Answer.", observed=["Answer."])
    with pytest.raises(InputError, match="reference_instruction: is empty"):
        pc.load_task(tmp_path / "i.jsonl", reference_instruction="")
    assert pc.load_task(tmp_path / "i.jsonl", observed=["Reply."]).observed == ("Reply.",)


def test_an_instruction_can_come_after_the_input(tmp_path, tiny_causal_dir):
    """``{input}`` marks where the item goes; a suite with such an instruction loads, renders and scores."""
    from promptcheck.paraphrase.generate import paraphrases
    from promptcheck.prompts.rendering import render

    jsonl(tmp_path / "i.jsonl", ROWS)
    write(
        tmp_path / "s.yaml",
        """
        name: t
        items: i.jsonl
        format: letters
        reference_instruction: Answer the question.
        instructions:
          unobserved:
          - "{input}\\n\\nWhich option answers the question above?"
          - Pick the right option.
    """,
    )
    task = pc.load_task(tmp_path / "s.yaml")
    after, before = task.unobserved
    item = task.items[0]
    text = render(after, item, task).context
    assert text.startswith("2+2?\nA. 3\nB. 4\n\nWhich option answers the question above?") and "{input}" not in text
    assert render(before, item, task).context.startswith("Pick the right option.\n\n2+2?")
    # Generated paraphrases of it keep the slot exactly once.
    assert all(p.text.count("{input}") == 1 for p in paraphrases(after, n=8, seed=1))
    result = pc.evaluate(pc.load_model(str(tiny_causal_dir)), task)
    assert [r.instruction.text for r in result.instructions][1] == after
    assert all(len(r.predictions) == len(task.items) for r in result.instructions)
    # An instruction that is only the slot is refused in one line, naming the field.
    write(tmp_path / "bad.yaml", "name: t\nitems: i.jsonl\nreference_instruction: '{input}'\n")
    with pytest.raises(InputError, match=r"bad.yaml:3: reference_instruction: is only \{input\}"):
        pc.load_task(tmp_path / "bad.yaml")
