"""Render instruction x item into the text a model sees and the continuations it scores.

Rendering is kept apart from scoring so that every backend (in-process transformers, a
served model) sees the same prompts, and so a report can show exactly what was asked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from promptcheck.tasks.records import INPUT_SLOT, LETTERS, MCItem, Task

#: Turns the user's message into the model's full prompt text (e.g. a tokenizer's chat
#: template with the assistant turn opened), or ``None`` to use the raw text.
ChatFormatter = Callable[[str], str]


@dataclass(frozen=True)
class PromptFormat:
    """The non-instruction parts of a prompt, varied by ``promptcheck.strategies.formats()``.

    Spurious formatting (separators, choice labels, answer cue) moves small models' accuracy
    too (FormatSpread, Sclar et al. 2023); the defaults are what every run uses unless told.
    """

    separator: str = "\n\n"  # between the instruction and the item
    choice_label: str = "{letter}. "  # letters format: each choice line starts with this
    answer_cue: str = "\nAnswer:"  # after the item when there is no chat template
    options_prefix: str = "Options: "  # texts format with show_choices

    def label(self, index: int) -> str:
        return self.choice_label.format(letter=LETTERS[index], number=index + 1)


DEFAULT_FORMAT = PromptFormat()


@dataclass(frozen=True)
class Prompt:
    """What a scorer needs for one (instruction, item): the context and one continuation per choice."""

    context: str
    continuations: tuple[str, ...]


def user_message(
    instruction: str,
    item: MCItem,
    *,
    format: str,
    show_choices: bool = False,
    prompt_format: PromptFormat = DEFAULT_FORMAT,
) -> str:
    """The instruction, then the item, then its choices (as lettered options or a list).

    An instruction holding :data:`~promptcheck.tasks.records.INPUT_SLOT` (``{input}``) has the
    item and its choices put there instead: instructions after the input, or around it. The
    instruction is used as given (not stripped): whitespace and newline edits are part of what
    formatting paraphrases vary.
    """
    parts = [item.question.strip()] if item.question.strip() else []  # BIG-bench items may have no input
    if format == "letters":
        parts += [f"{prompt_format.label(i)}{c}" for i, c in enumerate(item.choices)]
    elif show_choices:
        parts.append(prompt_format.options_prefix + ", ".join(item.choices))
    body = "\n".join(parts)
    if INPUT_SLOT in instruction:
        return instruction.replace(INPUT_SLOT, body)
    return instruction + prompt_format.separator + body


def continuations(item: MCItem, *, format: str, chat: bool) -> tuple[str, ...]:
    """The answer strings to score.

    After a chat template the assistant turn starts on a fresh line, so the answer has no
    leading space ("A"); after a plain "Answer:" it does (" A"). Token boundaries are found
    later by tokenizing context and continuation together, never by assuming a token.
    """
    lead = "" if chat else " "
    if format == "letters":
        return tuple(lead + LETTERS[i] for i in range(len(item.choices)))
    return tuple(lead + c.strip() for c in item.choices)


def render(
    instruction: str,
    item: MCItem,
    task: Task,
    *,
    chat_formatter: ChatFormatter | None = None,
    prompt_format: PromptFormat = DEFAULT_FORMAT,
) -> Prompt:
    """One prompt for ``item`` under ``instruction``, in the task's answer format."""
    text = user_message(
        instruction, item, format=task.format, show_choices=task.show_choices, prompt_format=prompt_format
    )
    if chat_formatter is not None:
        context = chat_formatter(text)
    else:
        context = text + prompt_format.answer_cue
    return Prompt(
        context=context, continuations=continuations(item, format=task.format, chat=chat_formatter is not None)
    )
