"""Options of ``promptcheck fix``, declared on the one options model (:mod:`promptcheck.options`).

:class:`FixConfig` is how the soft prompt is trained and judged (peft's config style: each
field carries its help, spellings and checks in its metadata, checked once on construction);
:class:`FixOptions` is what the command does besides (where failures come from, where the
adapter goes, resuming). The command line's ``fix`` options are generated from both, with
``--model`` from :class:`~promptcheck.options.ModelName` and ``--limit`` from
:class:`~promptcheck.options.RunOptions`, so a flag is declared once whichever command has it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from promptcheck.options import SEED_MAX, Options, confidence_problem, number_problem, one_of, option

MODES = ("both", "ce", "kl")


def _positive(value: Any) -> str | None:
    return None if value > 0 else f"must be > 0, got {value!r}"


def _not_negative(value: Any) -> str | None:
    return None if value >= 0 else f"must be >= 0, got {value!r}"


def _share(value: Any) -> str | None:
    """A share kept for validation: 0 (none: validate in sample) up to, not including, 1."""
    return None if 0 <= value < 1 else f"must be between 0 and 1, got {value!r}"


def _split(value: Any) -> str | None:
    """The held-out share: some items must train and some be held out."""
    return None if 0 < value < 1 else f"must be between 0 and 1 (exclusive), got {value!r}"


def _phrasings(value: Any) -> str | None:
    from promptcheck.fix.phrasings import SOURCES

    parts = [s.strip() for s in str(value).split(",")]
    if isinstance(value, str) and value.strip() and all(p in SOURCES for p in parts):
        return None
    return f"must be a comma-separated list of {', '.join(SOURCES)}, got {value!r}"


@dataclass(frozen=True, kw_only=True)
class FixConfig(Options):
    """How the soft prompt is trained. Every field has a default that works on the default model."""

    num_virtual_tokens: int = option(
        20,
        cli=("--virtual-tokens",),
        min=1,
        help="soft-prompt length; initialised from the reference instruction's token embeddings",
    )
    steps: int = option(100, min=1, help="most optimizer steps per candidate (early stopping may end sooner)")
    lr: float = option(0.01, check=_positive, help="AdamW learning rate for the soft prompt")
    kl_weight: float = option(
        1.0,
        cli=("--lambda", "--kl-weight"),
        check=_not_negative,
        help="lambda: weight of KL(p(.|paraphrase) || p(.|reference))",
    )
    anchor_weight: float = option(
        0.0,
        cli=("--anchor",),
        check=_not_negative,
        help="weight of KL(p_base(.|reference) || p(.|reference)) on the training items: holds the reference "
        "instruction's answers where the base model had them, so closing the gap cannot lower the reference",
    )
    batch_items: int = option(
        2,
        min=1,
        help="items per step; each brings its reference prompt and `paraphrases_per_item` paraphrased prompts",
    )
    paraphrases_per_item: int = option(3, min=1, help="paraphrased prompts per item per step")
    mode: str = option(
        "both",
        check=one_of(MODES),
        help="both: CE + lambda*KL (the paper's method); ce: prompt tuning without KL; kl: KL only (ablations)",
    )
    detach_reference: bool = option(
        True,
        cli=("--detach-reference/--no-detach-reference",),
        help="treat p(.|reference) as a fixed target in the KL term (default: the reference is the anchor the "
        "paper aligns to; letting it move can drag it toward the paraphrases)",
    )
    heldout_items: float = option(
        0.5, check=_split, help="share of each task's items held out of training (seeded split)"
    )
    phrasings: str = option(
        "observed,bank,generated,structural",
        check=_phrasings,
        help="what the soft prompt trains on, comma-separated: observed (the suite's), bank (the written bank "
        "of the task's kind), generated (guarded paraphrases), structural (questions, requests, roles, "
        "answer-format sentences)",
    )
    generated: int = option(12, min=0, help="how many generated paraphrases join the phrasings")
    val_items: float = option(
        0.4, check=_share, help="share of the non-held-out items kept for model selection (validation)"
    )
    val_instructions: float = option(
        0.3,
        check=_share,
        help="share of the written training phrasings kept for model selection (validation); with one "
        "written phrasing, of the generated and structural ones",
    )
    eval_every: int = option(10, min=1, help="score the validation split every N steps; the best checkpoint is kept")
    patience: int = option(4, min=1, help="stop a candidate after this many validation scores without improvement")
    search: int = option(
        2,
        min=1,
        help="hyper-parameter candidates tried (the first is these options; the rest are seeded draws of lr, "
        "lambda and virtual tokens)",
    )
    gate_threshold: float = option(
        0.05,
        cli=("--max-accuracy-drop",),
        check=number_problem,
        default_text="the failing gate's, from --from, else 0.05",
        help="the gate's max_accuracy_drop, for the verdict with the adapter (from --from when it names one)",
    )
    gate_confidence: float = option(0.95, cli=False, check=confidence_problem, help="the gate's confidence")
    checkpoint_every: int = option(10, min=1, help="save a resumable checkpoint every N steps")
    harm_tolerance: float = option(
        0.01,
        check=_not_negative,
        help="largest allowed fall of held-out accuracy under the reference instruction (0.01 = 1 point)",
    )
    seed: int = option(0, min=0, max=SEED_MAX, help="seed for the item split, sampling and bootstrap")

    def sources(self) -> tuple[str, ...]:
        return tuple(s.strip() for s in self.phrasings.split(","))

    def to_json(self) -> dict:
        return self.values()


@dataclass(frozen=True, kw_only=True)
class FixOptions(Options):
    """What ``promptcheck fix`` does besides training: where failing tasks come from and where the adapter goes."""

    from_failures: str | None = option(
        cli=("--from",), plugin=False, help="a failures.json written by the pytest plugin (.promptcheck/failures.json)"
    )
    out: str = option("adapters/fix", plugin=False, help="where the peft adapter and fix_report.json go")
    resume: bool = option(False, cli=("--resume",), plugin=False, help="continue from the checkpoint in --out")
    joint: bool = option(
        False,
        cli=("--joint",),
        plugin=False,
        help="several tasks: train one soft prompt shared by all (default: one adapter per task, in --out/<task>)",
    )
