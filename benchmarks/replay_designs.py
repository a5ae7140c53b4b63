"""Replay incomplete designs on real, fully scored runs (issue #24 item 5).

    python benchmarks/replay_designs.py RUN.json [RUN.json ...] [--seeds 200] [--json OUT.json]

Each task of each file (``promptcheck run --json``, every item scored under every instruction) is
judged as the run judged it, on the reference and the compared instructions (m of them:
:func:`promptcheck.stats.sets.compared_kinds`); then, for each K = 1..m-1 and each design seed,
its cells are dropped to K compared instructions per item with
:func:`promptcheck.stats.design.balanced_design` and the rest judged again with the same settings
(threshold, confidence, claim, per-item chance, the run's seed). Each replay is compared with the
full matrix's verdict: the same verdict, inconclusive where the full matrix decided, decided where
it was inconclusive, or the OPPOSITE decision (pass against fail), which should never happen.

The tasks are read the way ``promptcheck plan`` and ``compare`` read them
(:func:`promptcheck.report.compare.evidence_of`, :func:`promptcheck.report.compare.compared_rows`)
and judged by :func:`promptcheck.stats.judge` with the settings ``promptcheck run`` gave it
(:func:`promptcheck.stats.task.task_statistics` -> :func:`promptcheck.stats.sets.group_statistics`):
the threshold and confidence of the file's ``statistics``, ``claim_for`` the compared kinds, the
items' chance, the file's ``seed``, absolute drops. The full matrix's judgment is checked against
the verdict, drop and bounds the file recorded.

Prints a Markdown table; ``--json`` writes every count. Exits 1 when any replay reached the
opposite decision, 2 when a re-judged full matrix differs from what its file recorded.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from promptcheck.report.compare import Evidence, compared_rows, evidence_of
from promptcheck.report.documents import read_document
from promptcheck.stats import judge
from promptcheck.stats.design import balanced_design, mask_matrix
from promptcheck.stats.sets import claim_for
from promptcheck.stats.verdicts import Judgment

OUTCOMES = ("same", "inconclusive_where_full_decides", "decided_where_full_inconclusive", "opposite")


@dataclass
class Replay:
    """The replays of one task at K compared instructions per item, one per design seed."""

    k: int
    m: int
    counts: Counter = field(default_factory=Counter)  # OUTCOMES
    verdicts: Counter = field(default_factory=Counter)  # pass / fail / inconclusive
    undecidable: int = 0  # replays that said the design cannot decide at its size
    opposite_seeds: list[int] = field(default_factory=list)
    drops: list[float] = field(default_factory=list)
    widths: list[float] = field(default_factory=list)

    @property
    def prompts_share(self) -> float:
        """Prompts of the design over the full matrix's, the reference included: (1 + K) / (1 + m)."""
        return (1 + self.k) / (1 + self.m)

    def to_json(self) -> dict[str, Any]:
        finite = [w for w in self.widths if math.isfinite(w)]
        return {
            "instructions_per_item": self.k,
            "prompts_share": self.prompts_share,
            "seeds": sum(self.counts.values()),
            **{name: self.counts[name] for name in OUTCOMES},
            "verdicts": {v: self.verdicts[v] for v in ("pass", "fail", "inconclusive")},
            "undecidable": self.undecidable,
            "opposite_seeds": self.opposite_seeds,
            "drop_mean": float(np.mean(self.drops)),
            "drop_sd": float(np.std(self.drops, ddof=1)) if len(self.drops) > 1 else 0.0,
            "interval_width_mean": float(np.mean(finite)) if finite else None,
        }


def outcome(full: str, replayed: str) -> str:
    """How a replay's verdict relates to the full matrix's (one of :data:`OUTCOMES`)."""
    if replayed == full:
        return "same"
    if replayed == "inconclusive":
        return "inconclusive_where_full_decides"
    if full == "inconclusive":
        return "decided_where_full_inconclusive"
    return "opposite"


def replay(
    reference: np.ndarray,
    paraphrases: np.ndarray,
    *,
    seeds: Iterable[int] = range(200),
    ks: Sequence[int] | None = None,
    **judge_options: Any,
) -> tuple[Judgment, list[Replay]]:
    """The full matrix's judgment, and per K (default 1..m-1) its replays under
    ``balanced_design(n, m, K, seed)`` for each seed, every one by :func:`judge` with
    ``judge_options`` (``max_accuracy_drop``, ``confidence``, ``claim``, ``chance``, ``seed``,
    ``relative``). ``paraphrases``: the compared instructions x items, every cell scored."""
    ref = np.asarray(reference, dtype=bool)
    para = np.asarray(paraphrases, dtype=bool)
    m, n = para.shape
    full = judge(ref, para, **judge_options)
    seeds = list(seeds)
    out = []
    for k in ks if ks is not None else range(1, m):
        r = Replay(k=k, m=m)
        for s in seeds:
            j = judge(ref, mask_matrix(para, balanced_design(n, m, k, s)), **judge_options)
            o = outcome(full.verdict, j.verdict)
            r.counts[o] += 1
            r.verdicts[j.verdict] += 1
            r.undecidable += not j.decidable
            r.drops.append(j.drop)
            r.widths.append(j.interval.high - j.interval.low)
            if o == "opposite":
                r.opposite_seeds.append(s)
        out.append(r)
    return full, out


@dataclass
class TaskReplay:
    """One task of one file: its settings, the full judgment, the recorded one, the replays."""

    source: str
    model: str
    task: str
    kinds: tuple[str, ...]
    options: dict[str, Any]
    full: Judgment
    recorded: dict[str, Any]
    replays: list[Replay]

    @property
    def label(self) -> str:
        return f"{self.model} / {self.task}"

    @property
    def matches_recorded(self) -> bool:
        """The full matrix re-judged gives the verdict, drop and bounds the file recorded."""
        if not self.recorded:
            return True
        lo, hi = self.recorded.get("drop_interval", [math.nan, math.nan])
        return (
            self.recorded.get("verdict") == self.full.verdict
            and math.isclose(self.recorded.get("drop", math.nan), self.full.drop, abs_tol=1e-9)
            and math.isclose(lo, self.full.interval.low, abs_tol=1e-9)
            and math.isclose(hi, self.full.interval.high, abs_tol=1e-9)
        )

    def to_json(self) -> dict[str, Any]:
        chance = self.options.get("chance")
        return {
            "source": self.source,
            "model": self.model,
            "task": self.task,
            "items": self.full.items_used,
            "compared_instructions": self.full.instructions,
            "kinds": sorted(set(self.kinds)),
            "claim": self.options["claim"],
            "threshold": self.options["max_accuracy_drop"],
            "confidence": self.options["confidence"],
            "relative": self.options.get("relative", False),
            "chance_mean": float(np.mean(chance)) if chance is not None else None,
            "judge_seed": self.options["seed"],
            "full": {
                "verdict": self.full.verdict,
                "drop": self.full.drop,
                "interval": self.full.interval.to_json(),
                "reference_accuracy": self.full.reference_accuracy,
                "mean_accuracy": self.full.mean_accuracy,
                "minimum_detectable_drop": self.full.minimum_detectable_drop,
            },
            "matches_recorded_verdict": self.matches_recorded,
            "replays": [r.to_json() for r in self.replays],
        }


def judge_options(e: Evidence, doc: dict[str, Any], rows: Sequence[int]) -> dict[str, Any]:
    """The options ``promptcheck run`` judged this task's verdict with (``task_statistics``)."""
    stats = doc.get("statistics") or {}
    recorded = next((t.get("robustness") or {} for t in doc["tasks"] if t["name"] == e.task), {})
    return {
        "max_accuracy_drop": e.threshold if e.threshold is not None else 0.05,
        "confidence": float(recorded.get("confidence", stats.get("confidence", 0.95))),
        "claim": claim_for([e.kinds[j] for j in rows]),
        "chance": list(e.chance) if e.chance is not None else None,
        "relative": bool(recorded.get("relative", False)),
        "seed": int(doc.get("seed", 0)),
    }


def replay_document(
    doc: dict[str, Any], source: str = "", *, seeds: Iterable[int] = range(200), ks: Sequence[int] | None = None
) -> tuple[list[TaskReplay], list[str]]:
    """Every fully scored task of a run document, replayed; and a note per task left out."""
    model = Path(str((doc.get("model") or {}).get("id", "?")).split(" (")[0]).name  # a folder: its name
    recorded = {t["name"]: t.get("robustness") or {} for t in doc["tasks"]}
    seeds = list(seeds)
    out, skipped = [], []
    for e in evidence_of(doc, source).values():
        rows = compared_rows(e)
        if e.design is not None or not e.complete:
            skipped.append(f"{source}: {e.task}: scored under a design, not fully")
            continue
        if len(rows) < 2:
            skipped.append(f"{source}: {e.task}: {len(rows)} compared instruction(s), no K below m")
            continue
        opts = judge_options(e, doc, rows)
        full, replays = replay(e.correct[0], e.correct[rows], seeds=seeds, ks=ks, **opts)
        kinds = tuple(e.kinds[j] for j in rows)
        out.append(TaskReplay(source, model, e.task, kinds, opts, full, recorded.get(e.task, {}), replays))
    return out, skipped


def markdown(tasks: Sequence[TaskReplay]) -> str:
    """The table: one row per task and K."""
    head = (
        "| task | items | m | K | prompts | full verdict | same | inconclusive, full decides | "
        "decided, full inconclusive | OPPOSITE | replays pass / fail / inc. |\n"
        "|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---|\n"
    )
    lines = []
    for t in tasks:
        f = t.full
        full = f"{f.verdict} ({100 * f.drop:+.1f} [{100 * f.interval.low:+.1f}, {100 * f.interval.high:+.1f}])"
        for r in t.replays:
            c, v = r.counts, r.verdicts
            lines.append(
                f"| {t.label} | {f.items_used} | {r.m} | {r.k} | {100 * r.prompts_share:.0f}% | {full} | "
                f"{c['same']} | {c['inconclusive_where_full_decides']} | {c['decided_where_full_inconclusive']} | "
                f"{c['opposite']} | {v['pass']} / {v['fail']} / {v['inconclusive']} |"
            )
    return head + "\n".join(lines) + "\n"


def totals(tasks: Sequence[TaskReplay]) -> dict[str, Any]:
    """The counts summed over tasks, overall and per K, and where any opposite decision happened."""
    overall: Counter = Counter()
    by_k: dict[int, Counter] = {}
    where_decided: dict[int, Counter] = {}  # per K, over the tasks whose full matrix decided
    for t in tasks:
        for r in t.replays:
            overall.update(r.counts)
            by_k.setdefault(r.k, Counter()).update(r.counts)
            if t.full.verdict != "inconclusive":
                where_decided.setdefault(r.k, Counter())["replays"] += sum(r.counts.values())
                where_decided[r.k]["inconclusive"] += r.counts["inconclusive_where_full_decides"]
    return {
        "replays": sum(overall.values()),
        **{name: overall[name] for name in OUTCOMES},
        "by_k": {k: {name: c[name] for name in OUTCOMES} for k, c in sorted(by_k.items())},
        "inconclusive_where_full_decides_by_k": {
            k: {"inconclusive": c["inconclusive"], "of": c["replays"]} for k, c in sorted(where_decided.items())
        },
        "opposite_at": [
            {"task": t.label, "source": t.source, "K": r.k, "seeds": r.opposite_seeds}
            for t in tasks
            for r in t.replays
            if r.opposite_seeds
        ],
    }


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", help="promptcheck run --json files of fully scored runs")
    ap.add_argument("--seeds", type=int, default=200, help="design seeds per task and K (default 200)")
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--json", type=Path, help="write every count here")
    args = ap.parse_args(argv)
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    start = time.perf_counter()
    tasks: list[TaskReplay] = []
    skipped: list[str] = []
    for path in args.runs:
        doc = read_document(path, accept=("run",), reader="replay_designs.py")
        done, left = replay_document(doc, str(path), seeds=seeds)
        tasks += done
        skipped += left
    seconds = time.perf_counter() - start
    tot = totals(tasks)
    print(markdown(tasks))
    for note in skipped:
        print(f"skipped: {note}")
    print(
        f"{tot['replays']} replays ({len(seeds)} design seeds per task and K, {len(tasks)} tasks) in {seconds:.0f} s: "
        f"{tot['same']} same verdict, {tot['inconclusive_where_full_decides']} inconclusive where the full "
        f"matrix decides, {tot['decided_where_full_inconclusive']} decided where it is inconclusive, "
        f"{tot['opposite']} OPPOSITE."
    )
    for k, c in tot["inconclusive_where_full_decides_by_k"].items():
        print(f"K = {k}: inconclusive where the full matrix decides: {c['inconclusive']} of {c['of']}")
    mismatched = [t.label for t in tasks if not t.matches_recorded]
    for label in mismatched:
        print(f"RE-JUDGED FULL MATRIX DIFFERS FROM ITS FILE: {label}")
    for o in tot["opposite_at"]:
        print(f"OPPOSITE: {o['task']} ({o['source']}), K = {o['K']}, seeds {o['seeds']}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "sources": list(args.runs),
                    "seeds": {"first": args.first_seed, "count": args.seeds},
                    "seconds": round(seconds, 1),
                    "outcomes": list(OUTCOMES),
                    "totals": tot,
                    "skipped": skipped,
                    "tasks": [t.to_json() for t in tasks],
                },
                indent=1,
            )
            + "\n"
        )
    if tot["opposite"]:
        return 1
    return 2 if mismatched else 0


if __name__ == "__main__":
    sys.exit(main())
