"""The simulation study behind docs/statistics.md: wrong-decision rates and power of ``judge``.

    python benchmarks/simulate_verdicts.py                       # the full grid (~30 min on 2 cores)
    python benchmarks/simulate_verdicts.py --quick               # a small grid (~2 min)
    python benchmarks/simulate_verdicts.py --json benchmarks/results/simulate_verdicts-DATE.json

Three tables, printed as Markdown:

1. **At the threshold** (true drop = 5 points): the share of runs that wrongly *fail* and wrongly
   *pass*, over items x instructions x reference accuracy x instruction spread, single look and
   three looks (0.25, 0.5, 1.0). Nominal: at most 5% each, plus Monte-Carlo error
   (600 trials: standard error 0.89 points; a cell is flagged when above 5% + 3 SE = 7.7%).
2. **Power** at reference accuracy 0.75, instruction sd 0.05: pass rate when the true drop is 0,
   fail rate at 10, 15 and 20 points, by items x instructions.
3. **Is minimum_detectable_drop honest?** The fail rate when the true drop equals the mean
   ``minimum_detectable_drop`` the gate reported at the threshold (should be near 80%).

The generator is promptcheck.stats.simulate (item difficulty, instruction effects, flips between
instructions, guessing); every trial goes through promptcheck.stats.judge itself.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from promptcheck.stats.simulate import Scenario, simulate

LOOKS = (0.25, 0.5, 1.0)


def _chance(acc: float) -> float:
    return 0.2 if acc >= 0.5 else 0.1


def _cell(args: tuple) -> dict:
    n, m, acc, sd, drop, looks, trials, seed = args
    sc = Scenario(
        items=n, instructions=m, reference_accuracy=acc, true_drop=drop, instruction_sd=sd, chance=_chance(acc)
    )
    t0 = time.perf_counter()
    r = simulate(sc, trials=trials, looks=looks, seed=seed)
    return {**r.to_json(), "seconds": round(time.perf_counter() - t0, 2)}


def _progress(results, total: int, what: str) -> list[dict]:
    import sys

    out = []
    for k, r in enumerate(results, 1):
        out.append(r)
        print(f"\r{what}: {k}/{total}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a small grid, fewer trials")
    ap.add_argument("--trials", type=int, default=600)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--json", type=Path, help="also write every cell here")
    args = ap.parse_args()
    trials = 300 if args.quick else args.trials
    items = (30, 300) if args.quick else (30, 100, 300, 1000)
    instr = (4, 12) if args.quick else (4, 12, 48)
    accs = (0.3, 0.6, 0.95)
    sds = (0.02, 0.08)
    t0 = time.time()
    # Sequential cells from 100 items up: below 120 items every look but the last has under 30
    # items and is skipped, so the plan is the single look.
    threshold_cells = [
        (n, m, a, s, 0.05, lk, trials, 1)
        for n, m, a, s, lk in itertools.product(items, instr, accs, sds, (None, LOOKS))
        if lk is None or n >= 100
    ]
    power_cells = [
        (n, m, 0.75, 0.05, d, None, trials, 2) for n, m, d in itertools.product(items, instr, (0.0, 0.10, 0.15, 0.20))
    ]
    with ProcessPoolExecutor(args.workers) as pool:
        at_threshold = _progress(pool.map(_cell, threshold_cells), len(threshold_cells), "threshold cells")
        power = _progress(pool.map(_cell, power_cells), len(power_cells), "power cells")
        mdd_cells = [
            (r["items"], r["instructions"], 0.75, 0.05, r["mean_minimum_detectable_drop"], None, trials, 3)
            for r in power
            if r["true_drop"] == 0.0 and r["mean_minimum_detectable_drop"] < 0.7
        ]
        honest = list(pool.map(_cell, mdd_cells))
    se = math.sqrt(0.05 * 0.95 / trials)
    print(f"# judge simulation study ({trials} trials per cell, {time.time() - t0:.0f} s)\n")
    print("## Wrong decisions at the threshold (true drop = 5 points, confidence 0.95: nominal <= 5% each)\n")
    print(
        "| items | instr. | ref acc | instr. sd | consistency | single: wrong fail | wrong pass "
        "| 3 looks: wrong fail | wrong pass | items used |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    flagged = 0
    by_key = {
        (r["items"], r["instructions"], r["reference_accuracy"], r["instruction_sd"], r["looks"] is not None): r
        for r in at_threshold
    }
    for n, m, a, s in itertools.product(items, instr, accs, sds):
        one = by_key[(n, m, a, s, False)]
        seq = by_key.get((n, m, a, s, True), one)
        cells = [one["fail_rate"], one["pass_rate"], seq["fail_rate"], seq["pass_rate"]]
        marks = ["**" if x > 0.05 + 3 * se else "" for x in cells]
        flagged += sum(bool(k) for k in marks)
        print(
            f"| {n} | {m} | {a} | {s} | {one['consistency']:.2f} | "
            + " | ".join(f"{k}{100 * x:.1f}%{k}" for x, k in zip(cells, marks))
            + f" | {seq['mean_items_used']:.0f} |"
        )
    worst = max(max(r["fail_rate"], r["pass_rate"]) for r in at_threshold)
    print(
        f"\nWorst cell: {100 * worst:.1f}%; rates above 5% + 3 SE ({100 * (0.05 + 3 * se):.1f}%): {flagged} "
        f"of {2 * len(at_threshold)}. At 30 items the 3-look plan is the single look (looks under 30 items "
        "are skipped).\n"
    )
    print("## Power (reference accuracy 0.75, instruction sd 0.05, single look)\n")
    print(
        "| items | instr. | pass at drop 0 | fail at 10 pts | fail at 15 pts | fail at 20 pts "
        "| mean min. detectable drop | fail at that drop |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    pw = {(r["items"], r["instructions"], r["true_drop"]): r for r in power}
    hon = {(r["items"], r["instructions"]): r for r in honest}
    for n, m in itertools.product(items, instr):
        row = [pw[(n, m, d)] for d in (0.0, 0.10, 0.15, 0.20)]
        h = hon.get((n, m))
        print(
            f"| {n} | {m} | {100 * row[0]['pass_rate']:.1f}% | "
            + " | ".join(f"{100 * r['fail_rate']:.1f}%" for r in row[1:])
            + f" | {100 * row[0]['mean_minimum_detectable_drop']:.1f} pts | "
            + (f"{100 * h['fail_rate']:.1f}% |" if h else "n/a |")
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps({"trials": trials, "at_threshold": at_threshold, "power": power, "mdd_check": honest}, indent=1)
        )


if __name__ == "__main__":
    main()
