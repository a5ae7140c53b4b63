"""The phrasings ``fix`` trains on: the space of ways people phrase a task, not five of them.

Five observed instructions do not span how others phrase a task (issue 16: held-out phrasings
further from the observed ones than those are from each other left the gap open). The pool
mixes, besides the suite's observed instructions:

- ``bank``: the written instruction bank of the task's kind (promptcheck/paraphrase/banks), used
  only when the label words the bank names are the task's answer choices (a sentiment bank must
  not teach "negative or positive" to a task answered with "yes"/"no", or with "neutral" too),
  and never for a free-form task (every bank asks to pick among options or labels);
- ``generated``: paraphrases of the reference and of each observed instruction from every clean
  operator family, behind the semantic-equivalence guard when its embedding model is installed;
- ``structural``: the reference recast as a question, a polite request, under a role framing,
  followed by an answer-format sentence, or inside a longer explanation.

  Also the reference and its question form *after* the input (``{input}`` marks where the
  item goes, docs/suite-format.md), since people write instructions there too.
Every phrasing equal (up to case, spacing and end punctuation) to the reference or to a
held-out instruction is dropped: a held-out instruction must never be trained on.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from promptcheck.paraphrase.banks import labels_fit
from promptcheck.tasks.records import INPUT_SLOT, Task

SOURCES = ("observed", "bank", "generated", "structural")

_ROLES = ("You are a careful assistant.", "You are an expert annotator.", "Act as a helpful tutor.")
_ANSWER_FORMATS = (
    "Answer with the correct option only.",
    "Reply with just the answer.",
    "Respond with one of the given options and nothing else.",
)
_LONG = (
    "Read the text below carefully before you respond. {ref} Give only your final answer.",
    "Here is an example to work on. {ref} Keep your reply short.",
)
_PREAMBLE = "Read the text below carefully before you respond."
#: A free-form task's answer-format sentences: it has no options to name.
_FREE_ANSWER_FORMATS = (
    "Reply with just the answer.",
    "Give the answer and nothing else.",
    "Answer in as few words as possible.",
)


@dataclass(frozen=True)
class Phrasing:
    text: str
    source: str  # one of SOURCES


def norm(text: str) -> str:
    """The key under which two phrasings count as the same instruction."""
    return re.sub(r"[\s.?!:]+$", "", re.sub(r"\s+", " ", text.strip().lower()))


def structural(reference: str, seed: int, *, free_form: bool = False) -> list[str]:
    """The reference as a question, a polite request, in a role, with an answer-format sentence, at length.

    A reference that already places the input (``Headline: {input}\nTopic:``) is a template
    whose end may be the answer cue: text after it, or a second ``{input}``, would break it (a
    user's suite did: ``{input}\n\nHeadline: {input}\nTopic:`` and ``...Topic: Reply with just
    the answer.``). It gets only what goes in front: roles, answer-format sentences, a preamble.
    A free-form task's answer-format sentences name no options (``free_form``).
    """
    ref = reference.strip()
    formats = _FREE_ANSWER_FORMATS if free_form else _ANSWER_FORMATS
    if INPUT_SLOT in ref:
        return [f"{pre} {ref}" for pre in (*_ROLES, *formats, _PREAMBLE)]
    from promptcheck.paraphrase.generate import protected_words
    from promptcheck.paraphrase.operators import imperative_to_polite, imperative_to_question

    protected = protected_words(reference)
    rng = random.Random(f"structural:{seed}")
    recast = {op: op(reference, rng, protected) for op in (imperative_to_question, imperative_to_polite)}
    out = [res[0] for res in recast.values() if res is not None]
    out += [f"{role} {ref}" for role in _ROLES]
    out += [f"{ref} {fmt}" for fmt in formats]
    out += [t.format(ref=ref) for t in _LONG]
    # After the input: the reference itself, and its question form when there is one.
    question = recast[imperative_to_question]
    out += [f"{INPUT_SLOT}\n\n{ref}"] + ([f"{INPUT_SLOT}\n\n{question[0]}"] if question else [])
    return out


def phrasing_pool(
    task: Task, *, sources: tuple[str, ...] = SOURCES, generated: int = 12, seed: int = 0
) -> list[Phrasing]:
    """Distinct training phrasings for ``task`` from ``sources``, never a held-out one."""
    banned = {norm(task.reference_instruction)} | {norm(t) for t in task.unobserved}
    seen: set[str] = set()
    out: list[Phrasing] = []

    def add(text: str, source: str) -> None:
        key = norm(text)
        if key and key not in banned and key not in seen:
            seen.add(key)
            out.append(Phrasing(text, source))

    if "observed" in sources:
        for t in task.observed:
            add(t, "observed")
    if "bank" in sources and not task.generative:  # every bank asks to pick among options or labels
        from promptcheck.paraphrase.banks import load_bank

        bank = load_bank(task.kind)
        if labels_fit(bank.labels, task):
            for t in bank.instructions("all"):
                add(t, "bank")
    if "structural" in sources:
        for t in structural(task.reference_instruction, seed, free_form=task.generative):
            add(t, "structural")
    if "generated" in sources and generated:
        from promptcheck.paraphrase.generate import paraphrases
        from promptcheck.paraphrase.guard import available

        guard = 0.8 if available() else None  # the equivalence guard, when its model is installed
        # A template around the input ("Headline: {input}\nTopic:") is left alone: formatting
        # operators would turn its answer cue "Topic:" into "Topic." (see structural()).
        bases = [b for b in (task.reference_instruction, *task.observed) if INPUT_SLOT not in b]
        per_base = max(1, -(-generated // len(bases))) if bases else 0
        made = 0
        for i, base in enumerate(bases):
            for p in paraphrases(base, n=per_base, seed=seed * 101 + i, min_similarity=guard):
                if made < generated and norm(p.text) not in seen and norm(p.text) not in banned:
                    add(p.text, "generated")
                    made += 1
    return out
