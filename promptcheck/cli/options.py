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
from typing import Annotated, Any

import typer

from promptcheck.options import OptionSpec, specs


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
