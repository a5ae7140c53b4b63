"""``run_suites``: the library entry point behind ``promptcheck run`` (lm-eval's ``simple_evaluate`` shape).

Front ends stay thin: the command line parses options into
:class:`~promptcheck.options.ModelOptions` and :class:`~promptcheck.options.RunOptions`, then
calls :func:`plan_run` (read and check every input before a model loads: a typo costs
seconds, not minutes), :func:`open_model` (seed, load, score cache) and :func:`run_suites`
(score each task, analyse, save the results file after each task), and renders. The pytest
plugin opens its model with the same :func:`open_model`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from promptcheck.errors import InputError
from promptcheck.evaluation.results import RunResult, TaskResult
from promptcheck.models.base import Scorer
from promptcheck.options import ModelOptions, RunOptions, VerdictOptions
from promptcheck.tasks.records import Task


@dataclass(frozen=True)
class RunPlan:
    """The tasks of a run and the instructions each is scored under, read and checked."""

    tasks: tuple[Task, ...]
    instruction_sets: tuple[tuple[Any, ...], ...]  # Instruction, or generated Paraphrase
    #: Per task, the instructions promptcheck added because the task brought none
    #: (:mod:`promptcheck.paraphrase.defaults`), or None.
    added: tuple[Any, ...] = ()
    #: Per task, its incomplete design (:class:`promptcheck.stats.design.Design`), or None: every
    #: item under every instruction (``--instructions-per-item``, else the suite's key).
    designs: tuple[Any, ...] = ()
    #: Per task, what ``--budget`` buys (:class:`promptcheck.stats.budget.BudgetPlan`), or None.
    budgets: tuple[Any, ...] = ()

    def added_note(self, name: str) -> str | None:
        """The run table's line on what a task was compared with, when promptcheck chose it."""
        for task, added in zip(self.tasks, self.added):
            if task.name == name and added is not None:
                return str(added.describe())
        return None

    def added_sources(self) -> dict[str, str]:
        """Task name -> where its added instructions came from (``settings.default_instructions``)."""
        return {t.name: a.source for t, a in zip(self.tasks, self.added) if a is not None}

    def prompts_per_item(self, n: int) -> int:
        """Prompts task ``n`` scores per item: its instructions, or the reference and K under a design."""
        design = self.designs[n] if n < len(self.designs) else None
        return 1 + design.instructions_per_item if design is not None else len(self.instruction_sets[n])

    def budget(self, n: int) -> Any:
        """Task ``n``'s :class:`~promptcheck.stats.budget.BudgetPlan`, or None (every item scored)."""
        return self.budgets[n] if n < len(self.budgets) else None

    def task_prompts(self, n: int) -> int:
        """Prompts task ``n`` plans to score (at most: a budget may stop early)."""
        budget = self.budget(n)
        return budget.prompts if budget is not None else len(self.tasks[n].items) * self.prompts_per_item(n)

    @property
    def prompts(self) -> int:
        """Prompts to score (items x instructions, or items x (1 + K) under a design, or what each
        task's budget buys, over every task)."""
        return sum(self.task_prompts(n) for n in range(len(self.tasks)))


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C during scoring; carries what finished (already saved when the run writes a file)."""

    def __init__(
        self, done: tuple[TaskResult, ...], planned: int, saved: Path | None, cached: bool, statistics: tuple = ()
    ) -> None:
        super().__init__()
        self.done, self.planned, self.saved, self.cached = done, planned, saved, cached
        self.statistics = statistics


def plan_run(
    suites: Sequence[str | Path] | None, options: RunOptions, verdict: VerdictOptions | None = None
) -> RunPlan:
    """Load every task (suites, items files, lm-eval tasks) and its instructions, checking outputs too.

    ``verdict``: the confidence and looks a ``--budget``'s rounds are judged at (default: the defaults)."""
    from promptcheck.tasks.suite import load_tasks

    paths = [Path(p) for p in suites or []]
    names = options.lm_eval_names()
    if not paths and not names:
        raise InputError("name suite files or task folders to run, or --lm-eval-task NAME", field="suites")
    tasks = load_tasks(
        paths,
        allow_outside=options.allow_outside_paths,
        limit=options.limit,
        sample_seed=options.limit_seed,
        pool_subtasks=options.pool_subtasks,
    )
    if names:
        from promptcheck.tasks.lmeval import load_lm_eval_tasks

        tasks += load_lm_eval_tasks(
            names, include_path=options.lm_eval_include, limit=options.limit, sample_seed=options.limit_seed
        )
        if len({t.name for t in tasks}) != len(tasks):
            raise InputError("two tasks have the same name; names must be unique in one run", field="--lm-eval-task")
    if options.json is not None:
        from promptcheck.fileio import check_output_file

        check_output_file(
            Path(options.json),
            inputs=[*paths, *(Path(t.source) for t in tasks if not t.source.startswith("lm-eval:"))],
            field="--json",
        )
    if options.representations and options.json is None:
        raise InputError(
            "--representations stores its analysis in the results file: add --json OUT.json", field="--representations"
        )
    sets = []
    added: list[Any] = []
    designs: list[Any] = []
    budgets: list[Any] = []
    for task in tasks:
        chosen: list[Any] = list(task.instructions())
        defaults = None
        if options.default_instructions and not options.paraphrases:
            from promptcheck.paraphrase.defaults import default_instructions, needs_defaults

            if needs_defaults(task):
                defaults = default_instructions(
                    task, seed=options.seed, families=options.family_list(), min_similarity=options.min_similarity
                )
                chosen += defaults.instructions
        added.append(defaults)
        if options.paraphrases:
            from promptcheck.paraphrase.generate import paraphrases

            chosen += paraphrases(
                task.reference_instruction,
                n=options.paraphrases,
                seed=options.seed,
                families=options.family_list(),
                min_similarity=options.min_similarity,
            )
        design = _design(task, options)
        if design is not None or options.budget is not None:
            chosen = _designed(task, chosen, design, options)
        budget = None
        if options.budget is not None:
            budget, design = _budgeted(task, chosen, design, options, verdict or VerdictOptions())
        designs.append(design)
        budgets.append(budget)
        sets.append(tuple(chosen))
    return RunPlan(tuple(tasks), tuple(sets), tuple(added), tuple(designs), tuple(budgets))


def _budgeted(task: Task, chosen: list[Any], design: Any, options: RunOptions, verdict: VerdictOptions) -> Any:
    """What ``--budget`` buys on ``task`` (checked before a model loads) and the design it scores."""
    from promptcheck.stats.budget import plan_budget
    from promptcheck.stats.design import Design

    try:
        budget = plan_budget(
            int(options.budget or 0),
            items=len(task.items),
            compared=len(chosen) - 1,
            per_item=design.instructions_per_item if design is not None else None,
            looks=verdict.looks,
            alpha=1.0 - verdict.confidence,
        )
    except InputError as exc:
        raise InputError(f"task {task.name!r}: {exc.message}", field="--budget") from None
    if design is None and budget.instructions_per_item is not None:
        design = Design(budget.instructions_per_item, seed=options.seed)
    return budget, design


def _design(task: Task, options: RunOptions) -> Any:
    """The task's incomplete design: ``--instructions-per-item``, else its suite's ``instructions_per_item:``."""
    from promptcheck.stats.design import Design
    from promptcheck.tasks.suite import suite_instructions_per_item

    if options.instructions_per_item is not None:
        return Design(options.instructions_per_item, seed=options.seed)
    own = suite_instructions_per_item(task.source) if task.source else None
    return Design(own[0], seed=options.seed) if own is not None else None


def _designed(task: Task, chosen: list[Any], design: Any, options: RunOptions) -> list[Any]:
    """The reference and the compared instructions, the only ones a design (or a budget) scores,
    checked against K.

    Instructions of the kinds a verdict does not compare (the observed ones, when there are
    unobserved or generated ones) are not scored, as the pytest gate scores none of them: the
    design's prompts go to the instructions the verdict judges (docs/statistics.md).
    """
    from promptcheck.errors import InputError
    from promptcheck.stats.sets import compared_kinds
    from promptcheck.tasks.suite import suite_instructions_per_item

    kinds = compared_kinds(getattr(ins, "kind", "generated") for ins in chosen)
    kept = [ins for ins in chosen if getattr(ins, "kind", "generated") in ("reference", *kinds)]
    if design is None:  # a budget without a design: the compared instructions on every item
        return kept
    try:
        design.check([getattr(ins, "kind", "generated") for ins in kept])
    except InputError as exc:
        message = f"task {task.name!r}: {exc.message}"
        if options.instructions_per_item is not None:
            raise InputError(message, field="--instructions-per-item") from None
        own = suite_instructions_per_item(task.source)
        raise InputError(
            message, file=task.source, line=own[1] if own else None, field="instructions_per_item"
        ) from None
    return kept


def open_model(options: ModelOptions, *, seed: int | None = None) -> Scorer:
    """The model of ``options``, behind the score cache unless it is switched off.

    ``seed`` seeds torch first (``promptcheck run``); the score cache lives in
    :func:`promptcheck.settings.score_cache_path` of the options' cache folder.
    """
    if seed is not None:
        import torch

        torch.manual_seed(seed)
    from promptcheck.models.loading import load_model

    scorer = load_model(options.model or "default", **options.load_kwargs())
    if not options.score_cache:
        return scorer
    from promptcheck.models.cache import cached
    from promptcheck.settings import score_cache_path

    return cached(scorer, score_cache_path(options.cache_dir))


def run_settings(scorer: Scorer, options: RunOptions) -> dict[str, Any]:
    """What the results file records of how the run was done (docs/results-schema.md: ``settings``)."""
    from promptcheck.models.base import Batched, UsesChatTemplate, capability

    # A served model has no batch settings of ours (its server batches): recorded as None.
    batched = capability(scorer, Batched)
    templated = capability(scorer, UsesChatTemplate)
    return {
        "chat_template": templated is not None and templated.use_chat_template,
        "batch_size": batched.batch_size if batched else None,
        "batch_tokens": batched.batch_tokens if batched else None,
        "too_long": options.too_long,
        "add_default_instructions": options.default_instructions,
        "paraphrases": options.paraphrases,
        "families": options.family_list(),
        "min_similarity": options.min_similarity,
        **({"limit": options.limit, "limit_seed": options.limit_seed} if options.limit is not None else {}),
        **(
            {"instructions_per_item": options.instructions_per_item}
            if options.instructions_per_item is not None
            else {}
        ),
        **({"budget": options.budget} if options.budget is not None else {}),
    }


def run_suites(
    plan: RunPlan | Sequence[str | Path],
    model: Scorer | ModelOptions,
    options: RunOptions | None = None,
    *,
    verdict: VerdictOptions | None = None,
    on_phase: Callable[[str], None] | None = None,
    on_prompts: Callable[[int], None] | None = None,
) -> RunResult:
    """Score every task of ``plan`` under its instructions; write ``options.json`` after each task.

    A task under a budget (``options.budget``) is scored in rounds over a seeded item order and
    judged after each, stopping when its verdict is decided (:mod:`promptcheck.stats.budget`).

    ``model`` is a loaded scorer or the options to open one with; ``verdict`` the threshold and
    confidence each task is judged at (``run --max-accuracy-drop/--confidence``). ``on_phase`` hears what is
    being done (``"scoring capitals"``), ``on_prompts`` how many prompts were just scored
    (progress bars). Ctrl-C raises :class:`RunInterrupted` with the finished tasks.

    >>> result = run_suites(["suite.yaml"], ModelOptions(model="default"))  # doctest: +SKIP
    """
    from promptcheck.evaluation.runner import evaluate
    from promptcheck.models.cache import CachedScorer
    from promptcheck.report.jsonio import task_to_json, write_run_json
    from promptcheck.stats.task import task_statistics

    options = options or RunOptions()
    if not isinstance(plan, RunPlan):
        plan = plan_run(plan, options, verdict)
    scorer = open_model(model, seed=options.seed) if isinstance(model, ModelOptions) else model
    settings = run_settings(scorer, options)
    if plan.added_sources():
        settings["default_instructions"] = plan.added_sources()
    json_out = Path(options.json) if options.json else None
    verdict = verdict or VerdictOptions()
    stats = verdict.statistics()
    judging: dict[str, Any] = dict(
        threshold=verdict.max_accuracy_drop, confidence=verdict.confidence, n_boot=verdict.n_boot, seed=options.seed
    )
    done: list[TaskResult] = []
    judged: list[Any] = []  # each task's statistics, computed once when it finishes
    docs: list[dict[str, Any]] = []  # and its part of the results file, made from them once
    reps: dict[str, dict] = {}
    phase = on_phase or (lambda _text: None)
    try:
        for n, (task, chosen) in enumerate(zip(plan.tasks, plan.instruction_sets)):
            phase(f"scoring {task.name}")
            design = plan.designs[n] if n < len(plan.designs) else None
            budget = plan.budget(n)
            if budget is None:
                result = evaluate(
                    scorer, task, list(chosen), progress=on_prompts, too_long=options.too_long, design=design
                )
                judged.append(task_statistics(result, **judging))
            else:
                result, statistics = _score_budget(
                    scorer, task, chosen, budget, design, options, judging, verdict.looks, on_prompts
                )
                judged.append(statistics)
            if on_prompts is not None:  # prompts that will never come: skipped items, a budget's unspent rounds
                planned_items = budget.items if budget is not None else len(task.items)
                on_prompts(max(planned_items - len(result.task.items), 0) * plan.prompts_per_item(n))
            done.append(result)  # after its statistics: an interruption shows every task it counts
            if options.representations:
                from promptcheck.analysis.representations import representation_analysis

                phase(f"representations {task.name}")
                reps[task.name] = representation_analysis(
                    scorer,
                    result,
                    seed=options.seed,
                    layer=options.representation_layer,
                    projection=options.projection,
                )
            if json_out is not None:  # after each task, so an interruption keeps what finished
                docs.append(
                    task_to_json(
                        result,
                        seed=options.seed,
                        stats=stats,
                        representations=reps.get(task.name),
                        statistics=judged[-1],
                    )
                )
                write_run_json(
                    json_out,
                    RunResult(tuple(done), scorer.identity, options.seed, settings),
                    stats=stats,
                    task_docs=docs,
                )
    except KeyboardInterrupt:
        saved = json_out if json_out is not None and done else None
        raise RunInterrupted(
            tuple(done), len(plan.tasks), saved, isinstance(scorer, CachedScorer), tuple(judged)
        ) from None
    return RunResult(tuple(done), scorer.identity, options.seed, settings, tuple(judged))


def _score_budget(
    scorer: Scorer,
    task: Task,
    chosen: Sequence[Any],
    budget: Any,
    design: Any,
    options: RunOptions,
    judging: dict[str, Any],
    looks: Sequence[float],
    on_prompts: Callable[[int], None] | None,
) -> tuple[TaskResult, Any]:
    """Score ``task`` round by round within ``budget``, judging after each; its result and statistics
    (with the budget's outcome: what was spent and why scoring stopped)."""
    from dataclasses import replace

    from promptcheck.evaluation.rounds import score_rounds, seeded_order
    from promptcheck.stats.budget import budget_outcome
    from promptcheck.stats.task import task_statistics

    seen: list[Any] = []

    def decided(result: TaskResult) -> bool:
        seen.append(task_statistics(result, looks=looks, planned_items=budget.items, **judging))
        return seen[-1].robustness is not None and seen[-1].robustness.judgment.verdict != "inconclusive"

    result, rounds = score_rounds(
        scorer,
        seeded_order(task, options.seed),
        chosen,
        rounds=budget.rounds,
        decided=decided,
        design=design,
        progress=on_prompts,
        too_long=options.too_long,
    )
    last = seen[-1]
    verdict = last.robustness.judgment.verdict if last.robustness is not None else "inconclusive"
    spent = budget_outcome(
        budget, verdict=verdict, rounds=rounds, prompts=result.prompts_scored, items=len(result.task.items)
    )
    return result, replace(last, budget=spent)
