"""Every row of docs/reliability.md: a bad input, written as a user would, gets one line and exit 2.

Each case writes its files into a fresh folder, runs the command there (in-process through
typer, so it is fast) and checks stderr is exactly one ``promptcheck: error: ...`` line that
contains the documented message, with nothing on stdout and no traceback.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from typer.testing import CliRunner

from promptcheck.cli.main import app

ITEM = {"question": "Capital of France?", "choices": ["Paris", "Rome"], "answer": 0}
SUITE = "name: t\nitems: i.jsonl\nreference_instruction: Answer the question.\n"


def jl(*rows: dict) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


def item(**changes) -> dict:
    return {**ITEM, **changes}


@dataclass
class Case:
    """Files to write (str, bytes, or None for a folder), the argv, and the expected message part."""

    files: dict[str, str | bytes | None]
    args: list[str]
    expected: str
    links: dict[str, str] = field(default_factory=dict)  # name -> symlink target


def suite_case(suite: str, expected: str, items: str | bytes | None = jl(ITEM), name: str = "i.jsonl") -> Case:
    return Case({"s.yaml": suite, name: items}, ["run", "s.yaml"], expected)


def items_case(items: str | bytes, expected: str, name: str = "i.jsonl") -> Case:
    return Case({"s.yaml": SUITE.replace("i.jsonl", name), name: items}, ["run", "s.yaml"], expected)


LAUGHS = "description:\n" + "".join(
    f"  - &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]\n" if i else '  - &l0 ["lol"]\n' for i in range(9)
)

CASES: dict[str, Case] = {
    # -- suite YAML -------------------------------------------------------------------------------
    "yaml-syntax": suite_case("name: t\nitems: [oops\n", "s.yaml:3: invalid YAML: "),
    "yaml-tab-indent": suite_case(
        SUITE + "instructions:\n\tobserved: [Reply.]\n",
        "s.yaml:5: invalid YAML: found character '\\t' that cannot start any token",
    ),
    "yaml-empty-file": suite_case("", "s.yaml: is empty; a suite needs name, items and reference_instruction"),
    "yaml-not-a-mapping": suite_case(
        "- name: t\n", "s.yaml:1: a suite file must be a YAML mapping (key: value lines), got a list"
    ),
    "yaml-missing-key": suite_case(
        "name: t\nitems: i.jsonl\n", "s.yaml:1: reference_instruction: missing required key"
    ),
    "yaml-unknown-key": suite_case(
        SUITE + "refrence_instruction: x\n", "s.yaml:4: refrence_instruction: unknown key; expected one of name, items"
    ),
    "yaml-duplicate-key": suite_case(SUITE + "name: u\n", "s.yaml:4: name: duplicate key"),
    # 9 levels of 9 aliases: 9**9 strings if expanded. Aliases are shared, never copied, so this
    # is refused in milliseconds.
    "yaml-billion-laughs": suite_case(
        SUITE + LAUGHS + "instructions:\n  unobserved: *l8\n",
        "s.yaml:12: instructions.unobserved[0]: must be a string, got a list",
    ),
    "yaml-python-tag": suite_case(
        "name: !!python/object/apply:os.system ['echo pwned']\nitems: i.jsonl\nreference_instruction: A\n",
        "s.yaml:1: invalid YAML: could not determine a constructor for the tag 'tag:yaml.org,2002:python/object/apply:os.system'",
    ),
    "yaml-recursive-alias": suite_case(
        SUITE + "instructions: &x\n  observed: *x\n", "s.yaml:4: invalid YAML: found unconstructable recursive node"
    ),
    "yaml-two-documents": suite_case(
        SUITE + "---\n" + SUITE,
        "s.yaml:4: invalid YAML: expected a single document in the stream but found another document",
    ),
    "yaml-deep-nesting": suite_case(
        SUITE + "description: " + "[" * 5000 + "]" * 5000 + "\n", "s.yaml: invalid YAML: nested too deeply"
    ),
    "yaml-unquoted-yes-choice": suite_case(
        "name: t\nreference_instruction: A\nitems:\n  - {question: Is it raining, choices: [yes, no], answer: 0}\n",
        's.yaml:4: items[0].choices[0]: must be a string, got a boolean (unquoted yes/no/true/false/on/off are booleans in YAML: write "yes")',
    ),
    "yaml-name-not-string": suite_case(
        "name: 2024-01-01\nitems: i.jsonl\nreference_instruction: A\n",
        "s.yaml:1: name: must be a string, got a date (an unquoted date is a date in YAML: quote it)",
    ),
    "yaml-empty-instruction": suite_case(
        "name: t\nitems: i.jsonl\nreference_instruction: '  '\n", "s.yaml:3: reference_instruction: is empty"
    ),
    "yaml-empty-instruction-in-list": suite_case(
        SUITE + "instructions:\n  unobserved: ['']\n", "s.yaml:5: instructions.unobserved[0]: is empty"
    ),
    "yaml-duplicate-instruction": suite_case(
        SUITE + "instructions:\n  observed: [Reply.]\n  unobserved: ['Reply. ']\n",
        "s.yaml:6: instructions.unobserved[0]: duplicate instruction (same text as instructions.observed[0])",
    ),
    "yaml-bad-format": suite_case(
        SUITE + "format: Letters\n", "s.yaml:4: format: must be one of letters, texts, got 'Letters'"
    ),
    "yaml-show-choices-string": suite_case(
        SUITE + "show_choices: 'yes'\n", "s.yaml:4: show_choices: must be true or false"
    ),
    "yaml-no-items": suite_case(
        "name: t\nitems: []\nreference_instruction: A\n", "s.yaml:2: items: the suite has no items"
    ),
    "yaml-binary-file": suite_case(b"\x00\xff\xfe" * 40, "s.yaml:1: not valid UTF-8 text"),
    "yaml-utf16-file": suite_case(SUITE.encode("utf-16"), "s.yaml:1: not valid UTF-8 text"),
    "yaml-is-a-directory": Case({"s.yaml": None}, ["run", "s.yaml"], "s.yaml: is a directory, expected a file"),
    "suite-file-missing": Case({}, ["run", "nothing.yaml"], "nothing.yaml: file not found"),
    "suite-unknown-type": Case(
        {"s.txt": SUITE},
        ["run", "s.txt"],
        "s.txt: unknown file type '.txt'; expected a suite (.yaml, .yml) or an items file",
    ),
    # -- paths named by a suite -------------------------------------------------------------------
    "items-file-missing": suite_case(
        SUITE.replace("i.jsonl", "gone.jsonl"), "s.yaml:2: items: items file not found: gone.jsonl"
    ),
    "items-is-a-directory": Case(
        {"s.yaml": SUITE, "i.jsonl": None}, ["run", "s.yaml"], "i.jsonl: is a directory, expected a file"
    ),
    "items-is-the-suite": suite_case(
        SUITE.replace("i.jsonl", "s.yaml"), "s.yaml:2: items: names the suite file itself"
    ),
    "items-unknown-type": suite_case(
        SUITE.replace("i.jsonl", "i.txt"),
        "s.yaml:2: items: unknown items file type '.txt'; expected one of .jsonl, .csv, .json",
    ),
    "items-path-escapes-with-dotdot": suite_case(
        SUITE.replace("i.jsonl", "../i.jsonl"),
        "s.yaml:2: items: path '../i.jsonl' leaves the suite's folder; pass allow_outside=True (--allow-outside-paths) to permit it",
    ),
    "items-path-absolute": suite_case(
        SUITE.replace("i.jsonl", "/etc/passwd.jsonl"),
        "s.yaml:2: items: path '/etc/passwd.jsonl' leaves the suite's folder",
    ),
    "items-path-home": suite_case(
        SUITE.replace("i.jsonl", "~/i.jsonl"), "s.yaml:2: items: path '~/i.jsonl' leaves the suite's folder"
    ),
    "items-symlink-escapes": Case(
        {"s.yaml": SUITE.replace("i.jsonl", "link.jsonl")},
        ["run", "s.yaml"],
        "s.yaml:2: items: path 'link.jsonl' leaves the suite's folder",
        links={"link.jsonl": "../outside.jsonl"},
    ),
    "items-symlink-loop": Case(
        {"s.yaml": SUITE.replace("i.jsonl", "loop.jsonl")},
        ["run", "s.yaml"],
        "s.yaml:2: items: cannot resolve path 'loop.jsonl'",
        links={"loop.jsonl": "loop.jsonl"},
    ),
    "items-path-with-nul": suite_case(
        'name: t\nitems: "i\\0.jsonl"\nreference_instruction: A\n', "s.yaml:2: items: path contains a NUL character"
    ),
    "items-fifo": Case(
        {"s.yaml": SUITE}, ["run", "s.yaml"], "i.jsonl: is not a regular file"
    ),  # the FIFO is made in the test
    "items-unreadable": Case(
        {"s.yaml": SUITE, "i.jsonl": jl(ITEM)}, ["run", "s.yaml"], "i.jsonl: cannot read file: Permission denied"
    ),
    # -- JSONL items ------------------------------------------------------------------------------
    "jsonl-invalid-json": items_case(
        jl(ITEM) + '{"question": "q", "choices": ["a", "b"]\n',
        "i.jsonl:2: invalid JSON: Expecting ',' delimiter (column 40)",
    ),
    "jsonl-line-not-object": items_case("[1, 2]\n", "i.jsonl:1: each line must be a JSON object, got a list"),
    "jsonl-missing-question": items_case(jl({"choices": ["a", "b"], "answer": 0}), "i.jsonl:1: question: missing"),
    "jsonl-missing-choices": items_case(jl({"question": "q", "answer": 0}), "i.jsonl:1: choices: missing"),
    "jsonl-missing-answer": items_case(jl({"question": "q", "choices": ["a", "b"]}), "i.jsonl:1: answer: missing"),
    "jsonl-answer-index-out-of-range": items_case(
        jl(item(answer=2)), "i.jsonl:1: answer: index 2 is out of range for 2 choices (0..1)"
    ),
    "jsonl-answer-negative": items_case(
        jl(item(answer=-1)), "i.jsonl:1: answer: index -1 is out of range for 2 choices (0..1)"
    ),
    "jsonl-answer-huge-number": items_case(
        jl(item(answer=10**400)), "i.jsonl:1: answer: index 1000000000000000000000000000000000000... is out of range"
    ),
    "jsonl-answer-letter-not-among-choices": items_case(
        jl(item(answer="C")), "i.jsonl:1: answer: letter 'C' is not among the 2 choices (A-B)"
    ),
    "jsonl-answer-boolean": items_case(
        jl(item(answer=True)), "i.jsonl:1: answer: must be a choice index (0..1), a letter or a choice's text, got true"
    ),
    "jsonl-answer-fractional-float": items_case(
        jl(item(answer=0.5)),
        "i.jsonl:1: answer: must be a choice index (0..1), a letter or a choice's text, got a number",
    ),
    "jsonl-answer-list-all-correct": items_case(
        jl(item(answer=[0, "B"])), "i.jsonl:1: answer: marks all 2 choices correct; the item cannot be got wrong"
    ),
    "jsonl-answer-list-empty": items_case(
        jl(item(answer=[])), "i.jsonl:1: answer: is an empty list; give at least one correct choice"
    ),
    "jsonl-answer-list-repeated": items_case(
        jl(item(choices=["a", "b", "c"], answer=[1, "b"])), "i.jsonl:1: answer[1]: names choice 1 ('b') again"
    ),
    "jsonl-answer-list-nested": items_case(
        jl(item(answer=[[0]])),
        "i.jsonl:1: answer[0]: must be a choice index (0..1), a letter or a choice's text, got a list",
    ),
    "jsonl-answer-not-a-choice": items_case(
        jl(item(answer="Lyon")),
        "i.jsonl:1: answer: 'Lyon' is neither a choice index, a letter, nor the text of a choice",
    ),
    "jsonl-answer-ambiguous-letter": items_case(
        jl(item(choices=["b", "a"], answer="a")),
        "i.jsonl:1: answer: 'a' is ambiguous: as a letter or index it is choice 0, but choice 1 has that text",
    ),
    "jsonl-answer-ambiguous-digit": items_case(
        jl(item(choices=["1", "2"], answer="1")),
        "i.jsonl:1: answer: '1' is ambiguous: as a letter or index it is choice 1, but choice 0 has that text",
    ),
    "jsonl-empty-choice": items_case(jl(item(choices=["Paris", " "])), "i.jsonl:1: choices[1]: is empty"),
    "jsonl-duplicate-choice": items_case(
        jl(item(choices=["Paris", "Paris "])), "i.jsonl:1: choices[1]: duplicate choice 'Paris '"
    ),
    "jsonl-one-choice": items_case(jl(item(choices=["Paris"])), "i.jsonl:1: choices: needs at least 2 choices, got 1"),
    "jsonl-too-many-choices": items_case(
        jl(item(choices=[f"c{i}" for i in range(27)])), "i.jsonl:1: choices: at most 26 choices are supported, got 27"
    ),
    "jsonl-nested-choice": items_case(
        jl(item(choices=[["Paris"], "Rome"])), "i.jsonl:1: choices[0]: must be a string, got a list"
    ),
    "jsonl-choices-not-list": items_case(
        jl(item(choices="Paris,Rome")), "i.jsonl:1: choices: must be a list of strings, got a string"
    ),
    "jsonl-empty-question": items_case(jl(item(question="\t")), "i.jsonl:1: question: is empty"),
    "jsonl-duplicate-id": items_case(
        jl(item(id="q1"), item(id="q1", question="Capital of Italy?")),
        "i.jsonl:2: id: duplicate item id 'q1' (first at i.jsonl:1)",
    ),
    "jsonl-same-question-twice": items_case(
        jl(ITEM, item(answer=1)), "i.jsonl:2: id: the same question and choices as the item at i.jsonl:1"
    ),
    "jsonl-duplicate-key": items_case(
        '{"question": "a", "question": "b", "choices": ["x", "y"], "answer": 0}\n',
        "i.jsonl:1: invalid JSON: duplicate key 'question'",
    ),
    "jsonl-nan": items_case(
        '{"question": "q", "choices": ["x", "y"], "answer": NaN}\n', "i.jsonl:1: invalid JSON: NaN is not valid JSON"
    ),
    "jsonl-5000-digit-number": items_case(
        '{"question": "q", "choices": ["x", "y"], "answer": ' + "9" * 5000 + "}\n",
        "i.jsonl:1: invalid JSON: Exceeds the limit (4300 digits) for integer string conversion",
    ),
    "jsonl-deep-nesting": items_case(
        '{"question": ' + "[" * 100000 + "]" * 100000 + "}\n", "i.jsonl:1: invalid JSON: nested too deeply"
    ),
    "jsonl-unpaired-surrogate": items_case(
        '{"question": "\\ud800", "choices": ["x", "y"], "answer": 0}\n',
        "i.jsonl:1: question: contains an unpaired surrogate",
    ),
    "jsonl-empty-file": items_case("", "s.yaml:2: items: the suite has no items"),
    "jsonl-not-utf8": items_case(jl(ITEM).encode() + b'{"question": "caf\xe9"}\n', "i.jsonl:2: not valid UTF-8 text"),
    "jsonl-binary": items_case(bytes(range(128, 256)), "i.jsonl:1: not valid UTF-8 text"),
    # -- MMLU CSV ---------------------------------------------------------------------------------
    "csv-too-few-columns": items_case(
        "What?,Paris,A\n", "i.csv:1: expected columns question, A, B, ..., answer; got 3 column(s)", "i.csv"
    ),
    "csv-ragged-row": items_case("q1,a,b,c,d,A\nq2,a,b,A\n", "i.csv:2: has 4 columns where the file has 6", "i.csv"),
    "csv-answer-letter-not-among-choices": items_case(
        "q,a,b,c,d,E\n", "i.csv:1: answer: letter 'E' is not among the 4 choices (A-D)", "i.csv"
    ),
    "csv-answer-float-text": items_case(
        "q,a,b,c,d,1.0\n",
        "i.csv:1: answer: '1.0' is neither a choice index, a letter, nor the text of a choice",
        "i.csv",
    ),
    "csv-semicolon-separated": items_case(
        "q;a;b;c;d;A\n", "i.csv:1: expected columns question, A, B, ..., answer; got 1 column(s)", "i.csv"
    ),
    "csv-huge-field": items_case(
        "q," + "x" * 200_000 + ",b,c,d,A\n", "i.csv: invalid CSV: field larger than field limit (131072)", "i.csv"
    ),
    "csv-header-only": items_case("question,A,B,C,D,answer\n", "s.yaml:2: items: the suite has no items", "i.csv"),
    "csv-quoted-newline-keeps-line": items_case(
        '"two\nlines",a,b,c,d,A\nq2,a,b,c,d,Z\n', "i.csv:3: answer: letter 'Z' is not among", "i.csv"
    ),
    # -- BIG-bench JSON ---------------------------------------------------------------------------
    "bigbench-not-object": items_case("[]", "i.json:1: a BIG-bench task file must be a JSON object", "i.json"),
    "bigbench-no-examples": items_case('{"examples": []}', "i.json: examples: has no examples", "i.json"),
    "bigbench-tied-scores": items_case(
        '{"examples": [\n{"input": "x", "target_scores": {"a": 1, "b": 1}}]}',
        "i.json:2: examples[0].target_scores: all 2 choices share the top score",
        "i.json",
    ),
    "bigbench-no-positive-score": items_case(
        '{"examples": [\n{"input": "x", "target_scores": {"a": 0, "b": 0, "c": 0}}]}',
        "i.json:2: examples[0].target_scores: needs a choice with a positive score",
        "i.json",
    ),
    "bigbench-score-not-number": items_case(
        '{"examples": [{"input": "x", "target_scores": {"a": "1", "b": 0}}]}',
        "i.json:1: examples[0].target_scores: score of 'a' must be a finite number",
        "i.json",
    ),
    "bigbench-duplicate-choice-key": items_case(
        '{"examples": [{"input": "x", "target_scores": {"a": 1, "a": 0, "b": 0.5}}]}',
        "i.json: invalid JSON: duplicate key 'a'",
        "i.json",
    ),
    "bigbench-missing-input": items_case(
        '{"examples": [{"target_scores": {"a": 1, "b": 0}}]}', "i.json:1: examples[0].question: missing", "i.json"
    ),
    # -- run options ------------------------------------------------------------------------------
    "run-two-tasks-same-name": Case(
        {"s.yaml": SUITE, "s2.yaml": SUITE, "i.jsonl": jl(ITEM)},
        ["run", "s.yaml", "s2.yaml"],
        "s2.yaml: name: task name 't' is also the name of the task in s.yaml; names must be unique in one run",
    ),
    "run-json-overwrites-input": Case(
        {"s.yaml": SUITE, "i.jsonl": jl(ITEM)},
        ["run", "s.yaml", "--json", "s.yaml"],
        "s.yaml: --json: is one of this run's input files; writing results there would overwrite it",
    ),
    "run-json-is-directory": Case(
        {"s.yaml": SUITE, "i.jsonl": jl(ITEM), "out": None},
        ["run", "s.yaml", "--json", "out"],
        "out: --json: is a directory; give a file name such as results.json",
    ),
    "run-bad-dtype": Case(
        {"s.yaml": SUITE, "i.jsonl": jl(ITEM)},
        ["run", "s.yaml", "--model", "{tiny}", "--dtype", "int3"],
        "dtype: must be one of float32, bfloat16, float16, auto, got 'int3'",
    ),
    "run-bad-device": Case(
        {"s.yaml": SUITE, "i.jsonl": jl(ITEM)},
        ["run", "s.yaml", "--model", "{tiny}", "--device", "gpu"],
        "device: must be cpu, cuda, cuda:N, mps or auto, got 'gpu'",
    ),
    # -- models -----------------------------------------------------------------------------------
    "model-path-missing": Case(
        {"s.yaml": SUITE, "i.jsonl": jl(ITEM)},
        ["run", "s.yaml", "--model", "./no/such/model"],
        "no/such/model: model: no such file or folder",
    ),
    "model-folder-not-a-model": Case(
        {"s.yaml": SUITE, "i.jsonl": jl(ITEM), "m": None},
        ["run", "s.yaml", "--model", "m"],
        "m: model: not a model folder (no config.json)",
    ),
    "model-file-not-a-model": Case(
        {"s.yaml": SUITE, "i.jsonl": jl(ITEM)},
        ["run", "s.yaml", "--model", "s.yaml"],
        "s.yaml: model: not a model folder or .gguf file",
    ),
    "model-gguf-not-gguf": Case(
        {"s.yaml": SUITE, "i.jsonl": jl(ITEM), "m.gguf": "hello"},
        ["run", "s.yaml", "--model", "m.gguf"],
        "m.gguf: model: not a usable model: ",
    ),
    "model-config-invalid": Case(
        {"s.yaml": SUITE, "i.jsonl": jl(ITEM)},
        ["run", "s.yaml", "--model", "{variant:bad-config}"],
        "model: config.json is not valid JSON",
    ),
    "model-no-weights": Case(
        {"s.yaml": SUITE, "i.jsonl": jl(ITEM)},
        ["run", "s.yaml", "--model", "{variant:no-weights}"],
        "model: has no weights (no *.safetensors file)",
    ),
    "model-corrupt-weights": Case(
        {"s.yaml": SUITE, "i.jsonl": jl(ITEM)},
        ["run", "s.yaml", "--model", "{variant:truncated}"],
        "model: not a usable model: Error while deserializing header",
    ),
    "model-no-tokenizer": Case(
        {"s.yaml": SUITE, "i.jsonl": jl(ITEM)},
        ["run", "s.yaml", "--model", "{variant:no-tokenizer}"],
        "model: has no tokenizer",
    ),
    "model-remote-code-refused": Case(
        {"s.yaml": SUITE, "i.jsonl": jl(ITEM)},
        ["run", "s.yaml", "--model", "{variant:remote-code}"],
        "model: needs its own Python code to load (evil.py); pass --trust-remote-code only if you have read that code",
    ),
    "model-pickle-only-refused": Case(
        {"s.yaml": SUITE, "i.jsonl": jl(ITEM)},
        ["run", "s.yaml", "--model", "{variant:pickle-only}"],
        "model: has only pickle weights (pytorch_model.bin), which can run code when loaded; convert them to safetensors, or pass --allow-pickle",
    ),
    "adapter-missing": Case(
        {"s.yaml": SUITE, "i.jsonl": jl(ITEM)},
        ["run", "s.yaml", "--model", "{tiny}", "--adapter", "nope"],
        "nope: adapter: no such folder",
    ),
    "adapter-not-peft": Case(
        {"s.yaml": SUITE, "i.jsonl": jl(ITEM), "a/adapter_config.json": "{}"},
        ["run", "s.yaml", "--model", "{tiny}", "--adapter", "a"],
        "a: adapter: adapter_config.json has no peft_type",
    ),
    # -- alias config files -----------------------------------------------------------------------
    "config-invalid-toml": Case(
        {"pyproject.toml": "[project]\nname = 'x'\n[tool.promptcheck.aliases\n"},
        ["models"],
        "pyproject.toml:3: invalid TOML: Expected ']' at the end of a table declaration",
    ),
    "config-tool-not-a-table": Case(
        {"pyproject.toml": 'tool = "x"\n'}, ["models"], "pyproject.toml: tool: must be a table"
    ),
    "config-alias-bad-value": Case(
        {"promptcheck.toml": "[aliases]\nmine = 5\n"},
        ["models"],
        "promptcheck.toml: aliases.mine: must be a model id/path or a table with 'model'",
    ),
    "config-alias-bad-revision": Case(
        {"promptcheck.toml": '[aliases]\nmine = {model = "x", revision = 3}\n'},
        ["models"],
        "promptcheck.toml: aliases.mine.revision: must be a branch, tag or commit (a string)",
    ),
    "config-alias-redefines-default": Case(
        {"promptcheck.toml": '[aliases]\ndefault = "x"\n'},
        ["models"],
        "promptcheck.toml: aliases.default: 'default' is the packaged model and cannot be redefined",
    ),
    "config-alias-loop": Case(
        {"promptcheck.toml": '[aliases]\na = "b"\nb = "a"\n', "s.yaml": SUITE, "i.jsonl": jl(ITEM)},
        ["run", "s.yaml", "--model", "a"],
        "promptcheck.toml: aliases: aliases form a loop: a -> b -> a",
    ),
    # -- other commands ---------------------------------------------------------------------------
    "paraphrase-empty-instruction": Case({}, ["paraphrase", "  "], "reference: the reference instruction is empty"),
    "paraphrase-similarity-out-of-range": Case(
        {},
        ["paraphrase", "Answer.", "--min-similarity", "2"],
        "min_similarity: must be a cosine similarity between -1 and 1, got 2.0",
    ),
    "fix-no-observed-instructions": Case(
        {"s.yaml": SUITE + "instructions:\n  unobserved: [Reply.]\n", "i.jsonl": jl(ITEM)},
        ["fix", "s.yaml", "--phrasings", "observed"],
        "s.yaml: instructions.observed: has no observed instructions to train on",
    ),
    "fix-from-missing-file": Case(
        {}, ["fix", "--from", "failures.json"], "failures.json: file not found (run the pytest gate first"
    ),
    "fix-from-invalid-json": Case(
        {"failures.json": "{"}, ["fix", "--from", "failures.json"], "failures.json:1: invalid JSON"
    ),
    "fix-from-wrong-shape": Case(
        {"failures.json": '{"tasks": [1]}'},
        ["fix", "--from", "failures.json"],
        "failures.json: tasks[0].source: missing the task's suite or items file",
    ),
}


def _make(case: Case, root: Path) -> None:
    for name, content in case.files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        if content is None:
            p.mkdir()
        elif isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(content, encoding="utf-8")
    for name, target in case.links.items():
        os.symlink(target, root / name)


@pytest.fixture(scope="module")
def model_variants(tmp_path_factory, tiny_causal_dir) -> dict[str, Path]:
    """Broken copies of the tiny model folder: what users point --model at by mistake."""
    import shutil

    import torch
    from safetensors.torch import load_file

    root = tmp_path_factory.mktemp("variants")
    out = {}
    for name in ("bad-config", "no-weights", "truncated", "no-tokenizer", "remote-code", "pickle-only"):
        out[name] = shutil.copytree(tiny_causal_dir, root / name)
    (out["bad-config"] / "config.json").write_text("{not json")
    (out["no-weights"] / "model.safetensors").unlink()
    weights = out["truncated"] / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    for f in out["no-tokenizer"].glob("tokenizer*"):
        f.unlink()
    config = json.loads((out["remote-code"] / "config.json").read_text())
    config["auto_map"] = {"AutoModelForCausalLM": "evil.EvilModel"}
    (out["remote-code"] / "config.json").write_text(json.dumps(config))
    (out["remote-code"] / "evil.py").write_text(f"open({str(root / 'PWNED')!r}, 'w').write('ran')\n")
    torch.save(load_file(out["pickle-only"] / "model.safetensors"), out["pickle-only"] / "pytorch_model.bin")
    (out["pickle-only"] / "model.safetensors").unlink()
    out["root"] = root
    return out


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_gets_one_line_and_exit_2(name, tmp_path, monkeypatch, tiny_causal_dir, model_variants):
    case = CASES[name]
    work = tmp_path / "work"
    work.mkdir()
    (tmp_path / "outside.jsonl").write_text(jl(ITEM))
    (tmp_path / "i.jsonl").write_text(jl(ITEM))
    _make(case, work)
    if name == "items-fifo":
        os.mkfifo(work / "i.jsonl")
    if name == "items-unreadable":
        real = Path.read_bytes

        def deny(self: Path) -> bytes:
            if self.name == "i.jsonl":
                raise PermissionError(13, "Permission denied")
            return real(self)

        monkeypatch.setattr(Path, "read_bytes", deny)  # chmod 000 does not stop root (CI containers)
    monkeypatch.chdir(work)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    args = [a.replace("{tiny}", str(tiny_causal_dir)) for a in case.args]
    args = [str(model_variants[a[9:-1]]) if a.startswith("{variant:") else a for a in args]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, (result.stdout, result.stderr, result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("promptcheck: error: "), lines[0]
    assert case.expected in lines[0], lines[0]
    assert result.stdout.strip() == "" or name.startswith("fix-"), result.stdout
    assert not (model_variants["root"] / "PWNED").exists(), "a model's own code ran without --trust-remote-code"


def test_option_errors_are_one_line_from_the_installed_command(tmp_path):
    """Through ``python -m promptcheck`` (console-script path): typer's usage box becomes one line."""
    import subprocess
    import sys

    for argv, expected in [
        (["run", "x.yaml", "--batch-size", "0"], "promptcheck: error: run: Invalid value for '--batch-size'"),
        (["run", "x.yaml", "--seed", "99999999999999999999"], "promptcheck: error: run: Invalid value for '--seed'"),
        (["frobnicate"], "promptcheck: error: No such command 'frobnicate'."),
    ]:
        proc = subprocess.run(
            [sys.executable, "-m", "promptcheck", *argv], capture_output=True, text=True, cwd=tmp_path, timeout=120
        )
        assert proc.returncode == 2
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(expected), proc.stderr


ACCEPTED: dict[str, tuple[str, str, list[int]]] = {
    # name: (file name, content, the answers it must parse to)
    "utf8-bom": ("i.jsonl", "\ufeff" + jl(ITEM), [0]),
    "crlf-line-ends": ("i.jsonl", jl(ITEM, item(question="Capital of Italy?", answer=1)).replace("\n", "\r\n"), [0, 1]),
    "cr-only-line-ends": (
        "i.jsonl",
        jl(ITEM, item(question="Capital of Italy?", answer=1)).replace("\n", "\r"),
        [0, 1],
    ),
    "raw-u2028-inside-a-string": ("i.jsonl", jl(item(question="a\u2028b")).replace("\\u2028", "\u2028"), [0]),
    "tabs-between-tokens": (
        "i.jsonl",
        jl(ITEM).replace(" ", "\t").replace("Capital\tof\tFrance?", "Capital of France?"),
        [0],
    ),
    "answer-as-float-1.0": ("i.jsonl", jl(item(answer=1.0)), [1]),
    "answer-as-lowercase-letter": ("i.jsonl", jl(item(answer="b")), [1]),
    "answer-as-choice-text": ("i.jsonl", jl(item(answer="Rome")), [1]),
    "answer-as-digit-string": ("i.jsonl", jl(item(answer="1")), [1]),
    "numeric-choices": ("i.jsonl", jl(item(choices=[1789, 1848], answer=0)), [0]),
    "answer-list-of-several": ("i.jsonl", jl(item(choices=["a", "b", "c"], answer=["c", 1])), [1]),
    "answer-list-of-one": ("i.jsonl", jl(item(answer=[1])), [1]),
    "bigbench-two-top-scores": (
        "i.json",
        '{"examples": [{"input": "x", "target_scores": {"a": 1, "b": 0, "c": 1}}]}',
        [0],
    ),
    "csv-bom-excel-header": ("i.csv", "\ufeffQuestion,A,B,C,D,Answer\r\nq,a,b,c,d,C\r\n", [2]),
    "yaml-anchor-reuse": (
        "s.yaml",
        "name: &n t\nreference_instruction: *n\nitems:\n  - &q {question: q, choices: [x, y], answer: 1}\n",
        [1],
    ),
}


@pytest.mark.parametrize("name", list(ACCEPTED))
def test_unusual_but_valid_input_is_read_as_meant(name, tmp_path):
    import promptcheck as pc

    fname, content, answers = ACCEPTED[name]
    (tmp_path / fname).write_text(content, encoding="utf-8", newline="")
    task = pc.load_task(tmp_path / fname)
    assert [i.answer for i in task.items] == answers


def test_docs_table_has_a_row_for_every_case():
    """docs/reliability.md names every case here, and names no case that does not exist."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "reliability.md").read_text()
    named = set(re.findall(r"`test_bad_input_gets_one_line_and_exit_2\[([^\]]+)\]`", doc))
    assert named == set(CASES)
    accepted = set(re.findall(r"`test_unusual_but_valid_input_is_read_as_meant\[([^\]]+)\]`", doc))
    assert accepted == set(ACCEPTED)
