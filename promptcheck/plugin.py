"""pytest plugin (``pytest11`` entry point): options, fixtures, marker, summary and CI outputs.

Thin by design, like pytest-benchmark's: options are resolved once in ``pytest_configure``
into a frozen :class:`PluginSettings` in ``config.stash``; fixtures and hooks read only that.
Heavy imports (torch, transformers, scipy) wait until a test needs them, so ``pytest --help``
stays fast. Verdicts travel from a test to the session as strings in ``user_properties``, so
pytest-xdist ships them from workers and JUnit XML carries them as properties.
Precedence: command line > ini (``[tool.pytest.ini_options]``) > default.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from promptcheck.errors import PromptcheckError

#: (name, help, default) for every value option; each has an ini twin ``promptcheck_<name>``.
_OPTIONS: list[tuple[str, str, str | None]] = [
    (
        "model",
        "model to test: 'default' (packaged SmolLM2-135M-Instruct), an alias, a folder, a .gguf, a hub id, "
        "or served endpoints http://HOST:PORT/v1[,URL2...] (vLLM)",
        None,
    ),
    ("adapter", "a peft adapter folder to load on the model", None),
    ("device", "cpu, cuda, cuda:N or auto", "cpu"),
    ("dtype", "float32, bfloat16, float16 or auto", "float32"),
    ("seed", "seed for item order, bootstrap and paraphrase searches", "0"),
    ("json", "write every robustness verdict to this JSON file", None),
    ("markdown", "write a pull-request summary (Markdown) to this file", None),
    ("cache", "promptcheck's cache folder (converted models, WordNet data, scores.sqlite)", None),
    ("max_memory", "memory one forward pass may use, e.g. 8GiB (the batch is sized to fit)", "2GiB"),
    ("failures", "where failing tasks are written for `promptcheck fix`", ".promptcheck/failures.json"),
    ("html", "write an HTML report of every robustness verdict (plots, worst instructions) to this file", None),
    (
        "baseline",
        "a --promptcheck-json file of an earlier release: fail (exit 8) where robustness got "
        "significantly worse (paired interval over the same items)",
        None,
    ),
    ("served_model", "served model name, when the server serves several", None),
    ("tokenizer", "where a served model's chat template comes from: a folder, a hub id or 'default'", None),
    ("max_concurrency", "requests in flight per served endpoint", "8"),
    ("api_key_env", "environment variable holding the served model's API key", "PROMPTCHECK_API_KEY"),
    ("device_map", "'auto' spreads a local model over every GPU (accelerate)", None),
]
_FLAGS: list[tuple[str, str]] = [
    ("require_model", "error out instead of skipping when no model is named (for CI gates)"),
    ("no_score_cache", "score every prompt afresh instead of reusing scores stored on disk"),
    ("trust_remote_code", "let a model run its own Python code when loaded (off: code you have not read)"),
    ("allow_pickle", "load pickle weights (.bin/.pt) when a model has no safetensors (off: unpickling runs code)"),
]

#: Exit statuses beyond pytest's own (0 ok, 1 failed, 2 interrupted, 3 internal, 4 usage, 5 no tests).
EXIT_INCONCLUSIVE = 6
EXIT_ERROR = 7
EXIT_REGRESSION = 8

RECORD_KEY = "promptcheck.record"

#: The same as promptcheck.models.loading.DTYPES (not imported: that module imports torch, and
#: `pytest --help` must stay fast). A test keeps the two equal.
_DTYPES = ("float32", "bfloat16", "float16", "auto")


@dataclass(frozen=True)
class PluginSettings:
    """Every promptcheck setting of this pytest session, resolved once."""

    model: str | None
    adapter: str | None
    device: str
    dtype: str
    seed: int
    json: str | None
    markdown: str | None
    cache: str | None
    failures: str
    max_memory: str | None
    require_model: bool
    served_model: str | None = None
    tokenizer: str | None = None
    max_concurrency: int = 8
    api_key_env: str | None = None
    device_map: str | None = None
    no_score_cache: bool = False
    html: str | None = None
    baseline: str | None = None
    trust_remote_code: bool = False
    allow_pickle: bool = False


SETTINGS_KEY = pytest.StashKey[PluginSettings]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("promptcheck", "promptcheck: robustness of language models to instruction paraphrases")
    for name, help_text, default in _OPTIONS:
        flag = name.replace("_", "-")
        group.addoption(
            f"--promptcheck-{flag}",
            dest=f"promptcheck_{name}",
            default=None,
            metavar=name.upper(),
            help=f"{help_text} (ini: promptcheck_{name}; default: {default})",
        )
        parser.addini(f"promptcheck_{name}", help=f"promptcheck: {help_text}", default=default)
    for name, help_text in _FLAGS:
        flag = name.replace("_", "-")
        group.addoption(
            f"--promptcheck-{flag}",
            dest=f"promptcheck_{name}",
            action="store_true",
            default=None,
            help=f"{help_text} (ini: promptcheck_{name})",
        )
        parser.addini(f"promptcheck_{name}", help=f"promptcheck: {help_text}", type="bool", default=False)


def _resolve(config: pytest.Config) -> PluginSettings:
    def get(name: str) -> Any:
        cli = config.getoption(f"promptcheck_{name}")
        return cli if cli is not None else (config.getini(f"promptcheck_{name}") or None)

    seed_text = str(get("seed") or "0")
    try:
        seed = int(seed_text)
    except ValueError:
        raise pytest.UsageError(f"promptcheck: --promptcheck-seed must be an integer, got {seed_text!r}") from None
    return PluginSettings(
        model=get("model"),
        adapter=get("adapter"),
        device=get("device") or "cpu",
        dtype=get("dtype") or "float32",
        seed=seed,
        json=get("json"),
        markdown=get("markdown"),
        cache=get("cache"),
        failures=get("failures") or ".promptcheck/failures.json",
        max_memory=get("max_memory"),
        require_model=bool(get("require_model")),
        no_score_cache=bool(get("no_score_cache")),
        html=get("html"),
        baseline=get("baseline"),
        trust_remote_code=bool(get("trust_remote_code")),
        allow_pickle=bool(get("allow_pickle")),
        served_model=get("served_model"),
        tokenizer=get("tokenizer"),
        max_concurrency=_positive(get("max_concurrency")),
        api_key_env=get("api_key_env"),
        device_map=get("device_map"),
    )


def _positive(text: Any) -> int:
    try:
        value = int(str(text or "8"))
    except ValueError:
        value = 0
    if value < 1:
        raise pytest.UsageError(f"promptcheck: --promptcheck-max-concurrency must be a positive integer, got {text!r}")
    return value


def pytest_configure(config: pytest.Config) -> None:
    settings = _resolve(config)
    if settings.require_model and not settings.model:
        raise pytest.UsageError(
            "promptcheck: --promptcheck-require-model is set but no model is named; "
            "pass --promptcheck-model=PATH_OR_ID (or 'default')"
        )
    # Checked here, not at model load, so a typo stops the session before any test runs.
    if settings.dtype not in _DTYPES:
        raise pytest.UsageError(
            f"promptcheck: --promptcheck-dtype must be one of {', '.join(_DTYPES)}, got {settings.dtype!r}"
        )
    import re

    if not re.fullmatch(r"cpu|auto|mps|cuda(:\d+)?", settings.device):
        raise pytest.UsageError(
            f"promptcheck: --promptcheck-device must be cpu, cuda, cuda:N, mps or auto, got {settings.device!r}"
        )
    config.stash[SETTINGS_KEY] = settings
    config.pluginmanager.register(PromptcheckSession(config, settings), "promptcheck-session")
    config.addinivalue_line(
        "markers",
        "promptcheck(**options): per-test defaults for promptcheck.assert_robust "
        "(max_accuracy_drop, confidence, relative, claim, kinds, min_consistency, max_worst_drop, "
        "on_inconclusive, sequential, looks, n_boot, seed)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from promptcheck.assertions import OPTION_NAMES

    for item in items:
        for mark in item.iter_markers("promptcheck"):
            if mark.args:
                raise pytest.UsageError(
                    f"{item.nodeid}: @pytest.mark.promptcheck takes keyword options only, got positional {mark.args!r}"
                )
            unknown = sorted(set(mark.kwargs) - OPTION_NAMES)
            if unknown:
                raise pytest.UsageError(
                    f"{item.nodeid}: @pytest.mark.promptcheck: unknown option(s) "
                    f"{', '.join(unknown)}; expected {', '.join(sorted(OPTION_NAMES))}"
                )
            for key in ("max_accuracy_drop", "confidence", "min_consistency", "max_worst_drop"):
                value = mark.kwargs.get(key)
                if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                    raise pytest.UsageError(
                        f"{item.nodeid}: @pytest.mark.promptcheck: {key} must be a number, got {value!r}"
                    )
            claim = mark.kwargs.get("claim")
            if claim is not None and claim not in ("auto", "instructions", "phrasings"):
                raise pytest.UsageError(
                    f"{item.nodeid}: @pytest.mark.promptcheck: claim must be auto, "
                    f"instructions or phrasings, got {claim!r}"
                )
            conf = mark.kwargs.get("confidence")
            if conf is not None and not 0 < conf < 1:
                raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.promptcheck: confidence must be in (0, 1)")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    from promptcheck.assertions import CURRENT_OVERRIDES, CURRENT_SEED, RECORDER

    overrides: dict[str, Any] = {}
    for mark in reversed(list(item.iter_markers("promptcheck"))):  # closest marker wins
        overrides.update(mark.kwargs)
    recorded: list = []
    tokens = (
        CURRENT_OVERRIDES.set(overrides),
        CURRENT_SEED.set(item.config.stash[SETTINGS_KEY].seed),
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
            item.user_properties.append((RECORD_KEY, json.dumps(record)))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    report = yield
    if call.when == "call" and call.excinfo is not None:
        # Tell a failed assertion from an error (a crash, a bad model) across xdist's wire.
        kind = "assertion" if call.excinfo.errisinstance(AssertionError) else "error"
        report.user_properties.append(("promptcheck.outcome", kind))
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
    from promptcheck.models.cache import cached
    from promptcheck.models.loading import load_model
    from promptcheck.settings import score_cache_path

    try:
        model = load_model(
            s.model,
            adapter=s.adapter,
            device=s.device,
            dtype=s.dtype,
            cache=s.cache,
            max_memory=s.max_memory,
            trust_remote_code=s.trust_remote_code,
            allow_pickle=s.allow_pickle,
            device_map=s.device_map,
            served_model=s.served_model,
            tokenizer=s.tokenizer,
            max_concurrency=s.max_concurrency,
            api_key_env=s.api_key_env,
        )
        if s.no_score_cache:
            return model
        return cached(model, Path(s.cache) / "scores.sqlite" if s.cache else score_cache_path())
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


# -- outputs ------------------------------------------------------------------------------------
def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def _summary_table(records: list[dict]) -> str:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title="promptcheck: robustness to instruction paraphrases", title_justify="left")
    for col, justify in [
        ("test", "left"),
        ("task", "left"),
        ("claim", "left"),
        ("drop", "right"),
        ("bounds", "right"),
        ("threshold", "right"),
        ("detects", "right"),
        ("items x instr", "right"),
        ("prompts", "right"),
        ("verdict", "left"),
    ]:
        table.add_column(col, justify=justify, overflow="fold")  # type: ignore[arg-type]
    colour = {"pass": "green", "fail": "red", "inconclusive": "yellow"}
    for r in records:
        lo, hi = r["interval"]
        table.add_row(
            Text(r["test"]),
            Text(r["task"]),
            r["claim"],
            f"{100 * r['drop']:+.1f}",
            f"[{100 * lo:+.1f}, {100 * hi:+.1f}]",
            f"{100 * r['threshold']:.1f}",
            _detects(r),
            f"{r['items']} x {r['instructions']}",
            str(r["prompts_scored"]),
            Text(r["verdict"], style=colour.get(r["verdict"], "")),
        )
    console = Console(width=140, record=True, force_terminal=False, color_system=None)
    with console.capture() as cap:
        console.print(table)
        models = {json.dumps(r["model"], sort_keys=True) for r in records}
        for m in sorted(models):
            d = json.loads(m)
            console.print(
                f"model: {d.get('id')}  weights {str(d.get('weights_hash') or d.get('revision'))[:16]}  "
                f"dtype {d.get('dtype')}  adapter {d.get('adapter_hash', None) and d['adapter_hash'][:16]}",
                markup=False,
                highlight=False,
            )
        confidences = sorted({r["confidence"] for r in records})
        console.print(
            f"drop and bounds in accuracy points (reference minus paraphrases); bounds are one-sided at "
            f"{', '.join(f'{100 * c:g}%' for c in confidences)} each (the verdict's two one-sided tests); "
            "fail = lower bound above threshold, pass = upper bound below; detects = the true drop "
            "this suite fails 80% of the time (docs/statistics.md)",
            markup=False,
            highlight=False,
        )
    return cap.get()


def _detects(record: dict) -> str:
    mdd = (record.get("judgment") or {}).get("minimum_detectable_drop")
    return f"{100 * mdd:.1f}" if isinstance(mdd, (int, float)) else "?"


def _markdown(records: list[dict], settings: PluginSettings) -> str:
    icon = {"pass": "✅ pass", "fail": "❌ fail", "inconclusive": "⚠️ inconclusive"}
    lines = ["## promptcheck: robustness to instruction paraphrases", ""]
    models = sorted({r["model"].get("id", "?") for r in records})
    lines.append(f"Model: {', '.join(models)} · seed {settings.seed}")
    lines += [
        "",
        "| test | task | drop | one-sided bounds | threshold | detects | items × instructions | verdict |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in records:
        lo, hi = r["interval"]
        lines.append(
            f"| `{r['test']}` | {r['task']} | {100 * r['drop']:+.1f} | [{100 * lo:+.1f}, {100 * hi:+.1f}] | "
            f"{100 * r['threshold']:.1f} | {_detects(r)} | {r['items']} × {r['instructions']} | "
            f"{icon.get(r['verdict'], r['verdict'])} |"
        )
    worst = [r for r in records if r["verdict"] != "pass"]
    for r in worst:
        lines += ["", f"**{r['task']}** worst instructions:"]
        lines += [f"- {w['accuracy']:.3f} [{w['kind']}] {w['text']!r}" for w in r["worst_instructions"]]
    return "\n".join(lines) + "\n"


class PromptcheckSession:
    """Session state and the hooks that need it (registered in ``pytest_configure``).

    It sees every test report, local or shipped by xdist workers, and writes the outputs on the
    controller only.
    """

    def __init__(self, config: pytest.Config, settings: PluginSettings) -> None:
        self.config = config
        self.settings = settings
        self.records: list[dict] = []
        self.errors = 0
        self.other_failures = 0
        self.comparison: list = []
        self.comparison_notes: list[str] = []

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """With a baseline as pilot, warn before any scoring about gates too small to decide."""
        if not self.settings.baseline or _is_worker(self.config):
            return
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        for line in _power_warnings(Path(self.settings.baseline), session.items):
            if reporter is not None:
                reporter.write_line(line, yellow=True)
            self.comparison_notes.append(line)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        props = dict(report.user_properties)
        if report.failed and report.when != "call":
            self.errors += 1
        if report.when != "call":
            return
        # Each record also says whether its test failed (an inconclusive verdict passes a test
        # marked on_inconclusive="pass"): what fix is sent after depends on it.
        self.records += [
            {**json.loads(str(v)), "test_outcome": report.outcome} for n, v in report.user_properties if n == RECORD_KEY
        ]
        if report.failed and RECORD_KEY not in props:
            if props.get("promptcheck.outcome") == "error":
                self.errors += 1
            else:
                self.other_failures += 1

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.records or _is_worker(self.config):
            return
        terminalreporter.write_sep("=", "promptcheck")
        terminalreporter.write(_summary_table(self.records))
        if self.comparison:
            from rich.console import Console

            from promptcheck.report.compare import changes_table

            console = Console(width=140, record=True, force_terminal=False, color_system=None)
            with console.capture() as cap:
                console.print(changes_table(self.comparison))
            terminalreporter.write(cap.get())
        for note in self.comparison_notes:
            terminalreporter.write_line(note)

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if _is_worker(self.config):
            return
        try:
            self._write_outputs()
        except PromptcheckError as exc:
            # An unwritable --promptcheck-json must not end the run in an INTERNALERROR traceback.
            reporter = self.config.pluginmanager.get_plugin("terminalreporter")
            if reporter is not None:
                reporter.write_line(f"promptcheck: error: {exc}", red=True)
            session.exitstatus = EXIT_ERROR
            return
        regressed = self._compare_with_baseline(self.records) if self.settings.baseline and self.records else False
        if regressed and exitstatus == pytest.ExitCode.OK:
            session.exitstatus = EXIT_REGRESSION if regressed is True else EXIT_ERROR
        if exitstatus == pytest.ExitCode.TESTS_FAILED:
            verdicts = {r["verdict"] for r in self.records}
            if "fail" not in verdicts and not self.other_failures:
                if "inconclusive" in verdicts:
                    session.exitstatus = EXIT_INCONCLUSIVE
                elif self.errors:
                    session.exitstatus = EXIT_ERROR

    def _write_outputs(self) -> None:
        from promptcheck.fileio import atomic_write_json, atomic_write_text

        settings, records = self.settings, self.records
        if settings.json or (settings.html and records):
            from promptcheck.report.jsonio import SCHEMA_VERSION, library_versions

            doc = {
                "schema_version": SCHEMA_VERSION,
                "kind": "pytest",
                "seed": settings.seed,
                "model_option": settings.model,
                "adapter_option": settings.adapter,
                "libraries": library_versions(),
                "tests": records,
            }
            if settings.json:
                atomic_write_json(Path(settings.json), doc)
            if settings.html and records:
                from promptcheck.report.html import write_report

                write_report(doc, Path(settings.html), source=settings.json or "")
        if settings.markdown and records:
            atomic_write_text(Path(settings.markdown), _markdown(records, settings))
        # What fix is for: definite failures, and inconclusive gates that failed their test with a
        # measured drop above the threshold (the evidence points to a drop; the CI gate is red
        # either way). An inconclusive gate at or below its threshold needs more items, not training.
        # Only tasks read from a suite file can be fixed from the file's record.
        bad = [r for r in records if _worth_fixing(r) and r.get("task_source")]
        failures = Path(settings.failures)
        if bad:
            atomic_write_json(failures, _failures(bad, settings))
        elif records and failures.is_file():
            failures.unlink()  # the last gate passed: a stale list must not send `fix` after old failures

    def _compare_with_baseline(self, records: list[dict]) -> bool | str:
        """Compare with the baseline file; True on a significant regression, "error" when it cannot."""
        assert self.settings.baseline is not None  # called only when a baseline is set
        from promptcheck.report.compare import compare_evidence, evidence_of
        from promptcheck.report.jsonio import read_results

        try:
            base = read_results(Path(self.settings.baseline))
            current = evidence_of({"tests": records})
            changes, missing = compare_evidence(
                evidence_of(base, self.settings.baseline), current, seed=self.settings.seed
            )
        except PromptcheckError as exc:
            self.comparison_notes.append(f"promptcheck: baseline comparison failed: {exc}")
            return "error"
        self.comparison = changes
        if missing:
            self.comparison_notes.append(f"promptcheck: no baseline for {', '.join(missing)}")
        worse = [c.key for c in changes if c.verdict == "worse"]
        if worse:
            self.comparison_notes.append(f"promptcheck: robustness got worse than the baseline on {', '.join(worse)}")
        return bool(worse)


def _power_warnings(baseline: Path, items: list[pytest.Item]) -> list[str]:
    """One line per collected test whose baseline evidence says its gate cannot pass a model with
    no drop 80% of the time at this size (so inconclusive, and a red CI, is the likely outcome)."""
    from promptcheck.assertions import DEFAULTS
    from promptcheck.report.compare import evidence_of
    from promptcheck.report.jsonio import read_results
    from promptcheck.report.plan import plan_task

    try:
        evidence = evidence_of(read_results(baseline), str(baseline))
    except PromptcheckError:
        return []  # the baseline comparison at the end reports a bad file in one line
    lines = []
    for item in items:
        marks = {k: v for m in reversed(list(item.iter_markers("promptcheck"))) for k, v in m.kwargs.items()}
        threshold = float(marks.get("max_accuracy_drop", DEFAULTS["max_accuracy_drop"]))
        confidence = float(marks.get("confidence", DEFAULTS["confidence"]))
        for key, e in evidence.items():
            if not key.startswith(f"{item.nodeid}::"):
                continue
            try:
                p = plan_task(e, threshold=threshold, confidence=confidence, target_drop=0.0)
            except PromptcheckError:
                continue
            if p.items_needed is not None and p.items_needed <= p.items:
                continue
            need = f"about {p.items_needed} items" if p.items_needed is not None else "more items alone will not do"
            if p.instructions_needed is not None:
                need += f", or about {p.instructions_needed} instructions"
            mdd = p.minimum_detectable_drop
            lines.append(
                f"promptcheck: {key}: at {p.items} items x {p.instructions} instructions (baseline) this gate "
                f"passes a model with no drop less than 80% of the time and fails only drops above "
                f"{100 * mdd:.1f} points 80% of the time, for a {100 * threshold:g}-point threshold; "
                f"{need} would decide (promptcheck plan {baseline})"
                if mdd is not None
                else f"promptcheck: {key}: this gate is too small to decide at {100 * threshold:g} points"
            )
    return lines


def _worth_fixing(record: dict) -> bool:
    """A fail, or an inconclusive verdict that failed its test with a measured drop above the threshold."""
    verdict = record["verdict"]
    return verdict == "fail" or (
        verdict == "inconclusive" and record.get("test_outcome") == "failed" and record["drop"] > record["threshold"]
    )


def _failures(bad: list[dict], settings: PluginSettings) -> dict:
    """What `promptcheck fix --from` needs: tasks (with their suite files), failing instructions, seed."""
    tasks: dict[str, dict] = {}
    for r in bad:
        t = tasks.setdefault(
            r["task"],
            {
                "name": r["task"],
                "source": r["task_source"],
                "reference_instruction": r["reference_instruction"],
                "verdicts": [],
                "failing_instructions": [],
            },
        )
        t["verdicts"].append({k: r[k] for k in ("test", "verdict", "drop", "interval", "threshold", "claim")})
        seen = {f["text"] for f in t["failing_instructions"]}
        t["failing_instructions"] += [f for f in r["failing_instructions"] if f["text"] not in seen]
    return {
        "schema_version": 1,
        "seed": settings.seed,
        "model": bad[0]["model"],
        "model_option": settings.model,
        "tasks": list(tasks.values()),
    }
