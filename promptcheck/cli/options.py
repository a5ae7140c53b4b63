"""typer options generated from :mod:`promptcheck.options` (help and defaults are read, never retyped).

:func:`with_options` adds one typer option per field of the given options classes to a
command's signature; the command receives them as one ``options`` mapping (field name ->
parsed value) and builds its options objects with ``SomeOptions.pick(options)`` inside its own
error handling, so a bad value is the usual one-line error.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import fields
from typing import Annotated, Any, TypeVar

import typer

from promptcheck.errors import InputError
from promptcheck.options import Options, OptionSpec, specs

T = TypeVar("T", bound=Options)


def sentence(text: str) -> str:
    """``"a peft adapter folder"`` -> ``"A peft adapter folder."`` (the CLI's help style)."""
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _parameter(spec: OptionSpec, default: Any, help_text: str | None) -> inspect.Parameter:
    shown = spec.default_text
    text = sentence(help_text or spec.help) + (f" (default: {shown})" if shown else "")
    info = typer.Option(
        *(spec.cli or ()),
        help=text,
        min=spec.min,
        max=spec.max,
        show_default=shown is None and default is not None,
    )
    return inspect.Parameter(
        spec.name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=Annotated[spec.type, info]
    )


def with_options(
    *classes: type[Any],
    only: Mapping[type[Any], tuple[str, ...]] | None = None,
    defaults: Mapping[str, Any] | None = None,
    help: Mapping[str, str] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A decorator: the command also takes every CLI option of ``classes``, passed as ``options=``.

    ``only`` keeps some fields of a class; ``defaults`` and ``help`` override a field's for this
    command (when the command's meaning differs: ``fix --model`` defaults to the gate's model).
    """

    def wrap(func: Callable[..., Any]) -> Callable[..., Any]:
        own = [p for p in inspect.signature(func, eval_str=True).parameters.values() if p.name != "options"]
        added: list[inspect.Parameter] = []
        seen = {p.name for p in own}
        for cls in classes:
            keep = (only or {}).get(cls)
            for spec in specs(cls, front="cli"):
                if spec.name in seen or (keep is not None and spec.name not in keep):
                    continue
                seen.add(spec.name)
                default = (defaults or {}).get(spec.name, spec.default)
                added.append(_parameter(spec, default, (help or {}).get(spec.name)))
        names = [p.name for p in added]

        @functools.wraps(func)
        def command(**kwargs: Any) -> Any:
            options = {name: kwargs.pop(name) for name in names if name in kwargs}
            return func(**kwargs, options=options)

        command.__signature__ = inspect.Signature([*own, *added])  # type: ignore[attr-defined]
        command.__annotations__ = {p.name: p.annotation for p in [*own, *added]}
        return command

    return wrap


def flag(cls: type[Any], name: str) -> str:
    """The command-line spelling of field ``name`` of ``cls`` (``--max-accuracy-drop``)."""
    for spec in specs(cls, front="cli"):
        if spec.name == name and spec.cli:
            return spec.cli[0].split("/", 1)[0]
    return "--" + name.replace("_", "-")


def pick(cls: type[T], options: Mapping[str, Any]) -> T:
    """``cls.pick(options)`` with a refused value named by its flag, as the user typed it
    (``--confidence: must be between 0.5 and 1 ...``), not by the field's name."""
    try:
        return cls.pick(options)
    except InputError as exc:
        if exc.field and exc.file is None and any(f.name == exc.field for f in fields(cls)):
            raise InputError(exc.message, field=flag(cls, exc.field)) from None
        raise
