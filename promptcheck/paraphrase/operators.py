"""Paraphrase operators: small, named, deterministic edits of an instruction.

Each operator takes the current text, a seeded ``random.Random`` and the protected words
(label and answer-format words the instruction depends on), and returns the edited text and a
short description of the change, or ``None`` when it does not apply. Operators never call the
model under test. Families:

- ``lexical``: synonym substitution (WordNet through nlpaug's SynonymAug, checked against the
  word's most common senses; and a small curated table of instruction verbs and nouns)
- ``syntactic``: imperative <-> question <-> polite request, "the following" <-> "this",
  clause reordering
- ``framing``: task-framing prefixes and suffixes ("Task:", "Instruction:")
- ``formatting``: casing, final punctuation, whitespace, newlines (FormatSpread, Sclar et al. 2023)
- ``noise``: keyboard / OCR typos through nlpaug; opt-in, since typos are not clean paraphrases
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from promptcheck.paraphrase.edits import WORD as _WORD
from promptcheck.paraphrase.edits import EditFn, EditResult, protected_intact, words_of

__all__ = ["REGISTRY", "EditFn", "EditResult", "Operator", "operator", "operators", "protected_intact", "words_of"]

FAMILIES = ("lexical", "syntactic", "framing", "formatting", "noise")
#: Families used when none are named: every clean family (noise is opt-in).
DEFAULT_FAMILIES = ("lexical", "syntactic", "framing", "formatting")


@dataclass(frozen=True)
class Operator:
    """A named edit. ``apply`` is deterministic for a given ``random.Random`` state."""

    name: str
    family: str
    fn: EditFn
    doc: str

    @property
    def id(self) -> str:
        return f"{self.family}.{self.name}"

    def apply(self, text: str, rng: random.Random, protected: frozenset[str] = frozenset()) -> EditResult:
        out = self.fn(text, rng, protected)
        if out is None or out[0] == text or not out[0].strip():
            return None
        return out


REGISTRY: dict[str, Operator] = {}


def operator(family: str, name: str) -> Callable[[EditFn], EditFn]:
    """Register ``fn`` as operator ``family.name``; its docstring says what it does."""

    def wrap(fn: EditFn) -> EditFn:
        op = Operator(name, family, fn, (fn.__doc__ or "").strip().splitlines()[0])
        REGISTRY[op.id] = op
        return fn

    return wrap


def operators(families: Sequence[str] | None = None) -> list[Operator]:
    """Registered operators of the given families (default: the clean ones), in a stable order."""
    from promptcheck.errors import InputError

    fams = tuple(families) if families else DEFAULT_FAMILIES
    for f in fams:
        if f not in FAMILIES:
            raise InputError(
                f"unknown paraphrase family {f!r}; expected one of {', '.join(FAMILIES)}", field="families"
            )
    return [op for key, op in sorted(REGISTRY.items()) if op.family in fams]


def _lower_first(s: str) -> str:
    # Keep "I", acronyms and letters like "A" as they are.
    first = s.split(" ", 1)[0]
    if len(first) > 1 and first[1:].islower():
        return s[0].lower() + s[1:]
    return s


def _upper_first(s: str) -> str:
    return s[:1].upper() + s[1:]


def _split_first_sentence(text: str) -> tuple[str, str, str]:
    """(first sentence without its end mark, end mark, rest)."""
    m = re.match(r"^\s*(.+?)([.!?:])(\s+.*|\s*)$", text, flags=re.S)
    if not m:
        return text.strip(), "", ""
    return m.group(1), m.group(2), m.group(3)


# -- syntactic ----------------------------------------------------------------------------------
_QUESTION_START = re.compile(r"^(is|are|does|do|can|could|would|will|what|which|who|how|why|should)\b", re.I)
_POLITE_START = re.compile(r"^(please|kindly|could you|can you|would you|i'd like you to|i would like you to)\b", re.I)


_NOT_VERBS = {
    "given",
    "here",
    "your",
    "you",
    "the",
    "this",
    "these",
    "in",
    "for",
    "based",
    "task",
    "instruction",
    "instructions",
    "a",
    "an",
    "there",
    "it",
    "we",
    "i",
    "each",
    "every",
    "below",
    "following",
}


def _is_imperative(sentence: str) -> bool:
    """A command sentence: starts with a capitalised word that is not a known non-verb opener."""
    words = sentence.split()
    return (
        len(words) >= 2
        and words[0][:1].isupper()
        and words[0].lower().strip(",") not in _NOT_VERBS
        and not _QUESTION_START.match(sentence)
        and not _POLITE_START.match(sentence)
        and ":" not in sentence
        and "," not in words[0]
    )


def _leading_command(text: str) -> tuple[str, str] | None:
    """(first sentence without its end mark, the rest) when the text opens with a command, else None."""
    first, mark, rest = _split_first_sentence(text)
    if mark not in (".", "!") or not _is_imperative(first):
        return None
    return first, rest


@operator("syntactic", "imperative_to_question")
def imperative_to_question(text: str, rng: random.Random, protected: frozenset[str]) -> EditResult:
    """Turn a leading command into a question: "Answer X." -> "Can you answer X?"."""
    command = _leading_command(text)
    if command is None:
        return None
    first, rest = command
    lead = rng.choice(["Can you", "Could you", "Would you"])
    return f"{lead} {_lower_first(first)}?{rest}", f"'{first[:24]}...' -> question ('{lead} ...?')"


@operator("syntactic", "imperative_to_polite")
def imperative_to_polite(text: str, rng: random.Random, protected: frozenset[str]) -> EditResult:
    """Turn a leading command into a polite request: "Answer X." -> "Please answer X."."""
    command = _leading_command(text)
    if command is None:
        return None
    first, rest = command
    lead = rng.choice(["Please", "Kindly", "I would like you to"])
    return f"{lead} {_lower_first(first)}.{rest}", f"command -> polite request ('{lead} ...')"


@operator("syntactic", "polite_to_imperative")
def polite_to_imperative(text: str, rng: random.Random, protected: frozenset[str]) -> EditResult:
    """Drop a politeness or question frame: "Please answer X." / "Can you answer X?" -> "Answer X."."""
    m = re.match(
        r"^\s*(please|kindly|could you(?: please)?|can you(?: please)?|would you(?: please)?|"
        r"i would like you to|i'd like you to)\s+(.+?)[.?!]?(\s+.*|\s*)$",
        text,
        flags=re.I | re.S,
    )
    if not m or len(m.group(2).split()) < 2:
        return None
    return f"{_upper_first(m.group(2))}.{m.group(3)}", f"drop '{m.group(1)}' -> command"


_DEMONSTRATIVES = [
    (r"\bthe following\b", ["this", "the given", "the next"]),
    (r"\bthis\b", ["the following", "the given"]),
    (r"\bthe given\b", ["the following", "this"]),
    (r"\bthe next\b", ["the following", "this"]),
]


@operator("syntactic", "demonstrative")
def demonstrative(text: str, rng: random.Random, protected: frozenset[str]) -> EditResult:
    """Swap how the item is pointed at: "the following" <-> "this" <-> "the given"."""
    options = [(pat, alts) for pat, alts in _DEMONSTRATIVES if re.search(pat, text, flags=re.I)]
    if not options:
        return None
    pat, alts = options[0]
    new = rng.choice(alts)
    m = re.search(pat, text, flags=re.I)
    assert m is not None
    old = m.group(0)
    repl = new.upper() if old.isupper() else (_upper_first(new) if old[0].isupper() else new)
    return text[: m.start()] + repl + text[m.end() :], f"'{old}' -> '{repl}'"


_NP_STOP = {
    "as",
    "or",
    "and",
    "into",
    "with",
    "by",
    "from",
    "in",
    "of",
    "to",
    "using",
    "is",
    "are",
    "on",
    "for",
    "that",
    "which",
    "about",
    "based",
}


def _noun_phrase(text: str, start: int) -> tuple[int, str] | None:
    """The 1-3 words after ``start`` up to a preposition or punctuation: a short noun phrase."""
    words: list[str] = []
    pos = start
    for m in re.finditer(r"\s*([A-Za-z-]+)", text[start:]):
        if m.start() != pos - start or m.group(1).lower() in _NP_STOP or len(words) == 3:
            break
        words.append(m.group(1))
        pos = start + m.end()
    return (pos, " ".join(words)) if words else None


@operator("syntactic", "following_to_below")
def following_to_below(text: str, rng: random.Random, protected: frozenset[str]) -> EditResult:
    """Move the pointer after the noun: "the following question" -> "the question below"."""
    m = re.search(r"\b(the following) ", text, flags=re.I)
    if not m:
        return None
    np_ = _noun_phrase(text, m.end() - 1)
    if np_ is None:
        return None
    end, phrase = np_
    where = rng.choice(["below", "that follows"])
    repl = ("The " if m.group(1)[0] == "T" else "the ") + f"{phrase} {where}"
    return text[: m.start()] + repl + text[end:], f"'{text[m.start() : end]}' -> '{repl}'"


@operator("syntactic", "clause_reorder")
def clause_reorder(text: str, rng: random.Random, protected: frozenset[str]) -> EditResult:
    """Put the object first: "Answer the following question." -> "Here is a question. Answer it."."""
    m = re.match(
        r"^\s*([A-Z][a-z]+) (?:the following|this|the given) ((?:[a-z-]+ ){0,3}?[a-z-]+)"
        r"((?: as| into| with| by| from| using)\b[^.?!]*)?([.!])(\s+.*|\s*)$",
        text,
        flags=re.S,
    )
    if not m:
        return None
    verb, noun, tail, _, rest = m.group(1), m.group(2), m.group(3) or "", m.group(4), m.group(5)
    article = "an" if noun[0] in "aeiou" else "a"
    if rng.random() < 0.5:
        new = f"Here is {article} {noun}. {verb} it{tail}."
    else:
        new = f"Given the {noun} below, {verb.lower()} it{tail}."
    return new + rest, f"object first ('{new[:28]}...')"


@operator("syntactic", "sentence_swap")
def sentence_swap(text: str, rng: random.Random, protected: frozenset[str]) -> EditResult:
    """Swap the order of two sentences when an instruction has exactly two."""
    parts = re.findall(r"[^.!?]+[.!?]", text.strip())
    if len(parts) != 2 or "".join(parts).strip() != text.strip():
        return None
    a, b = parts[0].strip(), parts[1].strip()
    return f"{b} {a}", "swap the two sentences"


# -- framing ------------------------------------------------------------------------------------
_PREFIXES = ["Task: ", "Instruction: ", "Instructions: ", "### Instruction:\n", "Your task: "]
_SUFFIXES = [" Give your answer.", " Reply with your answer.", "\nAnswer below."]


@operator("framing", "prefix")
def framing_prefix(text: str, rng: random.Random, protected: frozenset[str]) -> EditResult:
    """Add a task-framing label in front: "Task: ...", "Instruction: ..."."""
    if re.match(r"^\s*(#+\s*)?(task|instructions?|your task)\s*:", text, flags=re.I):
        return None
    p = rng.choice(_PREFIXES)
    return p + text, f"prefix {p.strip()!r}"


@operator("framing", "suffix")
def framing_suffix(text: str, rng: random.Random, protected: frozenset[str]) -> EditResult:
    """Add a neutral closing request: "... Give your answer."."""
    s = rng.choice(_SUFFIXES)
    if text.rstrip().endswith(s.strip()) or text.rstrip()[-1:] not in ".?!":
        return None
    return text.rstrip() + s, f"suffix {s.strip()!r}"


@operator("framing", "drop_prefix")
def framing_drop_prefix(text: str, rng: random.Random, protected: frozenset[str]) -> EditResult:
    """Remove a task-framing label: "Task: Answer ..." -> "Answer ..."."""
    m = re.match(r"^\s*(#+\s*)?(task|instructions?|your task)\s*:\s*", text, flags=re.I)
    if not m:
        return None
    return _upper_first(text[m.end() :]), f"drop {m.group(0).strip()!r}"


# -- formatting ---------------------------------------------------------------------------------
@operator("formatting", "lowercase")
def lowercase(text: str, rng: random.Random, protected: frozenset[str]) -> EditResult:
    """All lower case."""
    return text.lower(), "lower case"


@operator("formatting", "uppercase")
def uppercase(text: str, rng: random.Random, protected: frozenset[str]) -> EditResult:
    """ALL UPPER CASE."""
    return text.upper(), "upper case"


@operator("formatting", "title_case")
def title_case(text: str, rng: random.Random, protected: frozenset[str]) -> EditResult:
    """Capitalise Every Word."""
    return " ".join(w[:1].upper() + w[1:] for w in text.split(" ")), "title case"


@operator("formatting", "end_punctuation")
def end_punctuation(text: str, rng: random.Random, protected: frozenset[str]) -> EditResult:
    """Change the final separator: "." <-> ":" <-> none <-> " -"."""
    stripped = text.rstrip()
    m = re.search(r"(\s*[.:!\-]|\s*)$", stripped)
    assert m is not None
    end = m.group(0)
    if stripped.endswith("?"):
        return None
    choices = [e for e in [".", ":", "", " -", " :"] if e != end]
    new = rng.choice(choices)
    return stripped[: len(stripped) - len(end)] + new, f"end {end.strip() or 'none'!r} -> {new.strip() or 'none'!r}"


@operator("formatting", "whitespace")
def whitespace(text: str, rng: random.Random, protected: frozenset[str]) -> EditResult:
    """Change spacing: double spaces between words, or a leading/trailing space or newline."""
    kind = rng.choice(["double", "trailing_newline", "leading_space", "trailing_space"])
    if kind == "double" and " " in text.strip():
        spaces = [m.start() for m in re.finditer(r"(?<=\S) (?=\S)", text)]
        at = rng.choice(spaces)
        return text[:at] + "  " + text[at + 1 :], "double space"
    if kind == "trailing_newline":
        return text + "\n", "trailing newline"
    if kind == "leading_space":
        return " " + text, "leading space"
    return text + " ", "trailing space"


@operator("formatting", "sentence_newlines")
def sentence_newlines(text: str, rng: random.Random, protected: frozenset[str]) -> EditResult:
    """Put each sentence on its own line (or join lines into one)."""
    if "\n" in text.strip():
        return re.sub(r"\s*\n\s*", " ", text.strip()), "join lines"
    new = re.sub(r"([.!?:])\s+(?=\S)", r"\1\n", text.strip())
    return (new, "one sentence per line") if new != text.strip() else None


# -- lexical ------------------------------------------------------------------------------------
#: Instruction vocabulary with replacements that keep the meaning in an instruction's context.
CURATED_SYNONYMS: dict[str, list[str]] = {
    "answer": ["respond to", "reply to"],
    "choose": ["select", "pick"],
    "select": ["choose", "pick"],
    "pick": ["choose", "select"],
    "classify": ["categorize", "label"],
    "categorize": ["classify", "label"],
    "determine": ["decide", "work out"],
    "decide": ["determine", "judge"],
    "identify": ["determine", "find"],
    "following": ["next", "subsequent"],
    "question": ["query", "problem"],
    "review": ["critique", "evaluation"],
    "sentiment": ["tone", "attitude"],
    "correct": ["right"],
    "given": ["provided"],
    "text": ["passage"],
    "tell": ["say"],
}


def _match_case(src: str, word: str) -> str:
    if src.isupper() and len(src) > 1:
        return word.upper()
    if src[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


@operator("lexical", "curated_synonym")
def curated_synonym(text: str, rng: random.Random, protected: frozenset[str]) -> EditResult:
    """Replace one instruction word with a close synonym from a curated table ("choose" -> "select")."""
    spots = [
        (m, m.group(0))
        for m in _WORD.finditer(text)
        if m.group(0).lower() in CURATED_SYNONYMS and m.group(0).lower() not in protected
    ]
    if not spots:
        return None
    m, word = rng.choice(spots)
    new = _match_case(word, rng.choice(CURATED_SYNONYMS[word.lower()]))
    return text[: m.start()] + new + text[m.end() :], f"'{word}' -> '{new}'"


@operator("lexical", "wordnet_synonym")
def wordnet_synonym(text: str, rng: random.Random, protected: frozenset[str]) -> EditResult:
    """Replace one word by a WordNet synonym (nlpaug SynonymAug), kept only if it shares a common sense."""
    from promptcheck.paraphrase import lexical

    return lexical.wordnet_substitute(text, rng, protected)


# -- noise (opt-in) -----------------------------------------------------------------------------
@operator("noise", "keyboard_typo")
def keyboard_typo(text: str, rng: random.Random, protected: frozenset[str]) -> EditResult:
    """One keyboard-neighbour typo (nlpaug KeyboardAug)."""
    from promptcheck.paraphrase import lexical

    return lexical.char_noise(text, rng, protected, kind="keyboard")


@operator("noise", "ocr_error")
def ocr_error(text: str, rng: random.Random, protected: frozenset[str]) -> EditResult:
    """One OCR-style confusion such as l -> 1, o -> 0 (nlpaug OcrAug)."""
    from promptcheck.paraphrase import lexical

    return lexical.char_noise(text, rng, protected, kind="ocr")
