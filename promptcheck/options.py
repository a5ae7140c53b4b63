"""Every option of promptcheck's front ends, declared once (peft's config style).

Each option is a field of a frozen dataclass, with its help, its checks and its spellings in
the field's metadata. The pytest plugin (``--promptcheck-*`` options and their ini twins) and
the command line (typer options) are generated from these fields, so a default, a help text
or an allowed value is written here and nowhere else; values are checked in ``__post_init__``,
so an option object that exists is a valid one, whichever front end built it.

The model's options come in two classes, because a model runs either in this process
(:class:`LocalModelOptions`) or behind a server (:class:`ServedModelOptions`);
:class:`ModelOptions` is both plus what either needs (the name, the chat template, the
caches). :class:`GateOptions` are the pytest gate's own, :class:`RunOptions` those of
``promptcheck run``.

Torch-free and quick to import: ``pytest --help`` reads it.

Metadata keys of a field (see :func:`option`): ``help``; ``cli`` (typer's parameter
declarations; ``None`` for ``--field-name``, ``False`` for no CLI option); ``plugin`` (names
after ``--promptcheck-``, the first also the ini name, the rest old spellings kept working;
``False`` for no plugin option); ``check`` (value -> problem or None); ``min``/``max``;
``default_text`` (the default as the help states it, when the field's default is None).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import MISSING, Field, dataclass, field, fields
from types import UnionType
from typing import Any, TypeVar, Union, get_args, get_origin, get_type_hints

from promptcheck.errors import InputError
from promptcheck.settings import DEFAULT_API_KEY_ENV

#: Torch dtypes a local model is loaded in (``auto``: bfloat16 on a GPU, float32 on a CPU).
DTYPES = ("float32", "bfloat16", "float16", "auto")
#: accelerate's device maps (they spread a model over several GPUs).
DEVICE_MAPS = ("auto", "balanced", "balanced_low_0", "sequential")
#: What ``device`` accepts; the message says it in words.
DEVICE_PATTERN = r"cpu|auto|mps|cuda(:\d+)?"
DEVICE_WORDS = "cpu, cuda, cuda:N, mps or auto"
#: ``assert_robust``'s ``claim``: ``auto`` picks by the kinds compared (docs/statistics.md).
CLAIMS = ("auto", "instructions", "phrasings")
#: What happens to a prompt longer than the model's context.
TOO_LONG = ("fail", "skip")
#: 2-D projections of ``--representations``.
PROJECTIONS = ("pca", "tsne")
#: Where an instruction comes from (``promptcheck.tasks.records.Instruction.kind``): an option's
#: allowed values (``kinds=``), so declared here, below the records that use them.
INSTRUCTION_KINDS: tuple[str, ...] = ("reference", "observed", "unobserved", "generated")
#: Seeds are 32-bit (numpy's and the score cache's range).
SEED_MAX = 2**32 - 1

Check = Callable[[Any], "str | None"]


def one_of(choices: tuple[str, ...]) -> Check:
    """A check: the value is one of ``choices``."""

    def check(value: Any) -> str | None:
        return None if value in choices else f"must be one of {', '.join(choices)}, got {value!r}"

    return check


def is_number(value: Any) -> bool:
    """A finite real number, numpy's included, not a bool (the one check every front end uses)."""
    import math
    import numbers

    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(float(value))


def confidence_problem(value: Any) -> str | None:
    """The one check of a verdict's confidence, whichever front end gives it: each of the two
    one-sided tests is at this level, so it must be above 0.5 (a bound on the other side) and below 1."""
    ok = is_number(value) and 0.5 < float(value) < 1
    return None if ok else f"must be between 0.5 and 1 (the level of each one-sided test), got {value!r}"


def number_problem(value: Any) -> str | None:
    return None if is_number(value) else f"must be a number, got {value!r}"


def kinds_problem(value: Any) -> str | None:
    ok = not isinstance(value, str) and all(k in INSTRUCTION_KINDS for k in value)
    return None if ok else f"must be a list of {', '.join(INSTRUCTION_KINDS)}, got {value!r}"


def looks_problem(value: Any) -> str | None:
    ok = not isinstance(value, str) and len(value) > 0 and all(is_number(f) and 0 < float(f) <= 1 for f in value)
    return None if ok else f"must be fractions of the items in (0, 1], got {value!r}"


def instructions_per_item_problem(value: Any) -> str | None:
    """The one check of an incomplete design's ``instructions_per_item`` (a positive whole number),
    whichever front end gives it (whether it exceeds the compared instructions is checked with the task)."""
    import numbers

    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool) and int(value) >= 1
    return None if ok else f"must be a positive whole number of instructions, got {value!r}"


def _per_item(**where: Any) -> Any:
    """The ``instructions_per_item`` option, declared once for ``run`` and for the verdict's front ends."""
    return option(
        help="an incomplete design: score each item under the reference and this many of the compared "
        "instructions, dealt evenly and seeded (docs/statistics.md, 'Incomplete designs')",
        check=instructions_per_item_problem,
        default_text="every compared instruction (a suite's instructions_per_item: when it has one)",
        **where,
    )


def budget_problem(value: Any) -> str | None:
    """The one check of a prompt ``budget`` (a whole number of prompts, 2 or more; whether it buys
    one round is checked with the task, :func:`promptcheck.stats.budget.plan_budget`)."""
    import numbers

    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool) and int(value) >= 2
    return None if ok else f"must be a whole number of prompts (2 or more), got {value!r}"


def _budget(**where: Any) -> Any:
    """The ``budget`` option, declared once for ``run`` and for the verdict's front ends."""
    return option(
        help="spend at most this many prompts per task: score in rounds over a seeded item order, judge after "
        "each (alpha spent per round) and stop when the verdict is decided or the budget is spent "
        "(docs/statistics.md, 'A budget instead of a size')",
        check=budget_problem,
        **where,
    )


def device_problem(value: Any) -> str | None:
    """The check of a ``device``: cpu, cuda, cuda:N, mps or auto."""
    ok = isinstance(value, str) and re.fullmatch(DEVICE_PATTERN, value)
    return None if ok else f"must be {DEVICE_WORDS}, got {value!r}"


def option(
    default: Any = None,
    *,
    help: str,
    cli: tuple[str, ...] | None | bool = None,
    plugin: tuple[str, ...] | None | bool = None,
    check: Check | None = None,
    min: int | float | None = None,
    max: int | float | None = None,
    default_text: str | None = None,
    negate: str | None = None,
) -> Any:
    """A dataclass field that is a front-end option; see the module docstring for the keys.

    ``negate``: the help of a plugin flag that turns a default-True field off
    (``--promptcheck-no-score-cache``); the command line has both spellings.
    """
    metadata = {
        "help": help,
        "cli": cli,
        "plugin": plugin,
        "check": check,
        "min": min,
        "max": max,
        "default_text": default_text,
        "negate": negate,
    }
    return field(default=default, metadata=metadata)


@dataclass(frozen=True)
class OptionSpec:
    """One option as a front end needs it (what :func:`specs` yields)."""

    name: str  # the field's name
    type: Any  # the field's type (real, not a string)
    default: Any
    help: str
    cli: tuple[str, ...] | None  # typer's declarations; None: typer's own --field-name
    plugin: tuple[str, ...]  # --promptcheck-<name>; the first is also the ini name
    min: int | float | None
    max: int | float | None
    default_text: str | None
    negate: bool  # the plugin's flag turns the field off
    off_help: str | None = None  # that flag's help

    @property
    def dest(self) -> str:
        """Where pytest stores the parsed value (``config.getoption(dest)``)."""
        return f"promptcheck_{self.name}"

    @property
    def is_flag(self) -> bool:
        return self.type is bool

    def shown_default(self) -> str | None:
        """The default as a help text states it (None: there is none worth stating)."""
        if self.default_text is not None:
            return self.default_text
        if self.default is None or self.is_flag:
            return None
        return str(self.default)


T = TypeVar("T", bound="Options")


@dataclass(frozen=True, kw_only=True)
class Options:
    """Base of every options class: fields made with :func:`option`, checked on construction."""

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            low, high = f.metadata.get("min"), f.metadata.get("max")
            if (low is not None or high is not None) and not is_number(value):
                raise InputError(f"must be a number, got {value!r}", field=f.name)
            if low is not None and value < low or high is not None and value > high:
                bounds = f"at least {low}" if high is None else f"between {low} and {high}"
                raise InputError(f"must be {bounds}, got {value!r}", field=f.name)
            check = f.metadata.get("check")
            problem = check(value) if check is not None else None
            if problem:
                raise InputError(problem, field=f.name)

    @classmethod
    def pick(cls: type[T], values: Mapping[str, Any]) -> T:
        """This class's options out of ``values`` (a front end's parsed options); the rest default."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})

    def values(self) -> dict[str, Any]:
        """Every option by field name (flat, as :meth:`pick` takes them)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def specs(cls: type[Any], *, front: str) -> Iterator[OptionSpec]:
    """The options ``cls`` offers on a front end (``"cli"`` or ``"plugin"``), in declaration order."""
    hints = get_type_hints(cls)
    for f in fields(cls):
        yield from _spec(f, hints[f.name], front)


def _spec(f: Field, type_: Any, front: str) -> Iterator[OptionSpec]:
    meta = f.metadata
    where = meta.get(front)
    if where is False or "help" not in meta:
        return
    plugin = meta["plugin"] if isinstance(meta.get("plugin"), tuple) else (f.name.replace("_", "-"),)
    yield OptionSpec(
        name=f.name,
        type=type_,
        default=None if f.default is MISSING else f.default,
        help=meta["help"],
        cli=meta.get("cli") if isinstance(meta.get("cli"), tuple) else None,
        plugin=plugin,
        min=meta.get("min"),
        max=meta.get("max"),
        default_text=meta.get("default_text"),
        negate=bool(meta.get("negate")),
        off_help=meta.get("negate") or None,
    )


def parse_text(spec: OptionSpec, text: Any) -> Any:
    """A value as written in an ini file or on a pytest command line, as the field's type."""
    optional = get_origin(spec.type) in (Union, UnionType)
    kinds = [t for t in get_args(spec.type) if t is not type(None)] if optional else [spec.type]
    kind = kinds[0]
    if get_origin(kind) is tuple:  # a comma-separated list: kinds, looks
        item = get_args(kind)[0]
        parts = text if isinstance(text, list | tuple) else comma_list(str(text)) or []
        element = OptionSpec(**{**spec.__dict__, "type": item})
        return tuple(parse_text(element, part) for part in parts)
    if kind is bool:
        return text if isinstance(text, bool) else str(text).strip().lower() in ("1", "true", "yes", "on")
    if kind in (int, float):
        try:
            return kind(str(text).strip())
        except ValueError:
            word = "an integer" if kind is int else "a number"
            raise InputError(f"must be {word}, got {text!r}", field=spec.name) from None
    return text


def _seed(help: str) -> Any:
    return option(0, help=help, min=0, max=SEED_MAX)


# -- the model --------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class ModelName(Options):
    """Which model: the first of :class:`ModelOptions` (a base of its own so it comes first in help)."""

    model: str | None = option(
        help="model to test: 'default' (packaged SmolLM2-135M-Instruct), an alias (see `promptcheck models`), "
        "a local folder, a .gguf file, a hub id, or served endpoints http://HOST:PORT/v1[,URL2,...] "
        "(vLLM; docs/scaling.md)",
        cli=("--model", "-m"),
    )


@dataclass(frozen=True, kw_only=True)
class LocalModelOptions(Options):
    """How a model that runs in this process (transformers) is loaded."""

    revision: str | None = option(help="hub revision (branch, tag or commit)")
    dtype: str = option("float32", help=f"weights' dtype: {', '.join(DTYPES[:-1])} or auto", check=one_of(DTYPES))
    device: str = option("cpu", help=f"where the model runs: {DEVICE_WORDS}", check=device_problem)
    device_map: str | None = option(
        help="'auto': spread a model too big for one GPU over all of them (accelerate); replaces the device",
        check=one_of(DEVICE_MAPS),
    )
    adapter: str | None = option(help="a peft adapter folder to load on the model")
    batch_size: int | None = option(
        help="most sequences per forward pass", min=1, default_text="16, fewer when the memory budget says so"
    )
    max_memory: str | None = option(
        help="memory one forward pass may use, e.g. 2GiB, 8GB; the batch is sized to fit, "
        "and halved if memory still runs out",
        default_text="2GiB",
    )
    trust_remote_code: bool = option(
        False, help="let a model run its own Python code when loaded (off: it is code you have not read)"
    )
    allow_pickle: bool = option(
        False, help="load pickle weights (.bin/.pt) when a model has no safetensors (off: unpickling can run code)"
    )


@dataclass(frozen=True, kw_only=True)
class ServedModelOptions(Options):
    """How a model behind OpenAI-compatible servers (vLLM) is reached."""

    served_model: str | None = option(
        help="served models: the model's name, when the server serves several", default_text="the only one served"
    )
    tokenizer: str | None = option(
        help="served models: the local tokenizer whose chat template renders prompts (a folder, a hub id or 'default')"
    )
    max_concurrency: int = option(8, help="served models: requests in flight per endpoint", min=1)
    api_key_env: str = option(
        DEFAULT_API_KEY_ENV,
        help="served models: environment variable holding the API key (never put a key in a file)",
    )


@dataclass(frozen=True, kw_only=True)
class ModelOptions(ServedModelOptions, LocalModelOptions, ModelName):
    """The model under test: its name, then local or served options, and the caches.

    One flat record (``options.dtype``, ``options.served_model``); :meth:`local` and
    :meth:`served` give each kind's own options back.
    """

    chat_template: bool | None = option(
        help="wrap prompts in the chat template (a served model's comes from the tokenizer option)",
        cli=("--chat-template/--no-chat-template",),
        plugin=False,
        default_text="when the tokenizer has one",
    )
    cache_dir: str | None = option(
        help="cache folder: converted models, weight hashes and the score cache scores.sqlite",
        plugin=("cache-dir", "cache"),
        default_text="$PROMPTCHECK_CACHE_DIR, else ~/.cache/promptcheck",
    )
    score_cache: bool = option(
        True,
        help="reuse scores stored on disk for the same model and prompt, and store new ones "
        "(an interrupted run continues where it stopped)",
        cli=("--score-cache/--no-score-cache", "--cache/--no-cache"),
        plugin=("no-score-cache",),
        negate="score every prompt afresh instead of reusing scores stored on disk",
    )

    def local(self) -> LocalModelOptions:
        return LocalModelOptions.pick(self.values())

    def served(self) -> ServedModelOptions:
        return ServedModelOptions.pick(self.values())

    def load_kwargs(self) -> dict[str, Any]:
        """What :func:`promptcheck.load_model` takes besides the name (the caches stay with the caller)."""
        values = {f.name: getattr(self, f.name) for f in fields(ModelOptions)}
        for name in ("model", "cache_dir", "score_cache"):
            values.pop(name)
        return {**values, "cache": self.cache_dir}


# -- the verdict ------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class VerdictOptions(Options):
    """How a robustness verdict is judged (:func:`promptcheck.assert_robust`, its pytest marker and
    ``--promptcheck-*`` options, and the figures ``run``, ``plan``, ``compare`` and ``fix`` report):
    one type, checked once, so every front end accepts the same values and refuses the rest with
    the same message. ``run`` offers the threshold and confidence (``--max-accuracy-drop``,
    ``--confidence``); the plugin offers every field but the seed (the gate's own) as a session
    default that a ``@pytest.mark.promptcheck`` marker and ``assert_robust``'s arguments override."""

    max_accuracy_drop: float = option(
        0.05,
        help="the threshold: the accuracy drop under paraphrase a verdict allows (0.05 = 5 points)",
        check=number_problem,
    )
    confidence: float = option(
        0.95,
        help="the level of each of the verdict's two one-sided tests (0.95: a two-sided 90% interval)",
        check=confidence_problem,
    )
    relative: bool = option(False, help="judge the drop as a share of the reference's accuracy above chance", cli=False)
    claim: str = option(
        "auto",
        help="what the verdict claims: phrasings (new phrasings in general), instructions (these ones) "
        "or auto (phrasings when two or more unobserved or generated instructions are compared)",
        check=one_of(CLAIMS),
        cli=False,
    )
    kinds: tuple[str, ...] | None = option(
        help="instruction kinds compared with the reference, comma-separated",
        check=kinds_problem,
        cli=False,
        default_text="unobserved and generated, else observed",
    )
    min_consistency: float | None = option(
        help="also check that answers agree across instructions at least this often (a share of items)",
        check=number_problem,
        cli=False,
    )
    max_worst_drop: float | None = option(
        help="also check the worst instruction's drop against this threshold", check=number_problem, cli=False
    )
    on_inconclusive: str = option(
        "fail",
        help="what an inconclusive verdict does to the test: fail or pass",
        check=one_of(("fail", "pass")),
        cli=False,
    )
    sequential: bool = option(
        False, help="score in looks and stop as soon as the verdict is decided (alpha spent per look)", cli=False
    )
    looks: tuple[float, ...] = option(
        (0.25, 0.5, 1.0),
        help="the looks of a sequential verdict: fractions of the items, comma-separated",
        check=looks_problem,
        cli=False,
        default_text="0.25,0.5,1.0",
    )
    instructions_per_item: int | None = _per_item(cli=False)
    budget: int | None = _budget(cli=False)
    n_boot: int = option(2000, help="bootstrap draws of the consistency interval", min=100, cli=False)
    seed: int | None = option(help="seed of item order and bootstrap", min=0, max=SEED_MAX, cli=False, plugin=False)

    def statistics(self) -> dict[str, Any]:
        """What a results file records as its ``statistics`` (the figures ``run`` judged at)."""
        return {"threshold": self.max_accuracy_drop, "confidence": self.confidence, "n_boot": self.n_boot}

    def overrides(self) -> dict[str, Any]:
        """Every field but the seed, as ``assert_robust``'s per-session defaults (the plugin's)."""
        return {k: v for k, v in self.values().items() if k != "seed"}


# -- the pytest gate --------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class GateOptions(Options):
    """The pytest plugin's own options (outputs, the baseline, CI strictness)."""

    seed: int = _seed("seed for item order, bootstrap and paraphrase searches")
    json: str | None = option(help="write every robustness verdict to this JSON file", cli=False)
    markdown: str | None = option(help="write a pull-request summary (Markdown) to this file", cli=False)
    html: str | None = option(
        help="write an HTML report of every robustness verdict (plots, worst instructions) to this file", cli=False
    )
    baseline: str | None = option(
        help="a --promptcheck-json file of an earlier release: fail (exit 8) where robustness got "
        "significantly worse (paired interval over the same items)",
        cli=False,
    )
    failures: str = option(".promptcheck/failures.json", help="where failing tasks are written for `promptcheck fix`")
    require_model: bool = option(
        False, help="error out instead of skipping when no model is named (for CI gates)", cli=False
    )


@dataclass(frozen=True, kw_only=True)
class PluginSettings(GateOptions, VerdictOptions, ModelOptions):
    """Every promptcheck setting of a pytest session, resolved once by the plugin: the model's options
    (:class:`ModelOptions`), the verdict's session defaults (:class:`VerdictOptions`; the seed is the
    gate's) and the gate's own (:class:`GateOptions`). Here, not in ``plugin.py``,
    so the gate's session reads its type without importing the plugin that imports it."""

    def verdict(self) -> VerdictOptions:
        """The session's verdict options (``--promptcheck-max-accuracy-drop`` and the rest)."""
        return VerdictOptions.pick(self.values())


# -- promptcheck run --------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class RunOptions(Options):
    """What ``promptcheck run`` (and :func:`promptcheck.evaluation.run_suites`) does besides the model."""

    json: str | None = option(help="write results as JSON (docs/results-schema.md)", cli=("--json",))
    seed: int = _seed("seed for everything random (recorded in the results)")
    verbose: bool = option(False, help="also print every instruction's accuracy", cli=("--verbose", "-v"))
    allow_outside_paths: bool = option(False, help="let suite files name items outside their folder")
    paraphrases: int = option(
        0, help="add N generated paraphrases of each reference instruction (kind 'generated')", min=0
    )
    default_instructions: bool = option(
        True,
        help="a task with no instructions to compare (an items file, an lm-eval task) gets some: its kind's "
        "written bank's unobserved ones when its reference is that bank's, else 10 generated paraphrases",
        cli=("--default-instructions/--no-default-instructions",),
    )
    families: str | None = option(
        help="paraphrase families, comma-separated (lexical,syntactic,framing,formatting,noise)",
        default_text="all but noise",
    )
    min_similarity: float | None = option(
        help="equivalence guard for generated paraphrases: minimum embedding cosine similarity to the reference"
    )
    too_long: str = option(
        "fail",
        help="a prompt longer than the model's context: 'fail' (error naming the item) or 'skip' "
        "(leave the item out under every instruction, with a count)",
        check=one_of(TOO_LONG),
    )
    representations: bool = option(
        False,
        help="also store each instruction's hidden state analysis in --json (docs/report.md: distance to "
        "observed instructions, 2-D projection, correlation with the drop)",
        cli=("--representations",),
    )
    representation_layer: int | None = option(
        help="hidden-state layer for --representations (0 = embeddings, -1 = last)",
        default_text="the paper's choice, docs/report.md",
    )
    projection: str = option(
        "pca", help="2-D projection for --representations: pca or tsne (needs scikit-learn)", check=one_of(PROJECTIONS)
    )
    limit: int | None = option(
        help="score a seeded, stable sample of N items per task (the same items under every instruction "
        "and in every run; overrides a suite's limit:)",
        min=1,
    )
    limit_seed: int = _seed("seed of the --limit sample")
    instructions_per_item: int | None = _per_item(plugin=False)
    budget: int | None = _budget(plugin=False)
    lm_eval_task: str | None = option(
        help="lm-evaluation-harness task(s), comma-separated (e.g. mmlu_astronomy): items from lm-eval's own "
        "task configs (docs/suite-format.md)"
    )
    lm_eval_include: list[str] | None = option(
        help="a folder of your own lm-eval task YAML files for --lm-eval-task (then only those are indexed)"
    )
    pool_subtasks: bool = option(
        False,
        help="a BIG-bench task with subtasks: one task of all their items",
        cli=("--pool-subtasks",),
        default_text="each subtask is its own task, named parent/subtask",
    )

    def family_list(self) -> list[str] | None:
        return comma_list(self.families)

    def lm_eval_names(self) -> list[str]:
        return comma_list(self.lm_eval_task) or []


def comma_list(value: str | None) -> list[str] | None:
    """``"a, b,"`` -> ``["a", "b"]``; nothing -> None."""
    if not value:
        return None
    return [part.strip() for part in value.split(",") if part.strip()] or None


# -- compare, plan, paraphrase ----------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class CompareOptions(Options):
    """What ``promptcheck compare`` takes besides the two files and the verdict's confidence."""

    tolerance: float = option(
        0.0,
        help="a change counts as worse only if its lower bound is above this (0.01 = 1 point)",
        check=number_problem,
        plugin=False,
    )
    seed: int = option(0, help="kept for scripts; the paired test is analytic", min=0, max=SEED_MAX, plugin=False)
    html: str | None = option(help="also write the comparison as HTML to this file", plugin=False)
    json: bool = option(
        False,
        help="print the comparison as JSON (a 'compare' document) instead of a table",
        cli=("--json",),
        plugin=False,
    )


@dataclass(frozen=True, kw_only=True)
class PlanOptions(Options):
    """What ``promptcheck plan`` takes besides the pilot file and the verdict's threshold and confidence."""

    target_drop: float | None = option(
        help="plan for this true drop (0.0: a model that does not drop)",
        check=number_problem,
        default_text="the drop the pilot measured",
        plugin=False,
    )
    json: bool = option(False, help="print the plan as JSON (a 'plan' document)", cli=("--json",), plugin=False)


@dataclass(frozen=True, kw_only=True)
class ParaphraseOptions(Options):
    """What ``promptcheck paraphrase`` takes besides the instruction (:func:`promptcheck.paraphrases`'s arguments)."""

    n: int = option(20, help="how many paraphrases", cli=("-n", "--n"), min=1, plugin=False)
    seed: int = option(0, help="same seed, same list", min=0, max=SEED_MAX, plugin=False)
    families: str | None = option(
        help="paraphrase families, comma-separated (lexical,syntactic,framing,formatting,noise)",
        default_text="all but noise",
        plugin=False,
    )
    max_edits: int = option(2, help="most edits per paraphrase", min=1, max=3, plugin=False)
    min_similarity: float | None = option(
        help="reject paraphrases whose embedding cosine similarity to the reference is below this",
        plugin=False,
    )  # its range is checked where it is used (paraphrase.generate), with the same message everywhere
    protect: str | None = option(help="extra words no edit may touch, comma-separated", plugin=False)
    json: bool = option(
        False, help="print the paraphrases as JSON (a list of text, edits, similarity)", cli=("--json",), plugin=False
    )
