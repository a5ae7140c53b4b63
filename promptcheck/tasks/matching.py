"""Free-form answers: from what a model wrote to one outcome per cell (issue #26).

Why this module exists: a generative answer can be wrong in two different ways. The model may
not know the answer (content), or it may know it and say it in a shape the grader does not read
("The capital of Japan is Tokyo." where "Tokyo" was expected: form). A paraphrased instruction
moves the form at least as much as the content, so a robustness test that folds both into one
"wrong" blames the model's knowledge for what is a formatting change. Public harnesses mix them
too: lm-evaluation-harness reports GSM8K twice, ``strict-match`` (``#### 42`` only) and
``flexible-extract`` (the last number anywhere), and the gap between the two is form, not
arithmetic. Here the steps are named and set by the user, and every cell is exactly one of:

- ``correct``: the extracted answer matches an accepted answer under the metric;
- ``misformatted``: it does not, but an accepted answer appears, as whole words, in the whole
  output normalised the same way (content there, form not);
- ``unparsed``: the extractor found nothing (empty output, no line with text, regex no match,
  lm-eval's fallback), or only whitespace;
- ``wrong``: something was extracted, and no accepted answer appears anywhere in the output.

The steps, in order (:class:`MatchSpec` holds their names):

1. ``before_extract``: lm-eval's string filters placed before its regex (``remove_whitespace``,
   ``lowercase``, ``uppercase``), applied to the output; empty by default.
2. the **extractor**: ``first_line`` (the first line with any non-whitespace character, the
   default), ``whole`` (the whole output) or ``regex`` (a pattern with a capture group, first or
   last match, exactly as lm-eval's ``RegexFilter``); ``first_match``/``last_match`` are
   ``regex`` with ``group_select`` 0 / -1.
3. ``after_extract``: lm-eval's string filters placed after its regex, applied to the extracted
   answer only (as lm-eval applies them to the response only).
4. the **normalisers**, in the order given, applied alike to the extracted answer, to every
   accepted answer and to the whole output (for ``misformatted``): ``strip``, ``case``
   (casefold), ``punctuation`` (remove every Unicode punctuation character, category P*),
   ``articles`` (English a/an/the as whole words, any case), ``whitespace`` (collapse runs to one
   space, trim), ``numbers`` (see :func:`normalise_numbers`; it must come before
   ``punctuation``, which would remove the decimal point it reads).
5. the **metric**: ``exact`` (equal to any accepted answer, BIG-bench's ``exact_str_match``),
   ``contains`` (an accepted answer appears in the extracted answer as whole words), ``f1``
   (SQuAD token F1 against the best accepted answer, correct when >= ``f1_threshold``), or a
   Python callable ``(extracted, answers) -> bool`` given the normalised extracted answer and
   the normalised accepted answers.

The default rule (``MatchSpec()``): take the first non-empty line of the output; normalise it
and every accepted answer with strip, case (casefold), punctuation (removed) and whitespace
(collapsed); it is correct when it equals any accepted answer.

"Whole words": the accepted answer's words, in order, separated by any whitespace, with no
letter, digit or underscore touching either end, and no ``.``/``,`` + digit continuing a number
(so "cat" is not in "category", nor "29" in "29.5"). Accepted answers that normalise to nothing
are refused (:meth:`MatchSpec.check_answers`): an empty answer would be "in" every output.

Pure, model-free and quick to import (stdlib only). docs/matching.md is the user's page.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Context, Decimal
from functools import lru_cache
from typing import Any, Literal

from promptcheck.errors import InputError
from promptcheck.options import is_number

Outcome = Literal["correct", "misformatted", "unparsed", "wrong"]
#: Every outcome, in the order reports list them.
OUTCOMES: tuple[Outcome, ...] = ("correct", "misformatted", "unparsed", "wrong")

#: A user's metric: (normalised extracted answer, normalised accepted answers) -> correct?
MetricFn = Callable[[str, list[str]], bool]

#: Every normaliser's name; :data:`DEFAULT_NORMALISERS` are used when none are given.
NORMALISERS = ("strip", "case", "punctuation", "articles", "whitespace", "numbers")
DEFAULT_NORMALISERS = ("strip", "case", "punctuation", "whitespace")
#: The extractors; ``first_match`` and ``last_match`` are ``regex`` with ``group_select`` 0 and -1.
EXTRACTORS = ("first_line", "whole", "regex")
EXTRACTOR_ALIASES = {"first_match": 0, "last_match": -1}
#: The named metrics (a callable is the fourth kind).
METRICS = ("exact", "contains", "f1")
#: The f1 metric's default threshold: correct when the best token F1 is at least this.
F1_THRESHOLD = 0.5
#: lm-evaluation-harness's string filters, with lm-eval's own semantics (before or after the regex).
TRANSFORMS = ("remove_whitespace", "lowercase", "uppercase")
#: lm-eval filter functions :func:`from_lm_eval_filters` mirrors; every other one is refused.
LM_EVAL_MIRRORED = ("take_first", "regex", *TRANSFORMS)
#: lm-eval's RegexFilter defaults (lm_eval/filters/extraction.py).
LM_EVAL_REGEX_DEFAULT = r"#### (\-?[0-9\.\,]+)"
LM_EVAL_FALLBACK = "[invalid]"

# Why a known lm-eval filter is not mirrored (said in the refusal).
_NOT_MIRRORED = {
    "majority_vote": "it votes over several outputs per item (repeats); promptcheck matches one output",
    "take_first_k": "it keeps several outputs per item (repeats); promptcheck matches one output",
    "custom": "it runs a Python function from the task's code; give match() a metric callable instead",
    "multi_choice_regex": "it falls back to the item's choices, which a free-form item has not",
    "map": "it maps whole answers to other values; write the accepted answers in their final form",
    "format_span": "it rewrites named-entity spans; no free-form task here uses it",
    "regex_pos": "it extracts part-of-speech tag lists, not one answer",
    "decontaminate": "it is not an answer filter",
}

_MAPPING_KEYS = (
    "normalisers",
    "normalizers",
    "extractor",
    "pattern",
    "group_select",
    "metric",
    "f1_threshold",
    "before_extract",
    "after_extract",
)


def _refuse(message: str, field: str | None = None) -> InputError:
    return InputError(message, field=field)


def _unknown(kind: str, value: object, known: Sequence[str]) -> str:
    """One line: the unknown name, a close match if there is one, and every name that exists."""
    close = difflib.get_close_matches(str(value), list(known), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown {kind} {value!r}{hint}; expected one of {', '.join(known)}"


# --- normalisers ----------------------------------------------------------------------------

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.IGNORECASE)
_SIGNS = "+-\u2212"  # plus, hyphen-minus, the minus sign
_CURRENCY = "$€£¥₹₩₽₺₪₫₴₦฿¢"
_NUMBER = re.compile(
    r"(?<!\w)(?<!\d[.,])"  # not inside a word, nor continuing a number ("1,000", "3.5")
    rf"(?P<sign>[{re.escape(_SIGNS)}])?(?P<lead>[{re.escape(_CURRENCY)}])?(?P<sign2>[{re.escape(_SIGNS)}])?"
    r"(?:(?P<int>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<frac>\d+))?|\.(?P<frac_only>\d+))"
    rf"(?P<trail>[{re.escape(_CURRENCY)}])?"
    r"(?!\w)(?![.,]\d)"  # nor followed by more of a word or of a number
)


def _canonical_number(m: re.Match[str]) -> str:
    sign = m["sign"] or m["sign2"]
    if (m["sign"] and m["sign2"]) or (m["lead"] and m["trail"]):
        return m.group(0)  # "-$-5", "$5€": not a number this rule reads
    digits = (m["int"] or "0").replace(",", "")
    frac = m["frac"] or m["frac_only"] or ""
    value = Decimal(f"{digits}.{frac}" if frac else digits)
    if value == 0:
        return "0"
    # Enough precision for every digit written: normalize() must only drop trailing zeros.
    text = format(value.normalize(Context(prec=len(digits) + len(frac) + 1)), "f")
    return ("-" if sign in ("-", "\u2212") else "") + text


def normalise_numbers(text: str) -> str:
    """Every number in ``text`` written in one canonical way: "29", "29.0", "$29.00", "+29" and
    "29€" become "29"; "1,000" and "1000.00" become "1000"; ".5" becomes "0.5"; "−3" becomes "-3".

    A number: an optional sign, an optional currency symbol (``$ € £ ¥ ₹ ₩ ₽ ₺ ₪ ₫ ₴ ₦ ฿ ¢``,
    before or after), digits (plain, or grouped in threes by commas) and an optional decimal part
    after a point; not touching a letter, digit or underscore, and not part of a longer number
    ("1,00", "3.14.15" and "v2" are left alone). Trailing zeros of the decimal part and leading
    zeros go ("007" is "7"). Not read: decimal commas ("29,50"), exponents, spelled-out numbers.
    Numbers anywhere in the text are rewritten, not only a text that is one number, so the whole
    output can be searched for a numeric answer ("The total is $29.00." contains "29").
    """
    return _NUMBER.sub(_canonical_number, text)


def _punctuation(text: str) -> str:
    return "".join(ch for ch in text if not unicodedata.category(ch).startswith("P"))


#: A canonical number's sign and decimal point (what ``normalise_numbers`` writes): "-3", "2.5".
_NUMBER_MARKS = re.compile(r"(?<![\w.])-(?=\d)|(?<=\d)\.(?=\d)")


def _punctuation_keeping_numbers(text: str) -> str:
    """``punctuation`` after ``numbers``: every punctuation character removed but a number's sign and
    decimal point, so "-3" stays "-3" and "2.5" stays "2.5" (removing them made "-3" match "3" and
    "2.5" match "25")."""
    kept = {m.start() for m in _NUMBER_MARKS.finditer(text)}
    return "".join(ch for n, ch in enumerate(text) if n in kept or not unicodedata.category(ch).startswith("P"))


_NORMALISER_FNS: dict[str, Callable[[str], str]] = {
    "strip": str.strip,
    "case": str.casefold,
    "punctuation": _punctuation,
    "articles": lambda text: _ARTICLES.sub(" ", text),
    "whitespace": lambda text: " ".join(text.split()),
    "numbers": normalise_numbers,
}

# lm-eval's string filters, with its semantics (lm_eval/filters/{extraction,transformation}.py).
_TRANSFORM_FNS: dict[str, Callable[[str], str]] = {
    "remove_whitespace": str.strip,  # WhitespaceFilter: resp.strip() (both ends, lm-eval 0.4.13)
    "lowercase": str.lower,
    "uppercase": str.upper,
}


def normalise(text: str, normalisers: Sequence[str] = DEFAULT_NORMALISERS) -> str:
    """``text`` through the named normalisers, in order (unknown names are refused)."""
    numbers = False
    for name in normalisers:
        fn = _NORMALISER_FNS.get(name)
        if fn is None:
            raise _refuse(_unknown("normaliser", name, NORMALISERS), "normalisers")
        if name == "punctuation" and numbers:  # a canonical number keeps its sign and decimal point
            fn = _punctuation_keeping_numbers
        numbers = numbers or name == "numbers"
        text = fn(text)
    return text


# --- comparisons ----------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _words_pattern(phrase: str) -> re.Pattern[str]:
    body = r"\s+".join(re.escape(word) for word in phrase.split())
    return re.compile(r"(?<!\w)(?<!\d[.,])" + body + r"(?!\w)(?![.,]\d)")


def contains_words(text: str, phrase: str) -> bool:
    """``phrase`` appears in ``text`` as whole words: its words in order, separated by any
    whitespace, nothing word-like (letter, digit, underscore) touching either end, and not the
    start or end of a longer number ("cat" is not in "category", "29" is not in "29.5").
    A phrase with no words is in no text."""
    if not phrase.split():
        return False
    return _words_pattern(phrase).search(text) is not None


def f1_score(prediction: str, target: str) -> float:
    """SQuAD's token F1 of two (already normalised) texts, tokens split on whitespace: the
    harmonic mean of the shared tokens' precision and recall; 1.0 or 0.0 when either is empty."""
    pred, gold = prediction.split(), target.split()
    if not pred or not gold:
        return float(pred == gold)
    same = sum((Counter(pred) & Counter(gold)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(gold)
    return 2 * precision * recall / (precision + recall)


# --- the spec -------------------------------------------------------------------------------


def _names(value: Any, field: str) -> tuple[str, ...]:
    """A list of names from Python or YAML: a sequence of strings, or one string."""
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, Sequence) or not all(isinstance(v, str) for v in value):
        raise _refuse(f"must be a list of names, got {value!r}", field)
    return tuple(value)


@dataclass(frozen=True)
class MatchSpec:
    """How one free-form output is matched against an item's accepted answers (the module's
    docstring has the steps). Checked when made: an instance that exists is a valid one."""

    #: Applied in order to the extracted answer, the accepted answers and the whole output.
    normalisers: tuple[str, ...] = DEFAULT_NORMALISERS
    #: ``first_line``, ``whole`` or ``regex`` (``first_match``/``last_match`` accepted as aliases).
    extractor: str = "first_line"
    #: The regex extractor's pattern: at least one capture group; with several, the first
    #: non-empty group of the selected match is the answer (lm-eval's RegexFilter).
    pattern: str | None = None
    #: Which of ``re.findall``'s matches: 0 the first, -1 the last (any index; out of range is unparsed).
    group_select: int = 0
    #: ``exact``, ``contains``, ``f1``, or a callable ``(extracted, answers) -> bool``.
    metric: str | MetricFn = "exact"
    #: ``f1`` is correct when the best F1 is at least this, in (0, 1] (left at 0.5 for other metrics).
    f1_threshold: float = F1_THRESHOLD
    #: lm-eval string filters applied to the output before the extractor.
    before_extract: tuple[str, ...] = ()
    #: lm-eval string filters applied to the extracted answer only.
    after_extract: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        normalisers = _names(self.normalisers, "normalisers")
        for name in normalisers:
            if name not in NORMALISERS:
                raise _refuse(_unknown("normaliser", name, NORMALISERS), "normalisers")
        if "numbers" in normalisers and "punctuation" in normalisers:
            if normalisers.index("numbers") > normalisers.index("punctuation"):
                raise _refuse(
                    "'numbers' must come before 'punctuation' (punctuation removes the decimal point"
                    " and thousands commas numbers reads)",
                    "normalisers",
                )
        object.__setattr__(self, "normalisers", normalisers)
        for key in ("before_extract", "after_extract"):
            names = _names(getattr(self, key), key)
            for name in names:
                if name not in TRANSFORMS:
                    raise _refuse(_unknown("transform", name, TRANSFORMS), key)
            object.__setattr__(self, key, names)

        if isinstance(self.group_select, bool) or not isinstance(self.group_select, int):
            raise _refuse(f"must be an integer (0 first match, -1 last), got {self.group_select!r}", "group_select")
        extractor = self.extractor
        if not isinstance(extractor, str):
            raise _refuse(f"must be an extractor's name, got {extractor!r}", "extractor")
        if extractor in EXTRACTOR_ALIASES:
            select = EXTRACTOR_ALIASES[extractor]
            if self.group_select not in (0, select):
                raise _refuse(
                    f"{extractor} selects match {select}, but group_select is {self.group_select}", "group_select"
                )
            object.__setattr__(self, "extractor", "regex")
            object.__setattr__(self, "group_select", select)
        elif extractor not in EXTRACTORS:
            raise _refuse(_unknown("extractor", extractor, (*EXTRACTORS, *EXTRACTOR_ALIASES)), "extractor")
        if self.extractor == "regex":
            if self.pattern is None:
                raise _refuse("the regex extractor needs a pattern with a capture group", "pattern")
            compiled = _compile(self.pattern)
            if compiled.groups == 0:
                raise _refuse(
                    f"{self.pattern!r} has no capture group; put the answer in parentheses, e.g. 'Answer: (.+)'",
                    "pattern",
                )
        else:
            if self.pattern is not None:
                raise _refuse(f"a pattern needs extractor: regex (extractor is {self.extractor})", "pattern")
            if self.group_select != 0:
                raise _refuse(f"applies to the regex extractor only (extractor is {self.extractor})", "group_select")

        if isinstance(self.metric, str):
            if self.metric not in METRICS:
                raise _refuse(_unknown("metric", self.metric, METRICS) + ", or a Python callable", "metric")
        elif not callable(self.metric):
            raise _refuse(f"must be a metric name or a callable, got {self.metric!r}", "metric")
        if not (is_number(self.f1_threshold) and 0 < float(self.f1_threshold) <= 1):
            raise _refuse(f"must be a number in (0, 1], got {self.f1_threshold!r}", "f1_threshold")
        object.__setattr__(self, "f1_threshold", float(self.f1_threshold))
        if self.metric != "f1" and self.f1_threshold != F1_THRESHOLD:
            metric = self.metric if isinstance(self.metric, str) else "a callable"
            raise _refuse(f"applies to metric f1 only (metric is {metric})", "f1_threshold")

    @classmethod
    def from_mapping(cls, mapping: Any, *, source: str | None = None, line: int | None = None) -> MatchSpec:
        """A spec from a plain mapping, as a suite YAML gives it; ``source``/``line`` locate errors.

        Keys: the field names (``normalizers`` is accepted for ``normalisers``), every one
        optional. ``group_select`` also takes ``first``/``last``; a ``pattern`` without an
        ``extractor`` means ``regex``. ``dataclasses.asdict(spec)`` reads back as ``spec``
        (unless its metric is a callable).
        """
        try:
            return cls(**_spec_kwargs(mapping))
        except InputError as error:
            raise InputError(error.message, field=error.field, file=source, line=line) from None

    def normalise(self, text: str) -> str:
        """``text`` through this spec's normalisers."""
        return normalise(text, self.normalisers)

    def check_answers(
        self, answers: Any, *, source: str | None = None, line: int | None = None, field: str = "answers"
    ) -> tuple[str, ...]:
        """An item's accepted answers, checked against this spec: at least one; each a string
        (an integer, as YAML reads ``answer: 29``, is taken as its digits; one string is one
        answer); none empty after the normalisers (an empty answer would be found in every output)."""

        def refuse(message: str) -> InputError:
            return InputError(message, field=field, file=source, line=line)

        if isinstance(answers, (str, int)) and not isinstance(answers, bool):
            answers = [answers]
        if not isinstance(answers, Sequence) or not answers:
            raise refuse(f"needs at least one accepted answer, got {answers!r}")
        out = []
        for answer in answers:
            if isinstance(answer, int) and not isinstance(answer, bool):
                answer = str(answer)
            if not isinstance(answer, str):
                raise refuse(f"accepted answer {answer!r} is a {type(answer).__name__}; write it as text")
            if not self.normalise(answer).strip():
                used = ", ".join(self.normalisers) or "none"
                hint = " ('articles' removes a/an/the)" if "articles" in self.normalisers and answer.strip() else ""
                raise refuse(f"accepted answer {answer!r} is empty after the normalisers ({used}){hint}")
            out.append(answer)
        return tuple(out)

    def describe(self) -> str:
        """The rule in one line of words, for reports and error messages."""
        if self.extractor == "regex":
            which = {0: "first", -1: "last"}.get(self.group_select, f"index {self.group_select}")
            extractor = f"regex {self.pattern!r} ({which} match)"
        else:
            extractor = {"first_line": "first non-empty line", "whole": "whole output"}[self.extractor]
        steps = [*self.before_extract, extractor, *self.after_extract]
        if isinstance(self.metric, str):
            metric = {
                "exact": "exact match against any accepted answer",
                "contains": "an accepted answer as whole words",
                "f1": f"token F1 >= {self.f1_threshold:g} against the best accepted answer",
            }[self.metric]
        else:
            metric = f"{getattr(self.metric, '__name__', type(self.metric).__name__)}(extracted, answers)"
        return f"{', '.join(steps)}; normalise: {', '.join(self.normalisers) or 'none'}; {metric}"


def _compile(pattern: Any, field: str = "pattern") -> re.Pattern[str]:
    if not isinstance(pattern, str):
        raise _refuse(f"must be a regular expression (text), got {pattern!r}", field)
    try:
        return re.compile(pattern)
    except re.error as error:
        raise _refuse(f"{pattern!r} does not compile: {error}", field) from None


def _spec_kwargs(mapping: Any) -> dict[str, Any]:
    if not isinstance(mapping, Mapping):
        raise _refuse(f"must be a mapping (keys {', '.join(_MAPPING_KEYS)}), got {mapping!r}", "match")
    for key in mapping:
        if key not in _MAPPING_KEYS:
            raise _refuse(_unknown("key", key, _MAPPING_KEYS), str(key))
    kwargs = dict(mapping)
    if "normalisers" in kwargs and "normalizers" in kwargs:
        raise _refuse("give normalisers or normalizers, not both", "normalizers")
    if "normalizers" in kwargs:
        kwargs["normalisers"] = kwargs.pop("normalizers")
    if "pattern" in kwargs and "extractor" not in kwargs:
        kwargs["extractor"] = "regex"
    select = kwargs.get("group_select")
    if isinstance(select, str):
        if select not in ("first", "last"):
            raise _refuse(f"must be first, last or an integer, got {select!r}", "group_select")
        kwargs["group_select"] = 0 if select == "first" else -1
    for key in ("normalisers", "before_extract", "after_extract"):
        if kwargs.get(key, ()) is None:  # YAML `normalisers:` with nothing after it: none
            kwargs[key] = ()
    return kwargs


#: ``MatchSpec()``: first non-empty line; strip, case, punctuation, whitespace; exact.
DEFAULT_SPEC = MatchSpec()


# --- extraction and matching ----------------------------------------------------------------


def _regex_answer(text: str, regex: re.Pattern[str], group_select: int) -> str | None:
    """lm-eval's RegexFilter on one response, with None where it returns its fallback."""
    found = regex.findall(text)
    if not found:
        return None
    try:
        chosen = found[group_select]
    except IndexError:  # lm-eval raises IndexError here; one unreadable output is unparsed
        return None
    if isinstance(chosen, tuple):  # several groups: the first non-empty one
        chosen = next((group for group in chosen if group), None)
        if chosen is None:
            return None
    return str(chosen).strip()


def extract(output: str | None, spec: MatchSpec = DEFAULT_SPEC) -> str | None:
    """The answer ``spec``'s extractor finds in ``output`` (before any normaliser), or None when
    it finds nothing. ``None`` as output is read as empty, as lm-eval reads a non-string response."""
    text = output if isinstance(output, str) else ""
    for name in spec.before_extract:
        text = _TRANSFORM_FNS[name](text)
    answer: str | None
    if spec.extractor == "first_line":
        answer = next((line for line in text.splitlines() if line.strip()), None)
    elif spec.extractor == "whole":
        answer = text if text.strip() else None
    else:
        assert spec.pattern is not None  # checked in MatchSpec
        answer = _regex_answer(text, _compile(spec.pattern), spec.group_select)
    if answer is None:
        return None
    for name in spec.after_extract:
        answer = _TRANSFORM_FNS[name](answer)
    return answer


@dataclass(frozen=True)
class Match:
    """One output matched against one item's accepted answers."""

    #: What the extractor found (before normalisers), None when it found nothing.
    extracted: str | None
    outcome: Outcome
    #: 1.0 or 0.0; for ``f1`` the best F1 (also when below the threshold); 0.0 when unparsed.
    score: float
    #: The extracted answer after the normalisers (None when unparsed).
    normalised: str | None = None
    #: The accepted answer (as given) that matched (correct) or was found in the output
    #: (misformatted); for ``f1`` the best-scoring one; None for a callable metric's correct.
    answer: str | None = None


def _metric(normalised: str, targets: list[str], spec: MatchSpec) -> tuple[bool, float, int | None]:
    """(correct, score, index of the accepted answer behind it)."""
    metric = spec.metric
    if metric == "exact":
        hit = next((i for i, t in enumerate(targets) if normalised == t), None)
        return hit is not None, float(hit is not None), hit
    if metric == "contains":
        hit = next((i for i, t in enumerate(targets) if contains_words(normalised, t)), None)
        return hit is not None, float(hit is not None), hit
    if metric == "f1":
        scores = [f1_score(normalised, t) for t in targets]
        best = max(range(len(scores)), key=scores.__getitem__)
        return scores[best] >= spec.f1_threshold, scores[best], best
    assert callable(metric)
    result = metric(normalised, list(targets))
    if type(result).__name__ not in ("bool", "bool_"):  # Python's or numpy's bool
        name = getattr(metric, "__name__", "the metric")
        raise InputError(f"{name} returned {result!r}; a metric callable must return a bool", field="metric")
    return bool(result), float(bool(result)), None


def match(output: str | None, targets: Sequence[str] | str, spec: MatchSpec = DEFAULT_SPEC) -> Match:
    """Match one model output against an item's accepted answers: exactly one outcome.

    unparsed when the extractor finds nothing (or only whitespace); else correct when the
    normalised extracted answer passes the metric; else misformatted when an accepted answer
    appears as whole words in the whole output (through the same transforms and normalisers);
    else wrong. ``targets`` are checked by :meth:`MatchSpec.check_answers` (InputError).
    """
    answers = spec.check_answers(targets)
    extracted = extract(output, spec)
    if extracted is None or not extracted.strip():
        return Match(extracted, "unparsed", 0.0)
    targets_n = [spec.normalise(a) for a in answers]
    normalised = spec.normalise(extracted)
    correct, score, hit = _metric(normalised, targets_n, spec)
    if correct:
        return Match(extracted, "correct", score, normalised, None if hit is None else answers[hit])
    whole = output if isinstance(output, str) else ""
    for name in (*spec.before_extract, *spec.after_extract):
        whole = _TRANSFORM_FNS[name](whole)
    whole = spec.normalise(whole)
    for answer, target in zip(answers, targets_n):
        if contains_words(whole, target):
            return Match(extracted, "misformatted", score, normalised, answer)
    return Match(extracted, "wrong", score, normalised)


def outcome_rates(outcomes: Sequence[str | Match]) -> dict[str, float]:
    """Each outcome's share of ``outcomes`` (names or :class:`Match` es), keys in :data:`OUTCOMES`
    order, summing to 1; all 0.0 for no outcomes."""
    names = [o.outcome if isinstance(o, Match) else o for o in outcomes]
    for name in names:
        if name not in OUTCOMES:
            raise InputError(_unknown("outcome", name, OUTCOMES), field="outcome")
    counts = Counter(names)
    n = len(names)
    return {name: (counts[name] / n if n else 0.0) for name in OUTCOMES}


# --- lm-evaluation-harness filter pipelines -------------------------------------------------


def _pipeline(filter_list: Any, name: str | None) -> tuple[list[Any], str]:
    """The steps of one pipeline, and the field prefix naming where they are."""
    if isinstance(filter_list, Mapping) and "filter" in filter_list:
        return filter_list["filter"], "filter"
    if not isinstance(filter_list, Sequence) or isinstance(filter_list, str) or not filter_list:
        raise _refuse(f"must be a non-empty list of filter steps, got {filter_list!r}", "filter_list")
    if all(isinstance(p, Mapping) and "filter" in p for p in filter_list):  # a task's whole filter_list
        names = [str(p.get("name")) for p in filter_list]
        if name is None and len(filter_list) == 1:
            return filter_list[0]["filter"], "filter_list[0].filter"
        if name not in names:
            wanted = "name one" if name is None else f"no pipeline named {name!r}"
            raise _refuse(f"{wanted} of the pipelines {', '.join(names)}", "filter_list")
        i = names.index(name)
        return filter_list[i]["filter"], f"filter_list[{i}].filter"
    return list(filter_list), "filter"


def from_lm_eval_filters(
    filter_list: Any,
    *,
    name: str | None = None,
    normalisers: Sequence[str] = DEFAULT_NORMALISERS,
    metric: str | MetricFn = "exact",
    f1_threshold: float = F1_THRESHOLD,
    source: str | None = None,
    line: int | None = None,
) -> MatchSpec:
    """A :class:`MatchSpec` from an lm-eval task YAML's ``filter_list``: one pipeline's steps
    (``[{function: regex, regex_pattern: ..., group_select: -1}, {function: take_first}]``), a
    ``{name, filter}`` entry, or the whole ``filter_list`` with ``name`` picking the pipeline.

    Mirrored, with lm-eval's semantics: ``take_first`` (no-op on one output; it must be last),
    ``regex`` (``regex_pattern``, ``group_select``, ``fallback``; lm-eval's defaults; a pattern
    without a group is wrapped in one, which is what ``re.findall`` returns for it; at most one
    regex), ``remove_whitespace``, ``lowercase``, ``uppercase`` (before or after the regex, as
    placed). Without a regex the extractor is ``whole``. A regex that finds nothing is unparsed,
    whatever ``fallback`` says. Every other function is refused in one line naming it.
    lm-eval's metric options (``ignore_case``, ...) live in ``metric_list``, not here: pass
    ``normalisers``.
    """
    try:
        return _from_lm_eval(filter_list, name, normalisers, metric, f1_threshold)
    except InputError as error:
        raise InputError(error.message, field=error.field, file=source, line=line) from None


def _from_lm_eval(
    filter_list: Any, name: str | None, normalisers: Sequence[str], metric: str | MetricFn, f1_threshold: float
) -> MatchSpec:
    steps, where = _pipeline(filter_list, name)
    if not isinstance(steps, Sequence) or isinstance(steps, str) or not steps:
        raise _refuse(f"must be a non-empty list of filter steps, got {steps!r}", where)
    before: list[str] = []
    after: list[str] = []
    pattern: str | None = None
    group_select = 0
    for i, step in enumerate(steps):
        field = f"{where}[{i}]"
        if not isinstance(step, Mapping) or "function" not in step:
            raise _refuse(f"must be a mapping with a 'function' name, got {step!r}", field)
        if not isinstance(step["function"], str):  # `!function utils.X`: a class from the task's Python code
            raise _refuse(
                f"filter {step['function']!r} is not mirrored: it is Python code from the task (!function),"
                f" not a named filter (mirrored: {', '.join(LM_EVAL_MIRRORED)})",
                field + ".function",
            )
        function = step["function"]
        options = {k: v for k, v in step.items() if k != "function"}
        field += ".function"
        if function not in LM_EVAL_MIRRORED:
            why = _NOT_MIRRORED.get(function, "it is not an lm-eval filter promptcheck knows")
            raise _refuse(
                f"filter {function!r} is not mirrored: {why} (mirrored: {', '.join(LM_EVAL_MIRRORED)})", field
            )
        allowed = ("regex_pattern", "group_select", "fallback") if function == "regex" else ()
        for key in options:
            if key not in allowed:
                raise _refuse(f"{function} takes {', '.join(allowed) if allowed else 'no options'}, got {key!r}", field)
        if function == "take_first":
            if i != len(steps) - 1:
                raise _refuse(
                    "take_first must be the last step (lm-eval's later steps would see single characters)", field
                )
        elif function == "regex":
            if pattern is not None:
                raise _refuse("a second regex step; promptcheck mirrors one regex per pipeline", field)
            pattern = options.get("regex_pattern", LM_EVAL_REGEX_DEFAULT)
            compiled = _compile(pattern, field.replace(".function", ".regex_pattern"))
            if compiled.groups == 0:
                # findall returns the whole match for a group-less pattern: one group around it is the same.
                assert isinstance(pattern, str)
                wrapped = f"({pattern})"
                try:
                    re.compile(wrapped)
                except re.error:
                    raise _refuse(
                        f"{pattern!r} has no capture group and cannot be wrapped in one; add one",
                        field.replace(".function", ".regex_pattern"),
                    ) from None
                pattern = wrapped
            group_select = options.get("group_select", 0)
            if isinstance(group_select, bool) or not isinstance(group_select, int):
                raise _refuse(f"must be an integer, got {group_select!r}", field.replace(".function", ".group_select"))
            fallback = options.get("fallback", LM_EVAL_FALLBACK)
            if not isinstance(fallback, str):
                raise _refuse(f"must be text, got {fallback!r}", field.replace(".function", ".fallback"))
        else:
            (after if pattern is not None else before).append(function)
    return MatchSpec(
        normalisers=tuple(normalisers),
        extractor="regex" if pattern is not None else "whole",
        pattern=pattern,
        group_select=group_select,
        metric=metric,
        f1_threshold=f1_threshold,
        before_extract=tuple(before),
        after_extract=tuple(after),
    )
