"""Free-form answer matching (promptcheck.tasks.matching): normalisers, extractors, metrics,
the four outcomes, bad inputs, lm-evaluation-harness filter parity, determinism. Model-free, fast."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest

from promptcheck.errors import InputError
from promptcheck.tasks.matching import (
    DEFAULT_NORMALISERS,
    DEFAULT_SPEC,
    EXTRACTORS,
    LM_EVAL_MIRRORED,
    METRICS,
    NORMALISERS,
    OUTCOMES,
    Match,
    MatchSpec,
    contains_words,
    extract,
    f1_score,
    from_lm_eval_filters,
    match,
    normalise,
    normalise_numbers,
    outcome_rates,
)

NUMERIC = ("strip", "case", "numbers", "punctuation", "whitespace")
FLEXIBLE = r"(-?[$0-9.,]{2,})|(-?[0-9]+)"  # gsm8k's flexible-extract
STRICT = r"#### (\-?[0-9\.\,]+)"  # gsm8k's strict-match


# --- normalisers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, text, expected",
    [
        ("strip", "  Tokyo \n", "Tokyo"),
        ("strip", "New  York", "New  York"),  # inner whitespace is whitespace's job
        ("case", "TOKYO", "tokyo"),
        ("case", "STRASSE Straße", "strasse strasse"),  # casefold, not lower
        ("punctuation", "«Tokyo»!", "Tokyo"),
        ("punctuation", "¿Qué? well-known — (yes)", "Qué wellknown  yes"),
        ("punctuation", "$5 + 3", "$5 + 3"),  # symbols (Sc, Sm) are not punctuation
        ("articles", "The Tokyo", "  Tokyo"),  # replaced by a space, as SQuAD
        ("articles", "a cat and an apple", "  cat and   apple"),
        ("articles", "theory another thé", "theory another thé"),  # whole words only
        ("whitespace", " a \t\n b  ", "a b"),
        ("numbers", "$29.00", "29"),
        ("numbers", "29.0", "29"),
        ("numbers", "1,000", "1000"),
    ],
)
def test_each_normaliser(name, text, expected):
    assert normalise(text, (name,)) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("29", "29"),
        ("29.0", "29"),
        ("29.00", "29"),
        ("$29.00", "29"),
        ("+29", "29"),
        ("29€", "29"),
        ("1,000", "1000"),
        ("1,000,000.50", "1000000.5"),
        ("1000.00", "1000"),
        (".5", "0.5"),
        ("-$3", "-3"),
        ("$-3", "-3"),
        ("\u22123", "-3"),
        ("-0.0", "0"),
        ("007", "7"),
        ("The total is $29.00.", "The total is 29."),
        ("pages 10-29", "pages 10-29"),
        ("1,00", "1,00"),  # not thousands groups: left alone
        ("3.14.15", "3.14.15"),  # not one number
        ("29,50", "29,50"),  # decimal comma: not read
        ("v2.0 covid19 1e5", "v2.0 covid19 1e5"),  # inside words
        ("123456789012345678901234567890.10", "123456789012345678901234567890.1"),  # no rounding
        ("٢٩.٠", "29"),  # any Unicode decimal digits
    ],
)
def test_numbers_canonical_text(text, expected):
    assert normalise_numbers(text) == expected


def test_numeric_spellings_are_equal_under_numbers_only():
    spellings = ["29", "29.0", "$29.00", "29.00", " 29 "]
    assert len({normalise(s, NUMERIC) for s in spellings}) == 1
    assert normalise("1,000", NUMERIC) == normalise("1000", NUMERIC)
    assert len({normalise(s) for s in spellings}) > 1  # the default has no numbers normaliser


def test_normalisers_apply_in_order():
    assert normalise("29.00", ("numbers", "punctuation")) == "29"
    assert normalise("29.00", ("punctuation", "numbers")) == "2900"  # why MatchSpec refuses this order
    assert normalise("  The  CAT. ", DEFAULT_NORMALISERS) == "the cat"
    assert normalise("The cat", ("articles", "whitespace")) == "cat"
    assert normalise("x", ()) == "x"


def test_default_normalisers_and_names():
    assert DEFAULT_NORMALISERS == ("strip", "case", "punctuation", "whitespace")
    assert set(DEFAULT_NORMALISERS) < set(NORMALISERS)
    assert {"articles", "numbers"} <= set(NORMALISERS)
    assert EXTRACTORS == ("first_line", "whole", "regex") and METRICS == ("exact", "contains", "f1")
    with pytest.raises(InputError, match="unknown normaliser 'lower'"):
        normalise("x", ("lower",))


# --- extractors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "output, expected",
    [
        ("Tokyo\nbecause...", "Tokyo"),
        ("\n\n   \n  Tokyo  \nmore", "  Tokyo  "),  # the line as written: strip is a normaliser
        ("Tokyo\r\nx", "Tokyo"),
        ("", None),
        ("  \n\t\n", None),
        (None, None),
    ],
)
def test_first_line_extractor(output, expected):
    assert extract(output, MatchSpec(extractor="first_line")) == expected
    assert extract(output, DEFAULT_SPEC) == expected  # the default


def test_whole_extractor():
    spec = MatchSpec(extractor="whole")
    assert extract("a\nb\n", spec) == "a\nb\n"
    assert extract(" \n ", spec) is None


@pytest.mark.parametrize(
    "spec, output, expected",
    [
        (MatchSpec(extractor="regex", pattern=r"(\d+)"), "1 then 2 then 3", "1"),
        (MatchSpec(extractor="regex", pattern=r"(\d+)", group_select=-1), "1 then 2 then 3", "3"),
        (MatchSpec(extractor="regex", pattern=r"(\d+)", group_select=1), "1 then 2 then 3", "2"),
        (MatchSpec(extractor="regex", pattern=r"(\d+)", group_select=5), "1 then 2", None),  # out of range
        (MatchSpec(extractor="first_match", pattern=r"(\d+)"), "1 then 2", "1"),
        (MatchSpec(extractor="last_match", pattern=r"(\d+)"), "1 then 2", "2"),
        (MatchSpec(extractor="regex", pattern=r"Answer:(.*)"), "Answer:   B  ", "B"),  # stripped, as lm-eval
        (MatchSpec(extractor="regex", pattern=r"(x)|(\d)"), "a 7", "7"),  # first non-empty group
        (MatchSpec(extractor="regex", pattern=r"(x)?(y)?"), "zz", None),  # all groups empty: fallback
        (MatchSpec(extractor="regex", pattern=r"Answer: (\w+)"), "no answer here", None),
        (MatchSpec(extractor="regex", pattern=r"(\w+)", before_extract=("uppercase",)), "tokyo", "TOKYO"),
        (MatchSpec(extractor="regex", pattern=r"(\w+)", after_extract=("lowercase",)), "TOKYO", "tokyo"),
        (MatchSpec(extractor="regex", pattern=r"^(\w+)", before_extract=("remove_whitespace",)), "  Tokyo", "Tokyo"),
    ],
)
def test_regex_extractor(spec, output, expected):
    assert extract(output, spec) == expected


def test_aliases_become_regex_with_a_group_select():
    spec = MatchSpec(extractor="last_match", pattern="(x)")
    assert (spec.extractor, spec.group_select) == ("regex", -1)
    assert MatchSpec.from_mapping({"extractor": "last_match", "pattern": "(x)"}) == spec
    assert MatchSpec.from_mapping({"pattern": "(x)", "group_select": "last"}) == spec  # pattern alone: regex


# --- lm-evaluation-harness parity -------------------------------------------------------------

OUTPUTS = [
    "#### 42",
    "The answer is 1,234.5 and then #### -7",
    "no numbers here",
    "",
    "Answer: B\nanswer: c",
    "  ####   12  ",
    "The total is $29.00.",
    "x y x",
    "aaa b",
    "  Tokyo is big\n",
]

PIPELINES = [
    [{"function": "regex", "regex_pattern": STRICT}, {"function": "take_first"}],
    [{"function": "regex", "group_select": -1, "regex_pattern": FLEXIBLE}, {"function": "take_first"}],
    [{"function": "regex"}, {"function": "take_first"}],  # lm-eval's default pattern
    [{"function": "remove_whitespace"}, {"function": "regex", "regex_pattern": r"^(\w+)"}, {"function": "take_first"}],
    [{"function": "lowercase"}, {"function": "regex", "regex_pattern": r"answer: (\w+)", "group_select": -1}],
    [{"function": "regex", "regex_pattern": r"(\w+)\s*$"}, {"function": "uppercase"}, {"function": "take_first"}],
    [{"function": "regex", "regex_pattern": r"\d+", "group_select": -1}, {"function": "take_first"}],  # no group
    [{"function": "regex", "regex_pattern": r"(x)?(y)?"}],
    [{"function": "regex", "regex_pattern": r"(a*)", "fallback": "NONE"}],
    [{"function": "regex", "regex_pattern": r"(?i)(answer): (\w)|(\d+)"}],
    [{"function": "take_first"}],
    [{"function": "remove_whitespace"}, {"function": "lowercase"}, {"function": "take_first"}],
]


def _lm_eval_pipeline(steps, output):
    """lm-eval's own filters, applied in order as FilterEnsemble.apply does, to one response."""
    import lm_eval.filters  # noqa: F401  (registers the filters)
    from lm_eval.api.registry import get_filter

    resps = [[output]]
    for step in steps:
        options = {k: v for k, v in step.items() if k != "function"}
        resps = list(get_filter(step["function"])(**options).apply(resps, [{}]))
    (result,) = resps
    return result if isinstance(result, str) else result[0]


@pytest.mark.parametrize("steps", PIPELINES, ids=[str(i) for i in range(len(PIPELINES))])
def test_lm_eval_filter_parity(steps):
    pytest.importorskip("lm_eval")
    spec = from_lm_eval_filters(steps)
    regex = next((s for s in steps if s["function"] == "regex"), None)
    fallback = None if regex is None else regex.get("fallback", "[invalid]")
    for step in steps[steps.index(regex) + 1 :] if regex else []:
        fallback = {"lowercase": str.lower, "uppercase": str.upper, "remove_whitespace": str.strip}.get(
            step["function"], lambda s: s
        )(fallback)
    for output in OUTPUTS:
        theirs, ours = _lm_eval_pipeline(steps, output), extract(output, spec)
        if ours is None:  # nothing found: lm-eval's fallback, or (no regex) a blank response
            assert theirs == fallback if regex else not theirs.strip(), (output, theirs)
        else:
            assert ours == theirs, (output, ours, theirs)


def test_lm_eval_regex_filter_direct_parity():
    """RegexFilter.apply itself against extract(), pattern by pattern, first and last match."""
    pytest.importorskip("lm_eval")
    from lm_eval.filters.extraction import RegexFilter

    for pattern in [STRICT, FLEXIBLE, r"(?i)answer:\s*(\w+)", r"([A-D])", r"(\d+)|(x)", r"(x)?(y)?", r"(a*)"]:
        for group_select in (0, -1):
            spec = MatchSpec(extractor="regex", pattern=pattern, group_select=group_select)
            lm = RegexFilter(regex_pattern=pattern, group_select=group_select)
            for output in OUTPUTS:
                (theirs,) = lm.apply([[output]], [{}])[0]
                ours = extract(output, spec)
                assert (ours if ours is not None else "[invalid]") == theirs, (pattern, group_select, output)


def test_gsm8k_strict_and_flexible_from_the_installed_task_yaml():
    lm_eval = pytest.importorskip("lm_eval")
    import yaml

    path = Path(lm_eval.__file__).parent / "tasks" / "gsm8k" / "gsm8k.yaml"
    if not path.exists():
        pytest.skip("this lm-eval has no gsm8k.yaml")
    filter_list = yaml.safe_load(path.read_text(encoding="utf-8"))["filter_list"]
    strict = from_lm_eval_filters(filter_list, name="strict-match", normalisers=NUMERIC)
    flexible = from_lm_eval_filters(filter_list, name="flexible-extract", normalisers=NUMERIC)
    assert (strict.pattern, strict.group_select, strict.extractor) == (STRICT, 0, "regex")
    assert (flexible.pattern, flexible.group_select) == (FLEXIBLE, -1)
    said = "She pays 3 times, so the total is $1,200.00."
    assert match(said, ["1200"], strict).outcome == "unparsed"  # form: no '#### '
    assert match(said, ["1200"], flexible).outcome == "correct"
    assert match("#### 1,200", ["1200"], strict).outcome == "correct"
    with pytest.raises(InputError, match="name one of the pipelines strict-match, flexible-extract"):
        from_lm_eval_filters(filter_list)


def test_from_lm_eval_filters_shapes_and_placement():
    steps = [{"function": "lowercase"}, {"function": "regex", "regex_pattern": "(a)"}, {"function": "uppercase"}]
    spec = from_lm_eval_filters(steps)
    assert (spec.before_extract, spec.after_extract) == (("lowercase",), ("uppercase",))
    assert from_lm_eval_filters({"name": "x", "filter": steps}) == spec
    assert from_lm_eval_filters([{"name": "x", "filter": steps}]) == spec
    assert from_lm_eval_filters([{"function": "take_first"}]).extractor == "whole"
    assert from_lm_eval_filters([{"function": "regex"}]).pattern == r"#### (\-?[0-9\.\,]+)"
    assert from_lm_eval_filters([{"function": "regex", "regex_pattern": r"\d+"}]).pattern == r"(\d+)"
    assert from_lm_eval_filters([{"function": "take_first"}], metric="f1").metric == "f1"
    assert set(LM_EVAL_MIRRORED) == {"take_first", "regex", "remove_whitespace", "lowercase", "uppercase"}


@pytest.mark.parametrize(
    "steps, field, words",
    [
        (
            [{"function": "regex"}, {"function": "majority_vote"}, {"function": "take_first"}],
            "filter[1].function",
            "majority_vote",
        ),
        ([{"function": "custom", "filter_fn": "x"}], "filter[0].function", "custom"),
        ([{"function": "take_first_k", "k": 2}], "filter[0].function", "take_first_k"),
        ([{"function": "multi_choice_regex"}], "filter[0].function", "multi_choice_regex"),
        ([{"function": "ACP_grammar_filter"}], "filter[0].function", "ACP_grammar_filter"),
        ([{"function": None}], "filter[0].function", "!function"),  # a `!function utils.X` step, tag read as None
        ([{"function": "regex"}, {"function": "regex"}], "filter[1].function", "second regex"),
        ([{"function": "take_first"}, {"function": "lowercase"}], "filter[0].function", "last step"),
        ([{"function": "regex", "ignore_case": True}], "filter[0].function", "'ignore_case'"),
        ([{"function": "lowercase", "x": 1}], "filter[0].function", "no options"),
        ([{"function": "regex", "regex_pattern": "(a"}], "filter[0].regex_pattern", "does not compile"),
        ([{"function": "regex", "regex_pattern": "(?s)a"}], "filter[0].regex_pattern", "cannot be wrapped"),
        ([{"function": "regex", "group_select": "last"}], "filter[0].group_select", "integer"),
        ([{"function": "regex", "fallback": 0}], "filter[0].fallback", "text"),
        ([{"regex_pattern": "(a)"}], "filter[0]", "'function'"),
        ([], "filter_list", "non-empty"),
        ([{"name": "a", "filter": []}, {"name": "b", "filter": []}], "filter_list", "name one of the pipelines a, b"),
    ],
)
def test_from_lm_eval_filters_refuses_in_one_line(steps, field, words):
    with pytest.raises(InputError) as info:
        from_lm_eval_filters(steps, source="task.yaml", line=12)
    error = info.value
    assert error.field == field and words in error.message
    assert str(error).startswith(f"task.yaml:12: {field}: ") and "\n" not in str(error)
    if "not mirrored" in error.message:
        assert "mirrored: take_first, regex, remove_whitespace, lowercase, uppercase" in error.message


# --- metrics ---------------------------------------------------------------------------------


def test_exact_is_any_accepted_answer():
    m = match("Kyoto", ["Tokyo", "kyoto", "Osaka"], DEFAULT_SPEC)
    assert (m.outcome, m.score, m.answer, m.normalised) == ("correct", 1.0, "kyoto", "kyoto")
    assert match("Tokyo!", ["tokyo"]).outcome == "correct"
    assert match("Tokyo city", ["tokyo"]).outcome == "misformatted"


@pytest.mark.parametrize(
    "text, phrase, expected",
    [
        ("the cat sat", "cat", True),
        ("category", "cat", False),
        ("bobcat", "cat", False),
        ("cat_2", "cat", False),
        ("it is new  york city", "new york", True),
        ("newyork", "new york", False),
        ("it is 29.5", "29", False),
        ("it is 1,000", "1", False),
        ("it is 29.", "29", True),
        ("c++ wins", "c++", True),
        ("anything", "  ", False),
    ],
)
def test_contains_words(text, phrase, expected):
    assert contains_words(text, phrase) is expected


def test_contains_metric():
    spec = MatchSpec(metric="contains")
    assert match("The capital of Japan is Tokyo.", ["Tokyo"], spec).outcome == "correct"
    assert match("It is New York.", ["new york"], spec).outcome == "correct"
    assert match("The category", ["cat"], spec).outcome == "wrong"


def test_f1_value_and_threshold():
    assert f1_score("cat sat", "cat sat on mat") == pytest.approx(2 / 3)
    assert f1_score("a a b", "a b b") == pytest.approx(2 / 3)  # counted tokens, as SQuAD
    assert f1_score("x", "y") == 0.0 and f1_score("", "") == 1.0 and f1_score("", "y") == 0.0
    spec = MatchSpec(metric="f1")
    m = match("Tokyo, Japan", ["Paris", "Tokyo"], spec)
    assert (m.outcome, m.answer) == ("correct", "Tokyo") and m.score == pytest.approx(2 / 3)
    strict = MatchSpec(metric="f1", f1_threshold=0.9)
    m = match("Tokyo, Japan", ["Paris", "Tokyo"], strict)
    assert m.outcome == "misformatted" and m.score == pytest.approx(2 / 3)  # F1 kept below the threshold
    assert match("Tokyo", ["Tokyo"], MatchSpec(metric="f1", f1_threshold=1)).score == 1.0
    assert match("Osaka", ["Tokyo"], spec).score == 0.0
    at = match("Tokyo is big", ["Tokyo"], spec)  # F1 exactly 0.5: correct at the threshold (>=)
    assert (at.outcome, at.score) == ("correct", 0.5)


def test_callable_metric_gets_normalised_text():
    seen = []

    def starts_with(extracted, targets):
        seen.append((extracted, targets))
        return any(extracted.startswith(t) for t in targets)

    spec = MatchSpec(metric=starts_with)
    m = match("Tokyo-to!", ["TOKYO"], spec)
    assert (m.outcome, m.score, m.answer) == ("correct", 1.0, None)
    assert seen == [("tokyoto", ["tokyo"])]
    assert match("Osaka", ["Tokyo"], spec).outcome == "wrong"
    with pytest.raises(InputError, match="must return a bool") as info:
        match("x", ["x"], MatchSpec(metric=lambda e, t: "yes"))
    assert info.value.field == "metric"


# --- outcomes --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "output, targets, spec, outcome",
    [
        ("Tokyo", ["Tokyo"], DEFAULT_SPEC, "correct"),
        ("  tokyo.  \nBecause it is the capital.", ["Tokyo"], DEFAULT_SPEC, "correct"),
        ("The capital of Japan is Tokyo.", ["Tokyo"], DEFAULT_SPEC, "misformatted"),
        ("Sure!\nTokyo", ["Tokyo"], DEFAULT_SPEC, "misformatted"),  # first line is not the answer
        ("", ["Tokyo"], DEFAULT_SPEC, "unparsed"),
        (" \n\t", ["Tokyo"], DEFAULT_SPEC, "unparsed"),
        (None, ["Tokyo"], DEFAULT_SPEC, "unparsed"),
        ("Osaka", ["Tokyo"], DEFAULT_SPEC, "wrong"),
        ("That is a category error", ["cat"], DEFAULT_SPEC, "wrong"),  # not as a whole word
        ("The cat.", ["cat"], DEFAULT_SPEC, "misformatted"),
        ("I think it's New York.", ["New York"], DEFAULT_SPEC, "misformatted"),
        ("I think it's Newark.", ["New York"], DEFAULT_SPEC, "wrong"),
        ("new york", ["New York"], DEFAULT_SPEC, "correct"),
        ("The total is $29.00.", ["29"], MatchSpec(normalisers=NUMERIC), "misformatted"),
        (
            "The total is $29.00.",
            ["29"],
            MatchSpec(normalisers=NUMERIC, extractor="last_match", pattern=FLEXIBLE),
            "correct",
        ),
        (
            "The total is $29.50.",
            ["29"],
            MatchSpec(normalisers=NUMERIC, extractor="last_match", pattern=FLEXIBLE),
            "wrong",
        ),
        ("$29.00", ["29"], DEFAULT_SPEC, "wrong"),  # no numbers normaliser: "$2900" is not "29"
        ("Tokyo", ["Tokyo"], MatchSpec(extractor="regex", pattern=r"Answer: (\w+)"), "unparsed"),  # unparsed first
        ("Answer: Osaka. Tokyo!", ["Tokyo"], MatchSpec(extractor="regex", pattern=r"Answer: (\w+)"), "misformatted"),
        ("Answer: ", ["Tokyo"], MatchSpec(extractor="regex", pattern=r"Answer:(.*)"), "unparsed"),  # blank group
        ("...\nTokyo", ["Tokyo"], DEFAULT_SPEC, "misformatted"),  # extracted '...' normalises to ''
        ("...", ["Tokyo"], DEFAULT_SPEC, "wrong"),
        ("The answer is A", ["A"], DEFAULT_SPEC, "misformatted"),
    ],
)
def test_outcomes(output, targets, spec, outcome):
    m = match(output, targets, spec)
    assert m.outcome == outcome
    assert m.outcome in OUTCOMES
    assert m.score == (1.0 if outcome == "correct" else 0.0)
    if outcome == "unparsed":
        assert m.normalised is None and m.answer is None
    if outcome == "misformatted":
        assert m.answer in targets


def test_transforms_apply_to_the_whole_output_for_misformatted():
    # No case normaliser: lm-eval's uppercase after the regex turns "Tokyo" into "TOKYO", not accepted;
    # the whole output through the same steps contains "TOKYO" too, so neither is "Tokyo".
    spec = MatchSpec(normalisers=("strip",), extractor="regex", pattern=r"(\w+)\.", after_extract=("uppercase",))
    assert match("It is Tokyo.", ["Tokyo"], spec).outcome == "wrong"
    assert match("It is Tokyo.", ["TOKYO"], spec).outcome == "correct"


def test_outcome_rates():
    rates = outcome_rates(["correct", "wrong", "wrong", "unparsed"])
    assert rates == {"correct": 0.25, "misformatted": 0.0, "unparsed": 0.25, "wrong": 0.5}
    assert list(rates) == list(OUTCOMES)
    assert outcome_rates([match("Tokyo", ["Tokyo"]), match("", ["Tokyo"])])["unparsed"] == 0.5
    assert outcome_rates([]) == dict.fromkeys(OUTCOMES, 0.0)
    with pytest.raises(InputError, match="unknown outcome 'right'") as info:
        outcome_rates(["right"])
    assert info.value.field == "outcome"


# --- specs and bad inputs --------------------------------------------------------------------


def test_spec_from_mapping_and_records():
    spec = MatchSpec.from_mapping({"normalizers": list(NUMERIC), "pattern": FLEXIBLE, "group_select": -1})
    assert spec == MatchSpec(normalisers=NUMERIC, extractor="regex", pattern=FLEXIBLE, group_select=-1)
    assert isinstance(spec.normalisers, tuple) and hash(spec) == hash(MatchSpec.from_mapping(dataclasses.asdict(spec)))
    assert MatchSpec.from_mapping({}) == DEFAULT_SPEC == MatchSpec()
    assert MatchSpec.from_mapping({"normalisers": "case"}).normalisers == ("case",)
    assert MatchSpec.from_mapping({"normalisers": None}).normalisers == ()
    assert MatchSpec.from_mapping({"metric": "f1", "f1_threshold": 1}).f1_threshold == 1.0
    assert MatchSpec.from_mapping({"f1_threshold": 0.5}) == DEFAULT_SPEC  # the default, as asdict() holds it
    with pytest.raises(InputError, match="metric f1 only"):
        MatchSpec(metric=lambda extracted, targets: True, f1_threshold=0.7)
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.metric = "f1"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        match("x", ["x"]).outcome = "wrong"  # type: ignore[misc]
    assert DEFAULT_SPEC.describe() == (
        "first non-empty line; normalise: strip, case, punctuation, whitespace; exact match against any accepted answer"
    )


@pytest.mark.parametrize(
    "mapping, field, words",
    [
        ({"normalisers": ["case", "lowercase"]}, "normalisers", "unknown normaliser 'lowercase'"),
        ({"normalisers": ["strip", "punctuation", "numbers"]}, "normalisers", "'numbers' must come before"),
        ({"normalisers": [1]}, "normalisers", "list of names"),
        ({"normalisers": ["a"], "normalizers": ["b"]}, "normalizers", "not both"),
        ({"extractor": "last_line"}, "extractor", "unknown extractor 'last_line'"),
        ({"extractor": ["regex"]}, "extractor", "extractor's name"),
        ({"metric": "bleu"}, "metric", "unknown metric 'bleu'"),
        ({"metric": 3}, "metric", "callable"),
        ({"pattern": "Answer: (.+"}, "pattern", "does not compile"),
        ({"pattern": "a\n(b"}, "pattern", "does not compile"),
        ({"pattern": r"Answer: \w+"}, "pattern", "no capture group"),
        ({"pattern": 5}, "pattern", "regular expression"),
        ({"extractor": "regex"}, "pattern", "needs a pattern"),
        ({"extractor": "first_line", "pattern": "(x)"}, "pattern", "extractor: regex"),
        ({"extractor": "whole", "group_select": -1}, "group_select", "regex extractor only"),
        ({"pattern": "(x)", "group_select": "middle"}, "group_select", "first, last"),
        ({"pattern": "(x)", "group_select": True}, "group_select", "integer"),
        ({"extractor": "first_match", "pattern": "(x)", "group_select": -1}, "group_select", "selects match 0"),
        ({"metric": "f1", "f1_threshold": 0}, "f1_threshold", "(0, 1]"),
        ({"metric": "f1", "f1_threshold": 1.5}, "f1_threshold", "(0, 1]"),
        ({"metric": "f1", "f1_threshold": "half"}, "f1_threshold", "(0, 1]"),
        ({"metric": "f1", "f1_threshold": float("nan")}, "f1_threshold", "(0, 1]"),
        ({"metric": "f1", "f1_threshold": True}, "f1_threshold", "(0, 1]"),
        ({"f1_threshold": 0.8}, "f1_threshold", "metric f1 only (metric is exact)"),
        ({"normaliser": ["case"]}, "normaliser", "did you mean 'normalisers'"),
        ({"before_extract": ["strip"]}, "before_extract", "unknown transform 'strip'"),
        ("first_line", "match", "must be a mapping"),
    ],
)
def test_bad_specs_are_refused_in_one_line(mapping, field, words):
    with pytest.raises(InputError) as info:
        MatchSpec.from_mapping(mapping, source="suite.yaml", line=7)
    error = info.value
    assert error.field == field and words in error.message, error.message
    assert str(error).startswith(f"suite.yaml:7: {field}: ")
    assert "\n" not in str(error) and "\n" not in error.message
    if words.startswith("unknown normaliser"):
        assert all(name in error.message for name in NORMALISERS)
    if words.startswith("unknown metric"):
        assert all(name in error.message for name in METRICS)


@pytest.mark.parametrize(
    "answers, words",
    [
        ([], "at least one"),
        ([""], "empty after the normalisers"),
        (["  "], "empty after the normalisers"),
        (["Tokyo", "..."], "'...' is empty after the normalisers (strip, case, punctuation, whitespace)"),
        ([None], "is a NoneType"),
        ([3.5], "is a float"),
        ([True], "is a bool"),
        ({"a": 1}, "at least one"),
    ],
)
def test_empty_or_bad_accepted_answers_are_refused(answers, words):
    with pytest.raises(InputError) as info:
        DEFAULT_SPEC.check_answers(answers, source="items.jsonl", line=3)
    assert words in info.value.message and info.value.field == "answers"
    assert str(info.value).startswith("items.jsonl:3: answers: ")
    with pytest.raises(InputError):
        match("Tokyo", answers)


def test_answers_that_only_articles_make_empty_are_refused_with_a_hint():
    spec = MatchSpec(normalisers=("case", "articles", "whitespace"))
    with pytest.raises(InputError, match="'articles' removes a/an/the"):
        spec.check_answers(["A"])
    assert DEFAULT_SPEC.check_answers(["A"]) == ("A",)
    assert DEFAULT_SPEC.check_answers(29) == ("29",)  # YAML's `answer: 29`
    assert DEFAULT_SPEC.check_answers("Tokyo") == ("Tokyo",)  # one string is one answer, not letters


# --- determinism -----------------------------------------------------------------------------

_CORPUS = """
from promptcheck.tasks.matching import MatchSpec, match
specs = [MatchSpec(), MatchSpec(metric="contains"), MatchSpec(metric="f1", normalisers=("case", "articles", "punctuation", "whitespace")),
         MatchSpec(normalisers=("strip", "case", "numbers", "punctuation", "whitespace"), extractor="last_match", pattern=r"(-?[$0-9.,]{2,})|(-?[0-9]+)")]
cells = [("Tokyo", ["Tokyo"]), ("The capital is Tokyo.", ["tokyo", "Tokyo-to"]), ("", ["x"]), ("The total is $1,200.00.", ["1200", "1,200"]),
         ("a b c d", ["b c", "d e"]), ("category", ["cat"])]
result = [repr(match(o, t, s)) for s in specs for o, t in cells]
"""


def test_matching_is_deterministic_across_calls_and_processes():
    scope: dict = {}
    exec(_CORPUS, scope)
    again: dict = {}
    exec(_CORPUS, again)
    assert scope["result"] == again["result"]
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    code = _CORPUS + "\nprint('\\n'.join(result))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout
    assert out.splitlines() == scope["result"]
    assert isinstance(match("Tokyo", ["Tokyo"]), Match)


@pytest.mark.parametrize(
    ("output", "target", "correct"),
    [
        ("3", "-3", False),
        ("-3", "3", False),
        ("2.5", "25", False),
        ("295", "29.5", False),
        ("-3.", "-3", True),
        ("$29.00!", "29", True),
        ("1,000.", "1000", True),
    ],
)
def test_punctuation_after_numbers_keeps_a_numbers_sign_and_decimal_point(output, target, correct):
    """docs/matching.md's numeric normalisers (numbers, then punctuation): removing every punctuation
    character after the numbers were made canonical turned "-3" into "3" and "2.5" into "25"."""
    spec = MatchSpec(normalisers=("strip", "case", "numbers", "punctuation", "whitespace"))
    assert (match(output, [target], spec).outcome == "correct") is correct
