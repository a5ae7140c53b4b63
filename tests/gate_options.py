"""Shared checks of a ``--promptcheck-*`` session option (command line, ini, marker, argument).

A module of its own, not conftest.py (see tests/schema_check.py for why)."""

from __future__ import annotations

import pytest


def run_with_session_option(pytester, source: str, *, how: str, option: str, ini: str) -> None:
    """Run ``source`` (three tests that check the value they see) with the session value given by
    ``how``: ``option`` (``option``, a ``--promptcheck-...=value`` argument), ``ini`` (``ini``, an
    ini line) or ``none``; every test must pass."""
    pytester.makepyfile(source)
    args = []
    if how == "option":
        args = [option]
    elif how == "ini":
        pytester.makeini(f"[pytest]\n{ini}\n")
    pytester.runpytest(*args).assert_outcomes(passed=3)


def assert_refused_in_one_line(pytester, flag: str, value: str) -> None:
    """``flag=value`` stops the session as a usage error, with one promptcheck line naming ``flag``."""
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest(f"{flag}={value}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    lines = [ln for ln in result.stderr.lines if "promptcheck" in ln]
    assert len(lines) == 1 and flag in lines[0], result.stderr.lines
