"""One exception family for everything promptcheck reports to a user.

The CLI and the pytest plugin turn a :class:`PromptcheckError` into a single line on stderr
(``file:line: field: message``) and an exit code, so every error a user can cause must be one
of these, carrying where it came from. Anything else escaping is a bug in promptcheck.
"""

from __future__ import annotations

from os import PathLike


class PromptcheckError(Exception):
    """Base class: a problem the user can act on, with its location when there is one."""

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        file: str | PathLike[str] | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = None if file is None else str(file)
        self.line = line
        self.field = field

    def __str__(self) -> str:
        where = ""
        if self.file is not None:
            where = self.file
            if self.line is not None:
                where += f":{self.line}"
            where += ": "
        field = f"{self.field}: " if self.field else ""
        # One line, always: a message built from user data must not break a CI log's layout.
        return (where + field + self.message).replace("\n", " ")


class InputError(PromptcheckError):
    """A suite, items, instruction or results file is missing, malformed or inconsistent."""


class ModelLoadError(PromptcheckError):
    """A model name, path or adapter cannot be resolved or loaded."""


class ScoringError(PromptcheckError):
    """Scoring produced something that cannot be trusted (NaN/inf, prompt too long...)."""
