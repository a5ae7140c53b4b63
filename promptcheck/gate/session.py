"""The gate's session state (pytest-benchmark's session.py): verdicts seen, outputs written, exit status.

Registered by the plugin in ``pytest_configure``. It sees every test report, local or shipped
by xdist workers, and writes the outputs (JSON, HTML, Markdown, failures.json, the baseline
comparison) on the controller only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from promptcheck.errors import PromptcheckError
from promptcheck.gate.tables import markdown_summary, summary_table

if TYPE_CHECKING:
    from promptcheck.options import PluginSettings, VerdictOptions

#: Exit statuses beyond pytest's own (0 ok, 1 failed, 2 interrupted, 3 internal, 4 usage, 5 no tests).
EXIT_INCONCLUSIVE = 6
EXIT_ERROR = 7
EXIT_REGRESSION = 8

RECORD_KEY = "promptcheck.record"


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


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
        for line in power_warnings(Path(self.settings.baseline), session.items, self.settings.verdict()):
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
        # The terminal's width; in a CI log (no terminal, COLUMNS unset) the CLI's CI width, not 80.
        from promptcheck.report.console import ci_width

        width = ci_width() or terminalreporter.config.get_terminal_writer().fullwidth
        terminalreporter.write(summary_table(self.records, width=width))
        if self.comparison:
            from promptcheck.report.compare import changes_table
            from promptcheck.report.console import render_whole

            terminalreporter.write(render_whole(changes_table(self.comparison), width))
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
                # A crash outranks "score more items": 6 beside an errored test would hide it.
                if self.errors:
                    session.exitstatus = EXIT_ERROR
                elif "inconclusive" in verdicts:
                    session.exitstatus = EXIT_INCONCLUSIVE

    def _write_outputs(self) -> None:
        from promptcheck.fileio import atomic_write_json, atomic_write_text

        settings, records = self.settings, self.records
        if settings.json or (settings.html and records):
            from promptcheck.report.documents import stamp
            from promptcheck.report.jsonio import library_versions

            doc = {
                "seed": settings.seed,
                "model_option": settings.model,
                "adapter_option": settings.adapter,
                "libraries": library_versions(),
                "tests": records,
            }
            doc = stamp("pytest", doc)
            if settings.json:
                atomic_write_json(Path(settings.json), doc)
            if settings.html and records:
                from promptcheck.report.html import write_report

                write_report(doc, Path(settings.html), source=settings.json or "")
        if settings.markdown and records:
            atomic_write_text(Path(settings.markdown), markdown_summary(records, seed=settings.seed))
        from promptcheck.failures import write_failures

        write_failures(Path(settings.failures), records, seed=settings.seed, model_option=settings.model)

    def _compare_with_baseline(self, records: list[dict]) -> bool | str:
        """Compare with the baseline file; True on a significant regression, "error" when it cannot."""
        assert self.settings.baseline is not None  # called only when a baseline is set
        from promptcheck.report.compare import compare_evidence, evidence_of
        from promptcheck.report.documents import read_document

        try:
            base = read_document(
                Path(self.settings.baseline), accept=("run", "pytest"), reader="--promptcheck-baseline"
            )
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


def power_warnings(baseline: Path, items: list[pytest.Item], verdict: VerdictOptions) -> list[str]:
    """One line per collected test whose baseline evidence says its gate cannot pass a model with
    no drop 80% of the time at this size (so inconclusive, and a red CI, is the likely outcome)."""
    from promptcheck.report.compare import evidence_of
    from promptcheck.report.documents import read_document
    from promptcheck.report.plan import plan_task

    try:
        evidence = evidence_of(read_document(baseline, accept=("run", "pytest")), str(baseline))
    except PromptcheckError:
        return []  # the baseline comparison at the end reports a bad file in one line
    lines = []
    for item in items:
        marks = {k: v for m in reversed(list(item.iter_markers("promptcheck"))) for k, v in m.kwargs.items()}
        threshold = float(marks.get("max_accuracy_drop", verdict.max_accuracy_drop))
        confidence = float(marks.get("confidence", verdict.confidence))
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
            # An incomplete design (#24) that decides within the prompts this gate spends today.
            d = p.design_within()
            if d is not None and not d.complete:
                need += (
                    f"; or, at today's {p.pilot_prompts} prompts, {d.per_item} of {d.instructions} instructions per "
                    f"item over {d.items} items ({d.prompts} prompts: --promptcheck-instructions-per-item "
                    f"{d.per_item})"
                )
            lines.append(
                f"promptcheck: {key}: at {p.items} items x {p.instructions} instructions (baseline) this gate "
                f"passes a model with no drop less than 80% of the time and fails only drops above "
                f"{100 * mdd:.1f} points 80% of the time, for a {100 * threshold:g}-point threshold; "
                f"{need} would decide (promptcheck plan {baseline})"
                if mdd is not None
                else f"promptcheck: {key}: this gate is too small to decide at {100 * threshold:g} points"
            )
    return lines
