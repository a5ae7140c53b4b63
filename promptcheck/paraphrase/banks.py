"""Written instruction banks: hand-written phrasings per task kind, split observed / unobserved.

The files live in ``promptcheck/paraphrase/banks/<kind>.yaml``; see docs/paraphrases.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from promptcheck.errors import InputError
from promptcheck.tasks.records import TASK_KINDS, Task

BANK_DIR = Path(__file__).resolve().parent / "banks"


@dataclass(frozen=True)
class Bank:
    kind: str
    reference: str
    labels: tuple[str, ...]
    observed: tuple[str, ...]
    unobserved: tuple[str, ...]

    def instructions(self, split: str = "all") -> tuple[str, ...]:
        if split == "observed":
            return self.observed
        if split == "unobserved":
            return self.unobserved
        if split == "all":
            return self.observed + self.unobserved
        raise InputError(f"must be all, observed or unobserved, got {split!r}", field="split")


@cache
def load_bank(kind: str) -> Bank:
    """The bank for a task kind (mcqa, classification, yesno, nli)."""
    if kind not in TASK_KINDS:
        raise InputError(
            f"no instruction bank for kind {kind!r}; expected one of {', '.join(TASK_KINDS)}", field="kind"
        )
    path = BANK_DIR / f"{kind}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return Bank(
        kind=kind,
        reference=data["reference"],
        labels=tuple(str(x) for x in data.get("labels") or ()),
        observed=tuple(data["observed"]),
        unobserved=tuple(data["unobserved"]),
    )


def labels_fit(bank_labels: tuple[str, ...], task: Task) -> bool:
    """The label words the bank's instructions name are the task's answer choices, no more, no fewer.

    No labels (the mcqa bank) fits any task. A bank asking for "negative or positive" neither
    fits a yes/no task nor a three-way task that can also answer "neutral".
    """
    if not bank_labels:
        return True
    choices = {c.strip().lower() for item in task.items for c in item.choices}
    return {label.lower() for label in bank_labels} == choices
