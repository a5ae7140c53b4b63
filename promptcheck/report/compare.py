"""Release comparison: did robustness to paraphrase get worse between two results files?

Works on ``promptcheck run --json`` files and on the pytest plugin's ``--promptcheck-json``
files (whose verdicts carry per-item evidence). Tasks are matched by name (and, for plugin
files, test id first); items by id. The paired interval of ``drop_new - drop_old`` comes from
:func:`promptcheck.stats.verdicts.judge_change`; this module only lines the two
files up and renders the answer. The change test is :func:`promptcheck.stats.verdicts.judge_change`
(two one-sided tests, the same variance decomposition as every verdict); instructions are
matched by text (paired when both runs compared the same instructions, independent samples when
not, and the table says which); with several tasks, "worse" and "better" are Holm-adjusted
across them, so a 20-task comparison does not go red by chance.

A file scored under an incomplete design (a ``design`` block, null cells) is read with NaN
where a cell was not scored (:attr:`Evidence.correct`); ``plan`` and the report use it as it is,
``compare`` refuses it in one line naming ``design``: the paired change test needs every item
under every compared instruction in both files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from promptcheck.errors import InputError
from promptcheck.stats.sets import claim_for, compared_kinds
from promptcheck.stats.verdicts import holm, judge_change


@dataclass(frozen=True)
class Evidence:
    """One task's per-item correctness: the reference row first, then the compared instructions."""

    key: str
    task: str
    item_ids: tuple[str, ...]
    texts: tuple[str, ...]
    kinds: tuple[str, ...]
    #: (n_instructions, n_items), row 0 = reference: bool, or float with NaN where an incomplete
    #: design did not score a cell (what :func:`promptcheck.stats.judge` takes).
    correct: np.ndarray
    chance: tuple[float, ...] | None = None  # per item, when the file records it
    #: A gate's record (plugin JSON): its rows are exactly what the gate compared, under this
    #: claim. None for run JSON, whose rows are every instruction of the task.
    claim: str | None = None
    #: The threshold the file's verdicts were judged at (the gate's, or run's --max-accuracy-drop).
    threshold: float | None = None
    #: The file's ``design`` block (an incomplete design), or None.
    design: dict | None = None
    #: The file it was read from (for messages), when known.
    source: str = ""
    #: A free-form task's generation and matching settings, as the run file records them: two runs
    #: graded by different rules are not paired (a change would be the rule's, not the model's).
    grading: str | None = None

    @property
    def complete(self) -> bool:
        """Every item scored under every instruction."""
        return self.correct.dtype == bool


@dataclass(frozen=True)
class Change:
    """The comparison of one task between two releases."""

    task: str
    key: str
    items: int
    claim: str
    old_drop: float
    new_drop: float
    change: float
    interval: tuple[float, float]
    confidence: float
    tolerance: float
    verdict: str  # worse / better / unchanged
    pairing: str = ""
    p_worse: float = 1.0
    p_worse_holm: float = 1.0

    def to_json(self) -> dict:
        return {
            "task": self.task,
            "key": self.key,
            "items": self.items,
            "claim": self.claim,
            "old_drop": self.old_drop,
            "new_drop": self.new_drop,
            "change": self.change,
            "interval": list(self.interval),
            "confidence": self.confidence,
            "interval_confidence": 1 - 2 * (1 - self.confidence),
            "tolerance": self.tolerance,
            "verdict": self.verdict,
            "pairing": self.pairing,
            "p_worse": self.p_worse,
            "p_worse_holm": self.p_worse_holm,
        }


def evidence_of(doc: dict[str, Any], source: str = "") -> dict[str, Evidence]:
    """Every task's evidence in a results document, keyed by task name (plugin files: 'test::task' too)."""
    out: dict[str, Evidence] = {}
    if "tests" in doc:
        for r in doc["tests"]:
            ev = r.get("evidence") or {}
            if not ev.get("correct"):
                raise InputError(
                    f"the record of {r.get('test')} has no per-item evidence (written by an older "
                    "promptcheck); re-run the gate",
                    file=source or None,
                    field="evidence",
                )
            e = Evidence(
                key=f"{r['test']}::{r['task']}",
                task=r["task"],
                item_ids=tuple(ev["item_ids"]),
                texts=tuple(i["text"] for i in ev["instructions"]),
                kinds=tuple(i["kind"] for i in ev["instructions"]),
                correct=_matrix(ev["correct"]),
                chance=tuple(ev["chance"]) if ev.get("chance") else None,
                claim=r.get("claim"),
                threshold=r.get("threshold"),
                design=r.get("design"),
                source=source,
            )
            out[e.key] = e
            out.setdefault(e.task, e)
        return out
    for t in doc["tasks"]:
        ins = t["instructions"]
        ref = next((i["index"] for i in ins if i["kind"] == "reference"), None)
        if ref is None or "items" not in t:
            raise InputError(
                f"task {t.get('name')!r} has no reference instruction or items", file=source or None, field="tasks"
            )
        order = [ref] + [i["index"] for i in ins if i["index"] != ref]
        correct = _matrix([[_is_correct(it, j) for it in t["items"]] for j in order])
        out[t["name"]] = Evidence(
            key=t["name"],
            task=t["name"],
            item_ids=tuple(it["id"] for it in t["items"]),
            texts=tuple(ins[j]["text"] for j in order),
            kinds=tuple(ins[j]["kind"] for j in order),
            correct=correct,
            chance=tuple(len(it.get("answers") or [it["answer"]]) / it["n_choices"] for it in t["items"])
            if all("n_choices" in it for it in t["items"])
            else None,
            # The threshold the run judged at (--max-accuracy-drop), so plan plans for it, not 0.05.
            threshold=_recorded_threshold(t, doc),
            design=t.get("design"),
            grading=json.dumps([t.get("generation"), t.get("matching")]) if "generation" in t else None,
            source=source,
        )
    return out


def _matrix(rows: Any) -> np.ndarray:
    """Rows of cells (true/false or 0/1; null: not scored) as bool, or float with NaN when a cell is null."""
    if any(c is None for row in rows for c in row):
        return np.asarray([[np.nan if c is None else float(bool(c)) for c in row] for row in rows], dtype=np.float64)
    return np.asarray(rows, dtype=bool)


def _is_correct(item: dict[str, Any], j: int) -> bool | None:
    """Whether an item's answer under instruction ``j`` is right: a free-form item says so (its
    ``correct``; its predictions are codes of answers, not choices), a multiple-choice item's
    prediction is one of its answers; None: an incomplete design did not score the cell."""
    if "correct" in item:
        return None if item["correct"][j] is None else bool(item["correct"][j])
    if item["predictions"][j] is None:
        return None
    return item["predictions"][j] in item.get("answers", [item["answer"]])


def _recorded_threshold(task: dict[str, Any], doc: dict[str, Any]) -> float | None:
    """The threshold a run file's verdicts used: its task's robustness block, else the file's statistics."""
    for value in ((task.get("robustness") or {}).get("threshold"), (doc.get("statistics") or {}).get("threshold")):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    return None


def _align(old: Evidence, new: Evidence) -> tuple[np.ndarray, np.ndarray]:
    """Columns of ``new`` put in ``old``'s item order; the suites must hold the same items."""
    if set(old.item_ids) != set(new.item_ids) or len(old.item_ids) != len(new.item_ids):
        only_old = sorted(set(old.item_ids) - set(new.item_ids))
        only_new = sorted(set(new.item_ids) - set(old.item_ids))
        raise InputError(
            f"task {old.task!r}: the two runs scored different items ({len(only_old)} only in old, "
            f"e.g. {only_old[:3]}; {len(only_new)} only in new, e.g. {only_new[:3]}); a paired "
            "comparison needs the same items: the same suite, and the same --limit if either run used one",
            field="items",
        )
    pos = {item: n for n, item in enumerate(new.item_ids)}
    cols = [pos[item] for item in old.item_ids]
    return old.correct, new.correct[:, cols]


def compared_rows(e: Evidence) -> list[int]:
    """Rows (after the reference, row 0) that the verdict compared: all of a gate's record, else
    the unobserved/generated ones when present (the default of every verdict)."""
    if e.claim is not None:
        return list(range(1, len(e.kinds)))
    kinds = compared_kinds(e.kinds[1:])
    return [j for j in range(1, len(e.kinds)) if e.kinds[j] in kinds]


def compare_evidence(
    old: dict[str, Evidence],
    new: dict[str, Evidence],
    *,
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
    tolerance: float = 0.0,
) -> tuple[list[Change], list[str]]:
    """Per task in ``new`` that ``old`` also has: the paired change. Also returns the keys without a baseline.

    ``n_boot`` and ``seed`` are accepted for callers of the bootstrap version; the test is analytic.
    """
    pending, missing = [], []
    seen: set[int] = set()
    for n in new.values():
        if id(n) in seen:
            continue
        seen.add(id(n))
        o = old.get(n.key) or old.get(n.task)
        if o is None:
            missing.append(n.key)
            continue
        for which, e in (("old", o), ("new", n)):
            if not e.complete:
                k = (e.design or {}).get("instructions_per_item", "some")
                raise InputError(
                    f"task {e.task!r}: the {which} run scored an incomplete design ({k} instructions per item, "
                    "cells not scored); compare pairs every item under every instruction: compare runs scored "
                    "without --instructions-per-item",
                    file=e.source or None,
                    field="design",
                )
        if o.grading != n.grading:
            raise InputError(
                f"task {n.task!r}: the two runs wrote or matched free-form answers differently (generation and "
                f"matching: {o.grading} in old, {n.grading} in new); a change would be the grading rule's, not "
                "the model's: compare runs of the same suite settings",
                file=n.source or None,
                field="matching",
            )
        oc, nc = _align(o, n)
        o_rows, n_rows = compared_rows(o), compared_rows(n)
        if not o_rows or not n_rows:
            raise InputError(
                f"task {n.task!r}: a run has no instruction besides the reference to compare", field="instructions"
            )
        o_texts = [o.texts[j] for j in o_rows]
        n_pos = {n.texts[j]: j for j in n_rows}
        paired = sorted(o_texts) == sorted(n_pos)
        if paired:
            n_rows = [n_pos[t] for t in o_texts]  # new rows in old's order: instruction j pairs with j
        claim = n.claim or claim_for([n.kinds[j] for j in n_rows])
        cj = judge_change(
            oc[0],
            oc[o_rows],
            nc[0],
            nc[n_rows],
            claim=claim,
            paired_instructions=paired,
            confidence=confidence,
            tolerance=tolerance,
        )
        pending.append((n, o, claim, cj))
    alpha = 1.0 - confidence
    worse_adj = holm([cj.p_worse for *_, cj in pending])
    better_adj = holm([cj.p_better for *_, cj in pending])
    changes = [
        Change(
            task=n.task,
            key=n.key,
            items=len(o.item_ids),
            claim=claim,
            old_drop=cj.old_drop,
            new_drop=cj.new_drop,
            change=cj.change,
            interval=(cj.interval.low, cj.interval.high),
            confidence=confidence,
            tolerance=tolerance,
            verdict=cj.verdict(alpha, p_worse=w, p_better=b),
            pairing=cj.pairing,
            p_worse=cj.p_worse,
            p_worse_holm=w,
        )
        for (n, o, claim, cj), w, b in zip(pending, worse_adj, better_adj)
    ]
    return changes, missing


def compare_files(old_path: Any, new_path: Any, **options: Any) -> tuple[list[Change], list[str], dict, dict]:
    """Read two results files and compare them (see :func:`compare_evidence`)."""
    from promptcheck.report.documents import read_document

    old_doc, new_doc = (
        read_document(p, accept=("run", "pytest"), reader="promptcheck compare") for p in (old_path, new_path)
    )
    changes, missing = compare_evidence(
        evidence_of(old_doc, str(old_path)), evidence_of(new_doc, str(new_path)), **options
    )
    if not changes:
        raise InputError("no task of the new run is in the old one (tasks are matched by name)", file=new_path)
    return changes, missing, old_doc, new_doc


def changes_table(changes: list[Change]) -> Any:
    """A rich table of the comparison, for the terminal."""
    from rich.table import Table
    from rich.text import Text

    colour = {"worse": "red", "better": "green", "unchanged": ""}
    table = Table(
        title="promptcheck compare: change in accuracy drop under paraphrase (new minus old)", title_justify="left"
    )
    conf = changes[0].confidence if changes else 0.95
    bounds = f"{100 * conf:g}% bounds"
    for col in ("task", "items", "claim", "old drop", "new drop", "change", bounds, "verdict"):
        table.add_column(
            col,
            justify="left" if col in ("task", "claim", "verdict") else "right",
            no_wrap=col != "task",
            overflow="fold",
        )
    for c in changes:
        table.add_row(
            Text(c.key),
            str(c.items),
            c.claim,
            f"{100 * c.old_drop:+.1f}",
            f"{100 * c.new_drop:+.1f}",
            f"{100 * c.change:+.1f}",
            f"[{100 * c.interval[0]:+.1f}, {100 * c.interval[1]:+.1f}]",
            Text(c.verdict, style=colour[c.verdict]),
        )
    notes = sorted({c.pairing for c in changes}) + [f"bounds one-sided at {100 * conf:g}% each"]
    table.caption = "; ".join(notes) + (
        f"; verdicts Holm-adjusted across {len(changes)} tasks" if len(changes) > 1 else ""
    )
    return table
