"""The replication table (docs/replication.md) from `promptcheck run --json` files: numbers only from those files.

python benchmarks/replication_table.py benchmarks/results/replication-*-2026-12-03.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from scipy import stats


def _gap(task: dict) -> str:
    """Observed minus unobserved accuracy (the paper's quantity), points, with a 95% paired bootstrap
    interval over items (scipy.stats.bootstrap, BCa; the instruction sets held fixed, as the paper's)."""
    kinds = [i["kind"] for i in task["instructions"]]
    if "observed" not in kinds or "unobserved" not in kinds:
        return "—"
    correct = np.array(
        [[p in it.get("answers", [it["answer"]]) for p in it["predictions"]] for it in task["items"]], dtype=float
    )
    obs = correct[:, [k == "observed" for k in kinds]].mean(axis=1)
    unobs = correct[:, [k == "unobserved" for k in kinds]].mean(axis=1)
    diff = obs - unobs
    if np.ptp(diff) == 0:
        return f"{100 * diff.mean():+.1f} [—]"
    ci = stats.bootstrap((diff,), np.mean, confidence_level=0.95, n_resamples=5000, random_state=0).confidence_interval
    return f"{100 * diff.mean():+.1f} [{100 * ci.low:+.1f}, {100 * ci.high:+.1f}]"


def _acc_interval(ins: list[dict], kind: str) -> str:
    rows = [i for i in ins if i["kind"] == kind]
    if not rows:
        return "—"
    mean = sum(i["accuracy"] for i in rows) / len(rows)
    lo = sum(i["accuracy_interval"][0] for i in rows) / len(rows)
    hi = sum(i["accuracy_interval"][1] for i in rows) / len(rows)
    return f"{100 * mean:.1f} [{100 * lo:.0f}, {100 * hi:.0f}]"


def rows(path: Path) -> list[str]:
    doc = json.loads(path.read_text())
    model = Path(doc["model"]["id"].split(" (")[0]).name  # a local folder: its name, not the whole path
    out = []
    for t in doc["tasks"]:
        ins = t["instructions"]
        sets = {s["kind"]: s for s in t.get("sets", [])}
        unobs = sets.get("unobserved", {})
        ref = t["reference_accuracy"]
        chance = t["chance_accuracy"]
        lo_ref = ins[0]["accuracy_interval"][0]
        at_chance = lo_ref <= chance
        verdict = t.get("robustness", {}).get("verdict", "—")
        unobs_v = unobs.get("verdict", "—")
        di = unobs.get("drop_interval")
        drop = f"{100 * unobs['drop']:+.1f} [{100 * di[0]:+.1f}, {100 * di[1]:+.1f}]" if di else "—"
        out.append(
            f"| {model} | {t['name']} | {t['n_items']} of {t.get('sample', {}).get('population', t['n_items'])} "
            f"| {100 * chance:.1f} | {100 * ref:.1f} [{100 * lo_ref:.0f}, {100 * ins[0]['accuracy_interval'][1]:.0f}]"
            f"{' **at chance**' if at_chance else ''} | {_acc_interval(ins, 'observed')} | {_acc_interval(ins, 'unobserved')} "
            f"| {_gap(t)} | {drop} | {unobs_v} | {verdict} | {t['prompts_scored']} | {t['seconds']:.0f} |"
        )
    return out


if __name__ == "__main__":
    print(
        "| model | task | items | chance % | reference % [95% CI] | observed % (mean) [mean CI] | unobserved % (mean) [mean CI] "
        "| obs − unobs (pts) [95% CI] | unobserved drop vs ref (pts) [CI] | verdict (unobserved) | verdict (all) | prompts | s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for p in sys.argv[1:]:
        for r in rows(Path(p)):
            print(r)
