"""Render instruction x item into the text a model sees and the continuations it scores.

Rendering is kept apart from scoring so that every backend (in-process transformers, a
served model) sees the same prompts, and so a report can show exactly what was asked.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from promptcheck.tasks.records import INPUT_SLOT, LETTERS, Item, PromptLayout, Task

#: Turns the user's message into the model's full prompt text (e.g. a tokenizer's chat
#: template with the assistant turn opened), or ``None`` to use the raw text. Called as
#: ``formatter(user_text)``; for a task whose layout has a system turn (an lm-eval task's
#: description) as ``formatter(user_text, system=text)`` when the formatter takes ``system``
#: (:func:`chat_template_text` does), else with the system text put before the user text.
ChatFormatter = Callable[..., str]


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
    item: Item,
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


def continuations(item: Item, *, format: str, chat: bool) -> tuple[str, ...]:
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
    item: Item,
    task: Task,
    *,
    chat_formatter: ChatFormatter | None = None,
    prompt_format: PromptFormat = DEFAULT_FORMAT,
) -> Prompt:
    """One prompt for ``item`` under ``instruction``, in the task's answer format.

    A task with its own :class:`~promptcheck.tasks.records.PromptLayout` (lm-eval tasks) is laid
    out by it, verbatim, and ``prompt_format`` does not apply (:func:`render_layout`).
    """
    if task.layout is not None:
        if prompt_format != DEFAULT_FORMAT:  # its prompts are lm-eval's: nothing of promptcheck's format applies
            from promptcheck.errors import InputError

            raise InputError(
                f"task {task.name!r} renders its prompts as lm-eval does (its own layout); a prompt format "
                "(separator, answer cue, choice labels) does not apply to it",
                field="prompt_format",
            )
        return render_layout(instruction, item, task.layout, chat_formatter=chat_formatter)
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


def render_layout(
    instruction: str, item: Item, layout: PromptLayout, *, chat_formatter: ChatFormatter | None = None
) -> Prompt:
    """A prompt laid out by a task's own layout: nothing stripped, no answer cue added.

    Chat template off, this is lm-eval's zero-shot context, ``description + doc_to_text``, with
    the instruction where the description is, and ``target_delimiter + choice`` per choice
    (lm-eval's ``ConfigurableTask.fewshot_context`` and ``construct_requests``). Chat template on,
    the instruction part is a system turn when ``layout.system`` (as lm-eval's
    ``--apply_chat_template`` puts the description) and the choice follows ``layout.chat_delimiter``.

    Whitespace ending the context moves to the start of every continuation, as lm-eval's
    ``TemplateLM._encode_pair`` moves it: the "\\n" a chat template ends its assistant header with
    is then scored with each choice, and the log-probabilities equal lm-eval's. A free-form item
    (no choices) keeps its context whole: lm-eval's ``generate_until`` generates after it as it is.
    """
    if INPUT_SLOT in instruction:
        head, text = "", layout.before + instruction.replace(INPUT_SLOT, item.question)
    else:
        head, text = layout.before + instruction + layout.separator, item.question
    if chat_formatter is None:
        context, lead = head + text, layout.delimiter
    elif layout.system and head and _takes_system(chat_formatter):
        context, lead = chat_formatter(text, system=head), layout.chat_delimiter
    else:
        context, lead = chat_formatter(head + text), layout.chat_delimiter
    if not item.choices:  # a free-form item: the model writes from the context as lm-eval gives it
        return Prompt(context=context, continuations=())
    kept = context.rstrip()
    if kept:
        lead, context = context[len(kept) :] + lead, kept
    return Prompt(context=context, continuations=tuple(lead + c for c in item.choices))


def _takes_system(formatter: ChatFormatter) -> bool:
    try:
        params = inspect.signature(formatter).parameters
    except (TypeError, ValueError):
        return False
    return "system" in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


def chat_template_text(tokenizer: Any, user_text: str, system: str | None = None) -> str:
    """A tokenizer's chat template around one user turn (and a system turn), assistant turn opened.

    With ``system``, as lm-eval's ``HFLM.apply_chat_template`` renders ``[system, user]``; a
    template that refuses a system role (jinja2 ``TemplateError``, e.g. Gemma's) makes lm-eval drop
    the system turn, while promptcheck puts its text before the user's in the user turn: the
    instruction a paraphrase changes must stay in the prompt.
    """
    user = {"role": "user", "content": user_text}
    if system:
        from jinja2.exceptions import TemplateError

        try:
            return str(
                tokenizer.apply_chat_template(
                    [{"role": "system", "content": system}, user], tokenize=False, add_generation_prompt=True
                )
            )
        except TemplateError:
            user = {"role": "user", "content": system + user_text}
    return str(tokenizer.apply_chat_template([user], tokenize=False, add_generation_prompt=True))
