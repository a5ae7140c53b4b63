"""Render instruction x item into the text a model sees and the continuations it scores.

Rendering is kept apart from scoring so that every backend (in-process transformers, a
served model) sees the same prompts, and so a report can show exactly what was asked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from promptcheck.tasks.records import LETTERS, MCItem, Task

#: Turns the user's message into the model's full prompt text (e.g. a tokenizer's chat
#: template with the assistant turn opened), or ``None`` to use the raw text.
ChatFormatter = Callable[[str], str]


@dataclass(frozen=True)
class Prompt:
    """What a scorer needs for one (instruction, item): the context and one continuation per choice."""

    context: str
    continuations: tuple[str, ...]


def user_message(instruction: str, item: MCItem, *, format: str, show_choices: bool = False) -> str:
    """The instruction, then the item, then its choices (as lettered options or a list)."""
    parts = [instruction.strip(), "", item.question.strip()]
    if format == "letters":
        parts += [f"{LETTERS[i]}. {c}" for i, c in enumerate(item.choices)]
    elif show_choices:
        parts.append("Options: " + ", ".join(item.choices))
    return "\n".join(parts)


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
) -> Prompt:
    """One prompt for ``item`` under ``instruction``, in the task's answer format."""
    text = user_message(instruction, item, format=task.format, show_choices=task.show_choices)
    if chat_formatter is not None:
        context = chat_formatter(text)
    else:
        context = text + "\nAnswer:"
    return Prompt(context=context, continuations=continuations(item, format=task.format,
                                                               chat=chat_formatter is not None))
