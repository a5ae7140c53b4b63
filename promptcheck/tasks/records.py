"""Records for tasks: items (multiple-choice and free-form), instructions and the task that binds them.

They are frozen dataclasses so a task can be hashed, shared between threads and never
changed behind a result's back. They know nothing about models or prompts.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Literal

from promptcheck.errors import InputError
from promptcheck.options import INSTRUCTION_KINDS
from promptcheck.tasks.matching import MatchSpec

InstructionKind = Literal["reference", "observed", "unobserved", "generated"]
__all__ = ["INSTRUCTION_KINDS"]  # re-exported: where the records are, users look for it

AnswerFormat = Literal["letters", "texts"]
ANSWER_FORMATS: tuple[str, ...] = ("letters", "texts")

TaskKind = Literal["mcqa", "classification", "yesno", "nli"]
TASK_KINDS: tuple[str, ...] = ("mcqa", "classification", "yesno", "nli")

LengthNorm = Literal["none", "tokens", "chars"]
LENGTH_NORMS: tuple[str, ...] = ("none", "tokens", "chars")

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def stable_item_id(question: str, choices: tuple[str, ...]) -> str:
    """An id that survives reordering and editing of *other* items in a suite.

    Runs are compared item by item (paired statistics), so an item must keep its id when
    the file around it changes; hashing its own content does that.
    """
    payload = json.dumps([question, list(choices)], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:12]


@dataclass(frozen=True)
class MCItem:
    """One multiple-choice item: a question (or input text), its choices and the right one(s).

    ``answers`` is the set of correct choices, sorted; most items have one, but real benchmark
    files have items where several choices are right (BIG-bench ties at the top score, which
    BIG-bench itself grades as "either is right"). ``answer`` is the first of them, so code
    and files that know one answer keep working. A prediction is correct when it is any of
    ``answers`` (:meth:`is_correct`), BIG-bench's multiple-choice grade.
    """

    id: str
    question: str
    choices: tuple[str, ...]
    answer: int
    #: Where the item was read from, for error messages ("file:line").
    source: str = field(default="", compare=False)
    #: Every correct choice (sorted); defaults to ``(answer,)``.
    answers: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if not self.answers:
            object.__setattr__(self, "answers", (self.answer,))
        else:
            object.__setattr__(self, "answers", tuple(sorted(set(self.answers))))
            if self.answer != self.answers[0]:
                raise ValueError(f"answer {self.answer} must be the first of answers {self.answers}")

    @property
    def answer_text(self) -> str:
        return self.choices[self.answer]

    def is_correct(self, choice: int) -> bool:
        """Whether predicting ``choice`` is right (any of the correct choices)."""
        return choice in self.answers

    @property
    def chance(self) -> float:
        """Expected accuracy of a uniform random guess on this item."""
        return len(self.answers) / len(self.choices)


@dataclass(frozen=True)
class GenItem:
    """One free-form item: an input the model answers in its own words, and the answers accepted.

    ``targets`` are every accepted answer (BIG-bench's ``target`` string or list; an answer
    matching any of them is right, BIG-bench's ``exact_str_match``). There are no choices to
    pick from, so nothing is scored by log-probability and guessing is worth nothing (``chance``
    0); the task's :class:`~promptcheck.tasks.matching.MatchSpec` says how an answer is matched.
    """

    id: str
    question: str
    targets: tuple[str, ...]
    source: str = field(default="", compare=False)

    #: No choices: prompts list none and scorers score none.
    choices: tuple[str, ...] = field(default=(), init=False, repr=False)
    answers: tuple[int, ...] = field(default=(), init=False, repr=False)

    @property
    def chance(self) -> float:
        """A free-form answer is not picked from a list: guessing gets nothing."""
        return 0.0


#: Any item a task holds: every item of a task is of one kind.
Item = MCItem | GenItem


@dataclass(frozen=True)
class GenerationSettings:
    """How a free-form answer is written: greedy decoding, at most ``max_new_tokens``, cut at a ``stop``.

    The default reads 32 tokens with no stop string: the default matching reads the first
    non-empty line, so a stop at a newline would cut an answer that starts with one.
    """

    max_new_tokens: int = 32
    stop: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        n = self.max_new_tokens
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise InputError(f"must be a positive integer, got {n!r}", field="max_new_tokens")
        stop = (self.stop,) if isinstance(self.stop, str) else self.stop
        if not isinstance(stop, (tuple, list)) or not all(isinstance(s, str) and s for s in stop):
            raise InputError(f"must be a list of non-empty strings, got {self.stop!r}", field="stop")
        object.__setattr__(self, "stop", tuple(stop))

    def to_json(self) -> dict[str, object]:
        return {"max_new_tokens": self.max_new_tokens, "stop": list(self.stop)}


#: Where the item goes in an instruction that is not simply put before it: "{input}\n\nIs the
#: review above negative or positive?" puts the instruction after the input. Without the slot
#: the instruction comes first, then the item (``prompts.rendering.user_message``).
INPUT_SLOT = "{input}"


@dataclass(frozen=True)
class Instruction:
    """An instruction text and where it comes from.

    ``edits`` lists the paraphrase edits that produced a generated instruction from the
    reference, so a report can say *what* changed; it is empty for written instructions.
    """

    text: str
    kind: InstructionKind
    edits: tuple[str, ...] = ()


@dataclass(frozen=True)
class PromptLayout:
    """A task's own prompt layout, for a task whose prompts someone else defines (lm-eval's).

    Without one (``Task.layout is None``) promptcheck lays a prompt out itself
    (``prompts.rendering.user_message``: instruction, separator, stripped item, answer cue). With
    one, the item's question is used verbatim (it carries its own answer cue, e.g. lm-eval's
    ``doc_to_text`` ending in ``"\\nAnswer:"``) and the prompt is
    ``before + instruction + separator + question``; each choice is scored as ``delimiter +
    choice`` (lm-eval's ``target_delimiter``). With a chat template, ``system`` puts
    ``before + instruction + separator`` in a system turn and the question in the user turn (where
    lm-eval's ``--apply_chat_template`` puts a task's ``description``), otherwise all of it is the
    user turn; the choice then follows ``chat_delimiter``. An instruction holding
    :data:`INPUT_SLOT` has the question put there, all in the user turn.
    """

    before: str = ""
    separator: str = "\n\n"
    delimiter: str = " "
    chat_delimiter: str = ""
    system: bool = False


@dataclass(frozen=True)
class Task:
    """A task with its reference instruction and its instruction sets.

    ``observed`` are phrasings a model was tuned on (the paper's "observed" instructions),
    ``unobserved`` new but equivalent ones. A multiple-choice task's ``format`` says how answers
    are scored: ``letters`` scores the answer letters A/B/C.. after listing the choices,
    ``texts`` scores each choice's own text as the continuation. A generative task
    (``generation`` set, every item a :class:`GenItem`) has the model write its answer, which
    ``matching`` matches against the item's targets.
    """

    name: str
    items: tuple[Item, ...]
    reference_instruction: str
    observed: tuple[str, ...] = ()
    unobserved: tuple[str, ...] = ()
    format: AnswerFormat = "texts"
    kind: TaskKind = "mcqa"
    #: How a text-format choice's log-probability is normalised before the argmax.
    length_norm: LengthNorm = "none"
    #: Whether a texts-format prompt lists the choices (letters always does). Off by default:
    #: small models score choice texts better when not shown a list (measured: docs/suite-format.md).
    show_choices: bool = False
    #: The file the task came from, and a hash of its content and its items' content.
    source: str = field(default="", compare=False)
    source_hash: str = field(default="", compare=False)
    #: ``limit``: items were a seeded sample of this many (promptcheck.tasks.sampling), drawn with
    #: ``sample_seed`` from ``population`` items; ``None`` when every item is used.
    limit: int | None = None
    sample_seed: int = 0
    population: int = 0
    #: The task's own prompt layout (lm-eval tasks: as lm-eval lays its prompts out); ``None``:
    #: promptcheck's (``prompts.rendering``), for every task read from a suite or items file.
    layout: PromptLayout | None = None
    #: How answers are written (a generative task); ``None``: a multiple-choice task.
    generation: GenerationSettings | None = None
    #: How a written answer is matched against the targets (a generative task; the default rule when None).
    matching: MatchSpec | None = None

    @property
    def generative(self) -> bool:
        """Whether the model writes its answers (free-form items) instead of picking a choice."""
        return self.generation is not None

    def match_spec(self) -> MatchSpec:
        """The task's matching, or the default rule (first non-empty line, exact after normalising)."""
        from promptcheck.tasks.matching import DEFAULT_SPEC

        return self.matching or DEFAULT_SPEC

    def instructions(self) -> list[Instruction]:
        """The reference instruction, then every observed and unobserved one, in file order."""
        out = [Instruction(self.reference_instruction, "reference")]
        out += [Instruction(t, "observed") for t in self.observed]
        out += [Instruction(t, "unobserved") for t in self.unobserved]
        return out

    @property
    def n_choices(self) -> int:
        """Most choices of an item (0 for a generative task: there are none)."""
        return max((len(i.choices) for i in self.items), default=0)

    @property
    def chance(self) -> float:
        """Accuracy of uniform random guessing: the mean over items of |correct| / |choices|."""
        return sum(i.chance for i in self.items) / len(self.items) if self.items else float("nan")
