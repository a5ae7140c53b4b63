"""Consoles for the command line that read well in a CI log.

With no terminal (a CI job, a pipe) and ``COLUMNS`` unset, rich falls back to 80 columns and
wraps table cells mid-word ("emoji_m / ovie"), and typer squeezes ``--help`` into a narrow
column. There, output is rendered :data:`CI_WIDTH` columns wide instead; a terminal, or an
explicit ``COLUMNS`` (or typer's ``TERMINAL_WIDTH``), is always honoured.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import rich.console
import typer

#: Columns when nothing says how wide the output is (CI logs are read in wide windows).
CI_WIDTH = 120


def ci_width() -> int | None:
    """:data:`CI_WIDTH` where rich would fall back to 80 columns (no terminal, no ``COLUMNS``), else None."""
    if os.environ.get("COLUMNS", "").strip().isdigit():
        return None
    for fd in (0, 1, 2):  # rich asks the same streams for a terminal size
        try:
            os.get_terminal_size(fd)
        except (OSError, ValueError):
            continue
        return None
    return CI_WIDTH


class Console(rich.console.Console):
    """rich's Console, :data:`CI_WIDTH` columns wide in a CI log unless a width is given."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if kwargs.get("width") is None:
            kwargs["width"] = ci_width()
        super().__init__(*args, **kwargs)


def natural_width(renderable: Any, width: int) -> int:
    """``width``, or more when ``renderable`` (a table of no-wrap cells) needs more to print whole.

    A log viewer or terminal wraps an over-long line whole; a table squeezed to fit breaks names
    and numbers mid-word, which is worse.
    """
    measuring = rich.console.Console(width=10_000)
    return max(width, measuring.measure(renderable).maximum)


def whole_console(renderable: Any, width: int) -> rich.console.Console:
    """A plain recording console (no colour codes) wide enough to print ``renderable`` whole."""
    return rich.console.Console(
        width=natural_width(renderable, width), record=True, force_terminal=False, color_system=None
    )


def render_whole(renderable: Any, width: int) -> str:
    """``renderable`` as plain text, ``width`` wide or wider when it needs more (:func:`natural_width`)."""
    console = whole_console(renderable, width)
    with console.capture() as cap:
        console.print(renderable)
    return cap.get()


@contextmanager
def plain_help_in_ci(app: typer.Typer) -> Iterator[dict[str, Any]]:
    """In a CI log, click's plain ``--help`` instead of typer's rich panels, :data:`CI_WIDTH` wide.

    The panels give option help a narrow column of its own (at 80 or 120 columns alike) and
    draw boxes around it; click's layout wraps help text under a short option column. Yields
    the context settings to call ``app`` with (none on a terminal) and restores the app after.
    """
    width = ci_width()
    if width is None:
        yield {}
        return
    mode = app.rich_markup_mode
    app.rich_markup_mode = None
    try:
        yield {"terminal_width": width}
    finally:
        app.rich_markup_mode = mode
