"""Options of ``promptcheck fix``, as one dataclass whose fields carry their help (peft's style).

The command line's ``fix`` options are generated from these fields (promptcheck.cli.options):
the metadata's ``cli`` names a field's flags (``False``: not on the command line) and
``min``/``max`` bound it there, as in :mod:`promptcheck.options`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

MODES = ("both", "ce", "kl")


@dataclass(frozen=True)
class FixConfig:
    """How the soft prompt is trained. Every field has a default that works on the default model."""

    num_virtual_tokens: int = field(
        default=20,
        metadata={
            "cli": ("--virtual-tokens",),
            "min": 1,
            "help": "soft-prompt length; initialised from the reference instruction's token embeddings",
        },
    )
    steps: int = field(
        default=100, metadata={"min": 1, "help": "most optimizer steps per candidate (early stopping may end sooner)"}
    )
    lr: float = field(default=0.01, metadata={"help": "AdamW learning rate for the soft prompt"})
    kl_weight: float = field(
        default=1.0,
        metadata={
            "cli": ("--lambda", "--kl-weight"),
            "help": "lambda: weight of KL(p(.|paraphrase) || p(.|reference))",
        },
    )
    anchor_weight: float = field(
        default=0.0,
        metadata={
            "cli": ("--anchor",),
            "help": "weight of KL(p_base(.|reference) || p(.|reference)) on the training items: holds the reference "
            "instruction's answers where the base model had them, so closing the gap cannot lower the reference",
        },
    )
    batch_items: int = field(
        default=2,
        metadata={
            "min": 1,
            "help": "items per step; each brings its reference prompt and `paraphrases_per_item` paraphrased prompts",
        },
    )
    paraphrases_per_item: int = field(default=3, metadata={"min": 1, "help": "paraphrased prompts per item per step"})
    mode: str = field(
        default="both",
        metadata={
            "help": "both: CE + lambda*KL (the paper's method); ce: prompt tuning without KL; kl: KL only (ablations)"
        },
    )
    detach_reference: bool = field(
        default=True,
        metadata={
            "cli": ("--detach-reference/--no-detach-reference",),
            "help": "treat p(.|reference) as a fixed target in the "
            "KL term (default: the reference is the anchor the paper "
            "aligns to; letting it move can drag it toward the paraphrases)",
        },
    )
    heldout_items: float = field(
        default=0.5, metadata={"help": "share of each task's items held out of training (seeded split)"}
    )
    phrasings: str = field(
        default="observed,bank,generated,structural",
        metadata={
            "help": "what the soft prompt trains on, comma-separated: observed (the suite's), bank (the written bank "
            "of the task's kind), generated (guarded paraphrases), structural (questions, requests, roles, "
            "answer-format sentences)"
        },
    )
    generated: int = field(default=12, metadata={"min": 0, "help": "how many generated paraphrases join the phrasings"})
    val_items: float = field(
        default=0.4, metadata={"help": "share of the non-held-out items kept for model selection (validation)"}
    )
    val_instructions: float = field(
        default=0.3,
        metadata={
            "help": "share of the written training phrasings kept for model selection (validation); with one "
            "written phrasing, of the generated and structural ones"
        },
    )
    eval_every: int = field(
        default=10, metadata={"min": 1, "help": "score the validation split every N steps; the best checkpoint is kept"}
    )
    patience: int = field(
        default=4, metadata={"min": 1, "help": "stop a candidate after this many validation scores without improvement"}
    )
    search: int = field(
        default=2,
        metadata={
            "min": 1,
            "help": "hyper-parameter candidates tried (the first is these "
            "options; the rest are seeded draws of lr, lambda and virtual tokens)",
        },
    )
    gate_threshold: float = field(
        default=0.05,
        metadata={
            "cli": ("--max-accuracy-drop",),
            "default_text": "the failing gate's, from --from, else 0.05",
            "help": "the gate's max_accuracy_drop, for the verdict with the adapter (from --from when it names one)",
        },
    )
    gate_confidence: float = field(default=0.95, metadata={"cli": False, "help": "the gate's confidence"})
    checkpoint_every: int = field(default=10, metadata={"min": 1, "help": "save a resumable checkpoint every N steps"})
    harm_tolerance: float = field(
        default=0.01,
        metadata={"help": "largest allowed fall of held-out accuracy under the reference instruction (0.01 = 1 point)"},
    )
    seed: int = field(
        default=0, metadata={"min": 0, "max": 2**32 - 1, "help": "seed for the item split, sampling and bootstrap"}
    )

    def __post_init__(self) -> None:
        from promptcheck.errors import InputError
        from promptcheck.options import confidence_problem

        positive = {
            "num_virtual_tokens": self.num_virtual_tokens,
            "steps": self.steps,
            "lr": self.lr,
            "batch_items": self.batch_items,
            "paraphrases_per_item": self.paraphrases_per_item,
            "checkpoint_every": self.checkpoint_every,
            "eval_every": self.eval_every,
            "patience": self.patience,
            "search": self.search,
        }
        for name, value in positive.items():
            if not value > 0:
                raise InputError(f"must be > 0, got {value!r}", field=name)
        for name, value in {
            "kl_weight": self.kl_weight,
            "anchor_weight": self.anchor_weight,
            "harm_tolerance": self.harm_tolerance,
            "generated": self.generated,
        }.items():
            if value < 0:
                raise InputError(f"must be >= 0, got {value!r}", field=name)
        for name, value in {"val_items": self.val_items, "val_instructions": self.val_instructions}.items():
            if not 0 <= value < 1:
                raise InputError(f"must be between 0 and 1, got {value!r}", field=name)
        problem = confidence_problem(self.gate_confidence)
        if problem:
            raise InputError(problem, field="gate_confidence")
        from promptcheck.fix.phrasings import SOURCES

        bad = [s for s in self.phrasings.split(",") if s.strip() not in SOURCES]
        if bad or not self.phrasings.strip():
            raise InputError(
                f"must be a comma-separated list of {', '.join(SOURCES)}, got {self.phrasings!r}", field="phrasings"
            )
        if self.mode not in MODES:
            raise InputError(f"must be one of {', '.join(MODES)}, got {self.mode!r}", field="mode")

    def sources(self) -> tuple[str, ...]:
        return tuple(s.strip() for s in self.phrasings.split(","))

    def to_json(self) -> dict:
        return asdict(self)
