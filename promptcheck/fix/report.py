"""The fix report as a typed record: what ``promptcheck fix`` prints is read from it, never from a dict.

``run_fix`` writes ``fix_report.json`` (a ``fix`` results document, docs/results-schema.md) and
returns :class:`FixReport`, made from that same document by :meth:`FixReport.from_document`, so
the terminal table shows exactly what the file says and a report read back from disk renders the
same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


def problem_reasons(problems: list[str] | tuple[str, ...]) -> str:
    """The reasons a task's ``problems`` name, once each, in order: "NO SIGNAL, HARM" ("" for none)."""
    return ", ".join(dict.fromkeys(p.split(":")[0] for p in problems))


def _pair(values: Any) -> tuple[float, float]:
    low, high = values
    return float(low), float(high)


@dataclass(frozen=True)
class Measured:
    """One side (before or after) of a task, on its held-out items, each figure with its interval."""

    reference_accuracy: float
    reference_interval: tuple[float, float]
    heldout_accuracy: float
    heldout_interval: tuple[float, float]
    heldout_drop: float
    #: The gate's one-sided bounds on the held-out drop.
    heldout_drop_interval: tuple[float, float]
    #: The gate's verdict with the adapter (pass / fail / inconclusive), by assert_robust's rule.
    gate_verdict: str
    #: False when the held-out split is too small for the gate to decide at all.
    gate_decidable: bool

    @classmethod
    def from_json(cls, m: dict[str, Any]) -> Measured:
        gate = m["heldout_gate"]
        return cls(
            reference_accuracy=float(m["reference_accuracy"]),
            reference_interval=_pair(m["reference_accuracy_interval"]),
            heldout_accuracy=float(m["heldout_accuracy"]),
            heldout_interval=_pair(m["heldout_accuracy_interval"]),
            heldout_drop=float(m["heldout_drop"]),
            heldout_drop_interval=_pair(m["heldout_drop_interval"]),
            gate_verdict=str(gate["verdict"]),
            gate_decidable=gate.get("decidable") is not False,
        )


@dataclass(frozen=True)
class TaskFix:
    """One task's before and after, the outcome's one-phrase label and every reason it is not usable."""

    name: str
    before: Measured
    after: Measured
    label: str
    gap_closed: bool
    problems: tuple[str, ...]
    #: The task's own adapter folder (one adapter per task), else None (one shared adapter).
    adapter: str | None

    @property
    def reasons(self) -> str:
        return problem_reasons(self.problems)


@dataclass(frozen=True)
class FixReport:
    """What ``promptcheck fix`` did, typed; ``document`` is the fix_report.json it was read from."""

    tasks: tuple[TaskFix, ...]
    problems: tuple[str, ...]
    #: Where the adapter(s) are: one per task, or the one shared by all.
    adapters: tuple[str, ...]
    threshold: float
    confidence: float
    train_seconds: float
    total_seconds: float
    document: dict[str, Any]

    @property
    def ok(self) -> bool:
        return not self.problems

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> FixReport:
        per_task = bool(doc.get("per_task_adapters"))
        tasks = tuple(
            TaskFix(
                name=str(t["name"]),
                before=Measured.from_json(t["before"]),
                after=Measured.from_json(t["after"]),
                label=str(t["outcome"]["label"]),
                gap_closed=bool(t["outcome"]["gap_closed"]),
                problems=tuple(t.get("problems", ())),
                adapter=str(t["adapter"]["path"]) if per_task else None,
            )
            for t in doc["tasks"]
        )
        adapters = tuple(t.adapter for t in tasks if t.adapter) if per_task else (str(doc["adapter"]["path"]),)
        config = doc.get("config", {})
        return cls(
            tasks=tasks,
            problems=tuple(doc.get("problems", ())),
            adapters=adapters,
            threshold=float(config.get("gate_threshold", 0.05)),
            confidence=float(config.get("gate_confidence", 0.95)),
            train_seconds=float(doc["seconds"]["train"]),
            total_seconds=float(doc["seconds"]["total"]),
            document=doc,
        )
