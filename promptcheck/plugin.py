"""pytest plugin (``pytest11`` entry point): options, hooks, fixtures and the marker.

Thin by design, like pytest-benchmark's plugin.py: the options are generated from
:mod:`promptcheck.options`, the session state and outputs live in
:mod:`promptcheck.gate.session`, the tables in :mod:`promptcheck.gate.tables`.
Options are resolved once in ``pytest_configure``
into a frozen :class:`PluginSettings` in ``config.stash``; fixtures and hooks read only that.
Heavy imports (torch, transformers, scipy) wait until a test needs them, so ``pytest --help``
stays fast. Verdicts travel from a test to the session as strings in ``user_properties``, so
pytest-xdist ships them from workers and JUnit XML carries them as properties.
Precedence: command line > ini (``[tool.pytest.ini_options]``) > default.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from promptcheck.errors import PromptcheckError
from promptcheck.gate.session import RECORD_KEY, PromptcheckSession
from promptcheck.options import PluginSettings, parse_text, specs

SETTINGS_KEY = pytest.StashKey[PluginSettings]()


def _ini_name(name: str) -> str:
    return f"promptcheck_{name.replace('-', '_')}"


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--promptcheck-*`` and the ini twins, generated from the options' fields (promptcheck.options)."""
    group = parser.getgroup("promptcheck", "promptcheck: robustness of language models to instruction paraphrases")
    for spec in specs(PluginSettings, front="plugin"):
        spec = replace(spec, help=spec.help.replace("%", "%%"))  # argparse formats help with %
        ini = _ini_name(spec.plugin[0])
        names = [f"--promptcheck-{name}" for name in spec.plugin]
        if spec.is_flag:
            text = spec.off_help or spec.help
            group.addoption(*names, dest=spec.dest, action="store_true", default=None, help=f"{text} (ini: {ini})")
        else:
            shown = spec.shown_default() or "none"
            group.addoption(
                *names,
                dest=spec.dest,
                default=None,
                metavar=spec.plugin[0].replace("-", "_").upper(),
                help=f"{spec.help} (ini: {ini}; default: {shown})",
            )
        for i, name in enumerate(spec.plugin):  # old spellings keep working in ini files too
            text = f"promptcheck: {spec.off_help or spec.help}" if i == 0 else f"promptcheck: old name of {ini}"
            if spec.is_flag:
                parser.addini(_ini_name(name), help=text, type="bool", default=False)
            else:
                parser.addini(_ini_name(name), help=text, default=None)


def _resolve(config: pytest.Config) -> PluginSettings:
    """Command line > ini (its own name, then old ones) > the field's default; checked by the dataclass."""
    values: dict[str, Any] = {}
    by_name = {}
    for spec in specs(PluginSettings, front="plugin"):
        by_name[spec.name] = spec
        raw = config.getoption(spec.dest)
        for name in spec.plugin:
            if raw is not None:
                break
            raw = config.getini(_ini_name(name)) or None
        if raw is None:
            continue
        try:
            value = parse_text(spec, raw)
        except PromptcheckError as exc:
            raise pytest.UsageError(f"promptcheck: --promptcheck-{spec.plugin[0]} {exc.message}") from None
        values[spec.name] = (not value) if spec.negate else value
    try:
        return PluginSettings(**values)
    except PromptcheckError as exc:
        bad = by_name.get(exc.field or "")
        flag = f"--promptcheck-{bad.plugin[0]}" if bad is not None else exc.field
        raise pytest.UsageError(f"promptcheck: {flag} {exc.message}") from None


def pytest_configure(config: pytest.Config) -> None:
    settings = _resolve(config)
    if settings.require_model and not settings.model:
        raise pytest.UsageError(
            "promptcheck: --promptcheck-require-model is set but no model is named; "
            "pass --promptcheck-model=PATH_OR_ID (or 'default')"
        )
    config.stash[SETTINGS_KEY] = settings
    config.pluginmanager.register(PromptcheckSession(config, settings), "promptcheck-session")
    config.addinivalue_line(
        "markers",
        "promptcheck(**options): per-test defaults for promptcheck.assert_robust, over the --promptcheck-* ones "
        "(max_accuracy_drop, confidence, relative, claim, kinds, min_consistency, max_worst_drop, "
        "on_inconclusive, sequential, looks, n_boot, seed, instructions_per_item)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Markers are checked at collection, by the same check as ``assert_robust``'s arguments."""
    from promptcheck.assertions import check_options

    for item in items:
        for mark in item.iter_markers("promptcheck"):
            where = f"{item.nodeid}: @pytest.mark.promptcheck"
            if mark.args:
                raise pytest.UsageError(f"{where} takes keyword options only, got positional {mark.args!r}")
            try:
                check_options(mark.kwargs)
            except PromptcheckError as exc:
                raise pytest.UsageError(f"{where}: {exc}") from None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    from promptcheck.assertions import CURRENT_OVERRIDES, CURRENT_SEED, RECORDER

    settings = item.config.stash[SETTINGS_KEY]
    overrides = settings.verdict().overrides()  # --promptcheck-* and ini, then markers
    for mark in reversed(list(item.iter_markers("promptcheck"))):  # closest marker wins
        overrides.update(mark.kwargs)
    recorded: list = []
    tokens = (
        CURRENT_OVERRIDES.set(overrides),
        CURRENT_SEED.set(settings.seed),
        RECORDER.set(recorded),
    )
    try:
        return (yield)
    finally:
        CURRENT_OVERRIDES.reset(tokens[0])
        CURRENT_SEED.reset(tokens[1])
        RECORDER.reset(tokens[2])
        for verdict in recorded:
            record = verdict.to_json()
            record["test"] = item.nodeid
            # Flat string properties for JUnit XML; the whole record for the session summary.
            for key in (
                "verdict",
                "drop",
                "interval",
                "threshold",
                "confidence",
                "items",
                "instructions",
                "prompts_scored",
                "claim",
                "task",
            ):
                item.user_properties.append((f"promptcheck.{key}", json.dumps(record[key])))
            item.user_properties.append(("promptcheck.model", json.dumps(record["model"])))
            if record.get("drop_parts"):  # a free-form task: the drop's form part and content part
                record = _with_form_only(record)
                for part in ("form", "content"):
                    p = record["drop_parts"][part]
                    value = json.dumps({"drop": p["drop"], "interval": p["interval"]})
                    item.user_properties.append((f"promptcheck.drop_{part}", value))
            item.user_properties.append((RECORD_KEY, json.dumps(record)))


def _with_form_only(record: dict) -> dict:
    """A free-form gate's record with each evidence instruction flagged ``form_only`` (its drop is the
    answers' form alone: more form failures than the reference, no more wrong answers), as a run
    file's instructions are: the same rule (``stats.outcomes.form_only_instructions``) on the
    record's own outcomes, so the summary, the Markdown and the HTML report can name them. Each
    instruction is compared on the items it was scored on (an incomplete design leaves ``None``
    cells); flags the record already carries are kept."""
    ev = record.get("evidence") or {}
    rows, instructions = ev.get("outcomes"), ev.get("instructions")
    if not rows or not instructions or all("form_only" in i for i in instructions):
        return record
    from promptcheck.stats.outcomes import form_only_instructions

    flags = [False]  # rows[0]: the reference
    for row in rows[1:]:
        kept = [n for n, o in enumerate(row) if o is not None and rows[0][n] is not None]
        ref = [rows[0][n] for n in kept]
        flags += form_only_instructions(ref, [[row[n] for n in kept]]) if kept else [False]
    marked = [{**i, "form_only": i.get("form_only", bool(f))} for i, f in zip(instructions, flags)]
    return {**record, "evidence": {**ev, "instructions": marked}}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    report = yield
    if call.when == "call" and call.excinfo is not None:
        # Tell a failed assertion from an error (a crash, a bad model) across xdist's wire.
        kind = "assertion" if call.excinfo.errisinstance(AssertionError) else "error"
        report.user_properties.append(("promptcheck.outcome", kind))
        if call.excinfo.errisinstance(PromptcheckError):
            # Bad input found while the test ran (a budget that buys no round, K above the compared
            # instructions: checks that need the task): its one line, not a traceback into promptcheck.
            report.longrepr = f"promptcheck: error: {call.excinfo.value}"
    return report


@pytest.fixture(scope="session")
def promptcheck_settings(pytestconfig: pytest.Config) -> PluginSettings:
    """The resolved promptcheck settings of this session."""
    return pytestconfig.stash[SETTINGS_KEY]


@pytest.fixture(scope="session")
def promptcheck_model(promptcheck_settings: PluginSettings) -> Any:
    """The model under test, loaded once per session (per xdist worker).

    Skips the test when no model was named: pytest never falls back to the default model on
    its own (``--promptcheck-model=default`` asks for it; ``--promptcheck-require-model`` turns
    the skip into an error for CI gates).
    """
    s = promptcheck_settings
    if not s.model:
        pytest.skip(
            "no model to test: pass --promptcheck-model=PATH_OR_ID (or 'default'), "
            "or set promptcheck_model in the pytest ini"
        )
    from promptcheck.pipeline import open_model

    try:
        return open_model(s)  # loaded as `promptcheck run` loads it, score cache included
    except PromptcheckError as exc:
        pytest.fail(f"promptcheck: {exc}", pytrace=False)


@pytest.fixture
def promptcheck_suite(request: pytest.FixtureRequest) -> Any:
    """Load a suite (or items file) by path, relative to the test file: ``promptcheck_suite("suites/x.yaml")``.

    A bad suite fails the test with the one-line error (file, line, field), not a traceback.
    """
    from promptcheck.tasks.suite import load_task

    base = Path(str(request.node.path)).parent

    def load(path: str, **options: Any) -> Any:
        p = Path(path)
        try:
            return load_task(p if p.is_absolute() else base / p, **options)
        except PromptcheckError as exc:
            pytest.fail(f"promptcheck: {exc}", pytrace=False)

    return load
