"""MMLU-style CSV files: a header row's columns are read by name; headerless files by position.

Issue 27: a ``question,A,B,C,D`` file (no answer column) used to load with D's values taken as the
answers and only three choices, a silently wrong number. Each test here names the file, the line
and the column the user has to fix.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from promptcheck.errors import InputError
from promptcheck.tasks.items import load_items, load_mmlu_csv

NO_ANSWER = (
    "question,A,B,C,D\n"  # four choices and no answer column; D's values are 0-2
    "What is 1+1?,1,2,3,0\n"
    "What is 2+2?,4,5,6,2\n"
    "What is 3+3?,6,7,8,1\n"
)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8", newline="")
    return path


def error_of(path: Path) -> str:
    """The one-line message the loader gives for ``path`` (read from the folder it is in)."""
    with pytest.raises(InputError) as info:
        load_mmlu_csv(path)
    message = str(info.value)
    assert "\n" not in message
    return message


@pytest.fixture
def here(tmp_path, monkeypatch) -> Path:
    """Work in a fresh folder so messages name files as a user wrote them (``i.csv``, not a full path)."""
    monkeypatch.chdir(tmp_path)
    return Path()


def test_a_header_without_an_answer_column_is_refused_not_read_with_d_as_answers(here):
    message = error_of(write(here, "no_answer.csv", NO_ANSWER))
    assert message == (
        "no_answer.csv:1: the header has no answer column; its columns are question, A, B, C, D; "
        "name the answer column one of answer, answer_index, answer_key, answerkey, label, target"
    )


def test_a_header_without_a_question_column_is_refused(here):
    message = error_of(write(here, "i.csv", "A,B,C,D,answer\nx,y,z,w,A\n"))
    assert message == (
        "i.csv:1: the header has no question column; its columns are A, B, C, D, answer; "
        "name the question column one of question, input, prompt, query"
    )


@pytest.mark.parametrize(
    "text",
    [
        "answer,question,B,A,C,D\nB,Capital of France?,Paris,Rome,Oslo,Lima\nD,Capital of Peru?,Oslo,Rome,Paris,Lima\n",
        "Question,Answer,A,B,C,D\nCapital of France?,B,Rome,Paris,Oslo,Lima\nCapital of Peru?,D,Rome,Oslo,Paris,Lima\n",
        "id,subject,D,C,B,A,question,label\n"
        "fr,geo,Lima,Oslo,Paris,Rome,Capital of France?,Paris\n"
        "pe,geo,Lima,Paris,Oslo,Rome,Capital of Peru?,3\n",
    ],
    ids=["answer-first", "question-answer-first", "reversed-choices-with-id"],
)
def test_columns_are_read_by_name_in_any_order(here, text):
    items = load_mmlu_csv(write(here, "i.csv", text))
    france, peru = items
    assert france.question == "Capital of France?" and france.choices[france.answer] == "Paris"
    assert peru.question == "Capital of Peru?" and peru.choices[peru.answer] == "Lima"
    assert len(france.choices) == 4 and len(peru.choices) == 4


def test_choices_keep_letter_order_whatever_the_column_order(here):
    (item,) = load_mmlu_csv(write(here, "i.csv", "answer,question,B,A,C,D\nB,q,bee,ay,sea,dee\n"))
    assert item.choices == ("ay", "bee", "sea", "dee") and item.answer == 1


@pytest.mark.parametrize(
    "header",
    [
        "question,a,b,c,d,answer",
        "QUESTION,A,B,C,D,ANSWER",
        " Question , A ,B , C,D , Answer ",
        "Prompt,Choice A,Choice B,Choice C,Choice D,Answer Key",
        "query,option_a,option-b,OPTION C,Option_D,target",
        "input,opa,opb,opc,opd,label",
    ],
)
def test_header_names_are_case_insensitive_and_stripped(here, header):
    (item,) = load_mmlu_csv(write(here, "i.csv", header + "\nq,w,x,y,z,C\n"))
    assert item.choices == ("w", "x", "y", "z") and item.answer == 2


def test_an_id_column_gives_the_item_ids_and_metadata_columns_are_ignored(here):
    items = load_mmlu_csv(
        write(here, "i.csv", "ID,Subject,Category,question,A,B,answer\nq-1,astro,sci,Sun?,star,planet,A\n")
    )
    assert [(i.id, i.question, i.choices, i.answer) for i in items] == [("q-1", "Sun?", ("star", "planet"), 0)]


def test_an_empty_choice_cell_names_its_row_and_column(here):
    text = "question,A,B,C,D,answer\nq1,a,b,c,d,A\nq2,a, ,c,d,A\n"
    assert error_of(write(here, "i.csv", text)) == "i.csv:3: B: is empty"


def test_choice_errors_name_the_column_as_the_file_names_it(here):
    text = "Question,Option_A,Option_B,Answer\nq,same,same,A\n"
    assert error_of(write(here, "i.csv", text)) == "i.csv:2: Option_B: duplicate choice 'same'"


@pytest.mark.parametrize(
    ("answer_column", "answer", "expected"),
    [
        ("answer", "E", "i.csv:2: answer: letter 'E' is not among the 4 choices (A-D)"),
        ("Label", "E", "i.csv:2: Label: letter 'E' is not among the 4 choices (A-D)"),
        ("Target", "7", "i.csv:2: Target: index 7 is out of range for 4 choices (0..3)"),
        ("answer", "Lyon", "i.csv:2: answer: 'Lyon' is neither a choice index, a letter, nor the text of a choice"),
    ],
)
def test_an_answer_naming_no_choice_names_the_answer_column(here, answer_column, answer, expected):
    text = f"question,A,B,C,D,{answer_column}\nCapital of France?,Paris,Rome,Oslo,Lima,{answer}\n"
    assert error_of(write(here, "i.csv", text)) == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("question,A,B,B,answer", "i.csv:1: B: duplicate column name (also column 3)"),
        ("question,A,b,B,answer", "i.csv:1: B: duplicate column name (also column 3)"),
        ("question,A,B,option_b,answer", "i.csv:1: option_b: gives choice B, as column 3 ('B') does; keep one"),
        ("question,prompt,A,B,answer", "i.csv:1: prompt: gives the question, as column 1 ('question') does; keep one"),
        ("question,A,B,answer,label", "i.csv:1: label: gives the answer, as column 4 ('answer') does; keep one"),
    ],
)
def test_duplicate_columns_are_refused(here, header, expected):
    assert error_of(write(here, "i.csv", header + "\n")) == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("question,A,B,D,answer", "i.csv:1: D: choice columns skip C; name them A, B, C, ... with no letter missing"),
        (
            "question,A,answer",
            "i.csv:1: the header has 1 choice column(s); its columns are question, A, answer; "
            "at least 2 are needed, named A, B, C, ... (or choice_a, option_a, opa, ...)",
        ),
        (
            "question,subject,choices,answer",
            "i.csv:1: choices: one column holding every choice is not read; give each choice its own column",
        ),
        (
            "question,choice1,choice2,answer",
            "i.csv:1: choice1: numbered choice columns are not read (a digit answer may count from 0 or from 1)",
        ),
        ("question,A,B,answer,notes", "i.csv:1: notes: unknown column; accepted names are question: question, input"),
        (",question,A,B,answer", "i.csv:1: column 1 has no name; a header row names every column"),
    ],
)
def test_header_problems_are_one_line_at_line_1(here, header, expected):
    message = error_of(write(here, "i.csv", header + "\nq,a,b,c,d\n"))
    assert message.startswith(expected), message


def test_a_header_error_is_reported_before_any_row_is_read(here):
    # The rows are broken too (ragged, empty): the header's own problem is what the user sees.
    assert error_of(write(here, "i.csv", NO_ANSWER + "q,,\n")).startswith("i.csv:1: the header has no answer column")


def test_line_numbers_count_quoted_multi_line_cells_in_a_headed_file(here):
    text = 'question,A,B,answer\n"two\nlines",a,b,A\n"three\nmore\nlines",a,b,Z\n'
    assert error_of(write(here, "i.csv", text)) == "i.csv:4: answer: letter 'Z' is not among the 2 choices (A-B)"


def test_headerless_mmlu_file_keeps_question_choices_answer_last(here):
    """The original MMLU files (hendrycks/test): no header, ``question,A,B,C,D,answer-letter``."""
    text = (
        "Which is a noun?,run,label,answer,target,B\n"  # choices that are column names: a row, not a header
        '"A ""quoted""\nquestion",A,B,C,D,A\n'
        '"Find the degree for the given field extension Q(sqrt(2)) over Q.",0,2,1,3,B\n'
    )
    items = load_mmlu_csv(write(here, "i.csv", text))
    assert [(i.choices, i.answer) for i in items] == [
        (("run", "label", "answer", "target"), 1),
        (("A", "B", "C", "D"), 0),
        (("0", "2", "1", "3"), 1),
    ]
    assert [i.source for i in items] == ["i.csv:1", "i.csv:2", "i.csv:4"]


def test_a_first_row_of_letters_is_an_item_not_a_header(here):
    (item,) = load_mmlu_csv(write(here, "i.csv", "Which letter is a vowel?,B,C,D,E,3\n"))
    assert item.question == "Which letter is a vowel?" and item.choices == ("B", "C", "D", "E") and item.answer == 3


def test_headerless_errors_are_unchanged(here):
    assert (
        error_of(write(here, "i.csv", "q,a,b,c,d,E\n"))
        == "i.csv:1: answer: letter 'E' is not among the 4 choices (A-D)"
    )
    assert error_of(write(here, "r.csv", "q1,a,b,c,d,A\nq2,a,b,c,B\n")) == "r.csv:2: has 5 columns where the file has 6"


def test_a_headed_file_with_a_short_row_is_refused(here):
    text = "question,A,B,C,answer\nq1,a,b,c,A\nq2,a,b,B\n"
    assert error_of(write(here, "i.csv", text)) == "i.csv:3: has 4 columns where the file has 5"


def test_load_items_reads_csv_headers_by_name_too(here):
    items = load_items(write(here, "i.csv", "answer,question,A,B\nB,q,a,b\n"))
    assert [(i.choices, i.answer) for i in items] == [(("a", "b"), 1)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (NO_ANSWER, "no_answer.csv:1: the header has no answer column; its columns are question, A, B, C, D"),
        ("question,A,B,C,D,answer\nq1,a,,c,d,A\n", "no_answer.csv:2: B: is empty"),
        ("question,A,B,C,D,Label\nq1,a,b,c,d,E\n", "no_answer.csv:2: Label: letter 'E' is not among the 4 choices"),
        ("question,A,B,A,answer\n", "no_answer.csv:1: A: duplicate column name (also column 2)"),
    ],
    ids=["no-answer-column", "empty-choice", "answer-names-no-choice", "duplicate-column"],
)
def test_cli_run_on_a_bad_csv_exits_2_with_one_line_before_loading_a_model(here, monkeypatch, text, expected):
    import promptcheck.pipeline as suites
    from promptcheck.cli.main import app

    def no_model(*args: object, **kwargs: object) -> None:
        raise AssertionError("the model was loaded before the items file was checked")

    monkeypatch.setattr(suites, "open_model", no_model)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    write(here, "no_answer.csv", text)
    result = CliRunner().invoke(app, ["run", "no_answer.csv"])
    assert result.exit_code == 2, (result.stdout, result.stderr, result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("promptcheck: error: " + expected), lines[0]
    assert result.stdout.strip() == ""


HEADER_WORDS = ["question", "Answer", "label", "A", "b", "C", "option_d", "opa", "id", "subject", "choices", "x", ""]


@settings(max_examples=80, derandomize=True, deadline=None, database=None)
@given(
    header=st.lists(st.sampled_from(HEADER_WORDS), min_size=1, max_size=7),
    rows=st.lists(
        st.lists(st.sampled_from(["", " ", "A", "e", "0", "9", "Paris", "question"]), max_size=7), max_size=3
    ),
)
def test_any_header_gives_items_or_one_line_error(tmp_path_factory, header, rows):
    """Whatever the header names (known, unknown, repeated, missing), only promptcheck's one-line error comes out."""
    out = io.StringIO()
    csv.writer(out).writerows([header, *rows])
    path = write(tmp_path_factory.mktemp("fuzz"), "i.csv", out.getvalue())
    try:
        load_mmlu_csv(path)
    except InputError as exc:
        assert "\n" not in str(exc) and str(exc).startswith(str(path))


def test_an_excel_sheet_whose_rows_end_in_a_comma_loads(tmp_path):
    """A user's sheet saved by Excel: every row ends in "," (an empty seventh column), refused as
    "column 7 has no name ... pandas writes its index as an unnamed first column"."""
    path = tmp_path / "excel.csv"
    path.write_text("question,A,B,C,D,answer,\nWhat is 1+1?,1,2,3,4,B,\nWhat is 2+2?,2,3,4,5,C,\n")
    items = load_items(path)
    assert [(i.choices, i.answer) for i in items] == [(("1", "2", "3", "4"), 1), (("2", "3", "4", "5"), 2)]
    headless = tmp_path / "plain.csv"
    headless.write_text("What is 1+1?,1,2,3,4,B,\nWhat is 2+2?,2,3,4,5,C,\n")
    assert [i.answer for i in load_items(headless)] == [1, 2]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("stem,A,B,C,D\nWhat is 1+1?,1,2,3,4\n", "stem.csv:1: stem: unknown column"),
        ("A,B,C,D,question,Correct\n1,2,3,4,What is 1+1?,B\n", "stem.csv:1: Correct: unknown column"),
    ],
    ids=["unknown-question-name", "unknown-answer-name"],
)
def test_a_header_with_unknown_names_is_refused_at_them_not_read_as_an_item(tmp_path, text, expected):
    """'stem,A,B,C,D' was read as an item and said "answer: letter 'D' is not among the 3 choices"."""
    path = tmp_path / "stem.csv"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        load_items(path)
    assert str(info.value).startswith(f"{path.parent / expected}") or expected in str(info.value), str(info.value)


def test_a_semicolon_separated_file_is_refused_naming_its_separator(tmp_path):
    path = tmp_path / "semi.csv"
    path.write_text("What is 1+1?;1;2;3;4;B\n")
    with pytest.raises(InputError, match="looks separated by ';': promptcheck reads comma-separated CSV"):
        load_items(path)
