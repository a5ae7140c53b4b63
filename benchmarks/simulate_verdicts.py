"""The simulation study behind docs/statistics.md: wrong-decision rates and power of ``judge``.

    python benchmarks/simulate_verdicts.py                       # the full grid (~30 min on 2 cores)
    python benchmarks/simulate_verdicts.py --quick               # a small grid (~2 min)
    python benchmarks/simulate_verdicts.py --json benchmarks/results/simulate_verdicts-DATE.json
    nice python benchmarks/simulate_verdicts.py --incomplete --trials 300 --workers 1   # ~10 min
    nice python benchmarks/simulate_verdicts.py --power-only --json OUT.json   # tables 2-3 and 5 (~20 min)

Three tables, printed as Markdown:

1. **At the threshold** (true drop = 5 points): the share of runs that wrongly *fail* and wrongly
   *pass*, over items x instructions x reference accuracy x instruction spread, single look and
   three looks (0.25, 0.5, 1.0). Nominal: at most 5% each, plus Monte-Carlo error
   (600 trials: standard error 0.89 points; a cell is flagged when above 5% + 3 SE = 7.7%).
2. **Power** at reference accuracy 0.75, instruction sd 0.05: pass rate when the true drop is 0,
   fail rate at 10, 15 and 20 points, by items x instructions.
3. **Is minimum_detectable_drop honest?** The fail rate when the true drop equals the mean
   ``minimum_detectable_drop`` the gate reported at a true drop of 0 (should be near 80%).

With ``--incomplete``, the same for incomplete designs (each item scored under ``K`` of ``M``
instructions, promptcheck.stats.design.balanced_design; the reference on every item):

4. **At the threshold**, the same grid of items x reference accuracy x instruction spread, for
   (M, K) in INCOMPLETE, single look and three looks.
5. **Is minimum_detectable_drop honest** for those designs (reference 0.75, sd 0.05): the pass
   rate at a true drop of 0, the mean minimum detectable drop, and the fail rate at that drop.
6. **Prompts to reach a complete design's minimum detectable drop**: for complete designs
   (items x instructions) at reference 0.75, sd 0.05, the fewest items of each incomplete design
   whose mean minimum detectable drop is no larger (searched by simulation), the prompts both
   score (reference included), and the incomplete design's fail rate at the complete design's
   minimum detectable drop (80% if it detects that drop as well).

``--power-only`` runs tables 2-3 and 5 alone (complete and incomplete designs; the verdicts at
the threshold do not depend on how power is computed), into one JSON with ``complete`` and
``incomplete`` parts.

The generator is promptcheck.stats.simulate (item difficulty, instruction effects, flips between
instructions, guessing); every trial goes through promptcheck.stats.judge itself.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import math
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from promptcheck.stats.simulate import Scenario, simulate

LOOKS = (0.25, 0.5, 1.0)
#: Incomplete designs (instructions M, per item K): a third of a 12-instruction suite's cells, a
#: pool four times as large at 4 per item, and one instruction per item.
INCOMPLETE = ((12, 4), (48, 4), (48, 1))
#: Complete designs whose minimum detectable drop the incomplete ones are sized to reach, and the
#: incomplete designs tried for each: (M, K) as multiples of the complete design's instructions.
FULL_DESIGNS = ((100, 12), (300, 12), (1000, 12), (300, 4))
REACH = ((1, 1), (1, 2), (1, 4), (4, 1), (4, 2), (4, 4))


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


def _icell(args: tuple) -> dict:
    n, m, k, acc, sd, drop, looks, trials, seed = args
    sc = Scenario(
        items=n,
        instructions=m,
        per_item=k,
        reference_accuracy=acc,
        true_drop=drop,
        instruction_sd=sd,
        chance=_chance(acc),
    )
    t0 = time.perf_counter()
    r = simulate(sc, trials=trials, looks=looks, seed=seed)
    return {**r.to_json(), "seconds": round(time.perf_counter() - t0, 2)}


def _reach(args: tuple) -> dict:
    """The fewest items of an incomplete design (M, K) whose mean minimum detectable drop is at most
    ``target`` (a complete design's), by simulation: secant steps on 1/sqrt(items), then bisection."""
    m, k, target, n0, trials, seed = args
    base = Scenario(instructions=m, per_item=k, reference_accuracy=0.75, true_drop=0.0, instruction_sd=0.05)
    seen: dict[int, float] = {}

    def mdd(n: int) -> float:
        if n not in seen:
            seen[n] = simulate(
                dataclasses.replace(base, items=n), trials=trials, seed=seed
            ).mean_minimum_detectable_drop
        return seen[n]

    n = max(n0, 30)
    for _ in range(8):
        gap, want = mdd(n) - 0.05, target - 0.05
        reach = [x for x in seen if seen[x] <= target]
        miss = [x for x in seen if seen[x] > target and (not reach or x < min(reach))]
        if reach and miss and min(reach) - max(miss) <= max(2, 0.03 * min(reach)):
            break
        if reach and miss:
            n = (min(reach) + max(miss)) // 2
        elif math.isfinite(gap) and gap > 0 and want > 0:
            n = max(30, min(int(n * (gap / want) ** 2 * (1.02 if not reach else 0.98)) + 1, 20 * n))
        else:
            n *= 2
    reach = [x for x in seen if seen[x] <= target]
    found = min(reach) if reach else None
    return {"instructions": m, "per_item": k, "target": target, "items": found, "mdd": seen.get(found, math.nan)}


def _progress(results, total: int, what: str) -> list[dict]:
    import sys

    out = []
    for k, r in enumerate(results, 1):
        out.append(r)
        print(f"\r{what}: {k}/{total}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return out


def _rate(x: float, bound: float) -> str:
    mark = "**" if x > bound else ""
    return f"{mark}{100 * x:.1f}%{mark}"


def _fail_at_mdd(h: dict | None, trials: int) -> str:
    """The fail rate at the minimum detectable drop with its Monte-Carlo standard error."""
    if not h:
        return "n/a"
    f = h["fail_rate"]
    return f"{100 * f:.1f}% ± {100 * math.sqrt(f * (1 - f) / trials):.1f}"


def complete_power(pool: ProcessPoolExecutor, items: tuple, instr: tuple, trials: int) -> tuple[list, list]:
    """Table 2's cells (true drops 0, 10, 15, 20 points) and table 3's (the fail rate at the mean MDD)."""
    power_cells = [
        (n, m, 0.75, 0.05, d, None, trials, 2) for n, m, d in itertools.product(items, instr, (0.0, 0.10, 0.15, 0.20))
    ]
    power = _progress(pool.map(_cell, power_cells), len(power_cells), "power cells")
    mdd_cells = [
        (r["items"], r["instructions"], 0.75, 0.05, r["mean_minimum_detectable_drop"], None, trials, 3)
        for r in power
        if r["true_drop"] == 0.0 and r["mean_minimum_detectable_drop"] < 0.7
    ]
    honest = _progress(pool.map(_cell, mdd_cells), len(mdd_cells), "cells at the MDD")
    return power, honest


def print_complete_power(power: list, honest: list, items: tuple, instr: tuple, trials: int) -> None:
    print("## Power (reference accuracy 0.75, instruction sd 0.05, single look)\n")
    print(
        "| items | instr. | pass at drop 0 | fail at 10 pts | fail at 15 pts | fail at 20 pts "
        "| mean min. detectable drop | fail at that drop (± MC SE) |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    pw = {(r["items"], r["instructions"], r["true_drop"]): r for r in power}
    hon = {(r["items"], r["instructions"]): r for r in honest}
    for n, m in itertools.product(items, instr):
        row = [pw[(n, m, d)] for d in (0.0, 0.10, 0.15, 0.20)]
        print(
            f"| {n} | {m} | {100 * row[0]['pass_rate']:.1f}% | "
            + " | ".join(f"{100 * r['fail_rate']:.1f}%" for r in row[1:])
            + f" | {100 * row[0]['mean_minimum_detectable_drop']:.1f} pts | "
            + f"{_fail_at_mdd(hon.get((n, m)), trials)} |"
        )


def incomplete_power(pool: ProcessPoolExecutor, items: tuple, trials: int) -> tuple[list, list]:
    """Table 5's cells: the incomplete designs at a true drop of 0, then at their mean MDD."""
    power_cells = [(n, m, k, 0.75, 0.05, 0.0, None, trials, 2) for n, (m, k) in itertools.product(items, INCOMPLETE)]
    power = _progress(pool.map(_icell, power_cells), len(power_cells), "power cells")
    # A design too sparse to judge reports no minimum detectable drop (nothing to check then).
    checked = [
        (r["items"], r["instructions"], r["per_item"], 0.75, 0.05, r["mean_minimum_detectable_drop"], None, trials, 3)
        for r in power
        if r["mean_minimum_detectable_drop"] < 0.7
    ]
    honest = _progress(pool.map(_icell, checked), len(checked), "cells at the MDD")
    return power, honest


def print_incomplete_power(power: list, honest: list, trials: int) -> None:
    print("## Power and an honest minimum detectable drop (reference 0.75, instruction sd 0.05, single look)\n")
    print(
        "| items | instr. M | per item K | prompts | pass at drop 0 | mean min. detectable drop "
        "| fail at that drop (± MC SE) |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    hon = {(h["items"], h["instructions"], h["per_item"]): h for h in honest}
    for r in power:
        mdd = r["mean_minimum_detectable_drop"]
        print(
            f"| {r['items']} | {r['instructions']} | {r['per_item']} | {r['mean_prompts_used']:.0f} | "
            f"{100 * r['pass_rate']:.1f}% | "
            + (f"{100 * mdd:.1f} pts | " if math.isfinite(mdd) else "none | ")
            + f"{_fail_at_mdd(hon.get((r['items'], r['instructions'], r['per_item'])), trials)} |"
        )


def power_study(args: argparse.Namespace) -> None:
    """Tables 2-3 and 5 only: power and the minimum detectable drop, complete and incomplete designs
    (the verdicts at the threshold, tables 1 and 4, do not depend on how power is computed)."""
    trials = args.trials
    items = (30, 100, 300, 1000)
    instr = (4, 12, 48)
    t0 = time.time()
    with ProcessPoolExecutor(args.workers) as pool:
        power, honest = complete_power(pool, items, instr, trials)
        ipower, ihonest = incomplete_power(pool, items, trials)
    print(f"# judge power study ({trials} trials per cell, {time.time() - t0:.0f} s)\n")
    print("Complete designs (items x instructions): every instruction scores every item.\n")
    print_complete_power(power, honest, items, instr, trials)
    print("\nIncomplete designs: each item scored under K of M instructions (the reference on every item).\n")
    print_incomplete_power(ipower, ihonest, trials)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {
                    "trials": trials,
                    "complete": {"power": power, "mdd_check": honest},
                    "incomplete": {"power": ipower, "mdd_check": ihonest},
                },
                indent=1,
            )
        )


def incomplete_study(args: argparse.Namespace) -> None:
    """Tables 4-6 (module docstring): incomplete designs at the threshold, power, and prompts."""
    trials = args.trials
    items = (30, 100, 300, 1000)
    accs, sds = (0.3, 0.6, 0.95), (0.02, 0.08)
    t0 = time.time()
    cells = [
        (n, m, k, a, s, 0.05, lk, trials, 1)
        for n, (m, k), a, s, lk in itertools.product(items, INCOMPLETE, accs, sds, (None, LOOKS))
        if lk is None or n >= 100
    ]
    full_cells = [(n, m, 0.75, 0.05, 0.0, None, trials, 2) for n, m in FULL_DESIGNS]
    with ProcessPoolExecutor(args.workers) as pool:
        at_threshold = _progress(pool.map(_icell, cells), len(cells), "threshold cells")
        power, honest = incomplete_power(pool, items, trials)
        full = list(pool.map(_cell, full_cells))
        searches = [
            (m * f, k, r["mean_minimum_detectable_drop"], n * m // (m * f), max(trials // 3, min(trials, 100)), 4)
            for (n, m), r in zip(FULL_DESIGNS, full)
            for f, k in REACH
            if k < m * f
        ]
        reached = _progress(pool.map(_reach, searches), len(searches), "prompt searches")
        found = [r for r in reached if r["items"] is not None]
        checks = list(
            pool.map(
                _icell,
                [
                    (r["items"], r["instructions"], r["per_item"], 0.75, 0.05, r["target"], None, trials, 5)
                    for r in found
                ],
            )
        )
        for r, c in zip(found, checks):
            r["fail_rate_at_target"] = c["fail_rate"]
        own = list(
            pool.map(
                _cell,
                [
                    (n, m, 0.75, 0.05, r["mean_minimum_detectable_drop"], None, trials, 5)
                    for (n, m), r in zip(FULL_DESIGNS, full)
                ],
            )
        )
    bound = 0.05 + 3 * math.sqrt(0.05 * 0.95 / trials)
    print(f"# judge on incomplete designs ({trials} trials per cell, {time.time() - t0:.0f} s)\n")
    print("## Wrong decisions at the threshold (true drop = 5 points, nominal <= 5% each)\n")
    print(
        "| items | instr. M | per item K | ref acc | instr. sd | single: wrong fail | wrong pass | 3 looks: wrong fail | wrong pass | items used |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    key = {
        (
            r["items"],
            r["instructions"],
            r["per_item"],
            r["reference_accuracy"],
            r["instruction_sd"],
            r["looks"] is not None,
        ): r
        for r in at_threshold
    }
    flagged = 0
    for n, (m, k), a, s in itertools.product(items, INCOMPLETE, accs, sds):
        one = key[(n, m, k, a, s, False)]
        seq = key.get((n, m, k, a, s, True), one)
        rates = [one["fail_rate"], one["pass_rate"], seq["fail_rate"], seq["pass_rate"]]
        flagged += sum(x > bound for x in rates)
        print(
            f"| {n} | {m} | {k} | {a} | {s} | "
            + " | ".join(_rate(x, bound) for x in rates)
            + f" | {seq['mean_items_used']:.0f} |"
        )
    worst = max(max(r["fail_rate"], r["pass_rate"]) for r in at_threshold)
    print(
        f"\nWorst cell: {100 * worst:.1f}%; rates above 5% + 3 SE ({100 * bound:.1f}%): {flagged} of {2 * len(at_threshold)}.\n"
    )
    print_incomplete_power(power, honest, trials)
    print("\n## Prompts to reach a complete design's minimum detectable drop (reference 0.75, sd 0.05)\n")
    print(
        "| complete design | its prompts | its MDD | fails at it | incomplete M x K | items | prompts | share | its MDD | fails at the complete MDD |"
    )
    print("|---|---:|---:|---:|---|---:|---:|---:|---:|---:|")
    for (n, m), f, o in zip(FULL_DESIGNS, full, own):
        for r in (x for x in reached if x["target"] == f["mean_minimum_detectable_drop"]):
            prompts = r["items"] * (r["per_item"] + 1) if r["items"] else None
            print(
                f"| {n} x {m} | {n * (m + 1)} | {100 * f['mean_minimum_detectable_drop']:.1f} pts | {100 * o['fail_rate']:.1f}% | "
                f"{r['instructions']} x {r['per_item']} | {r['items'] or 'n/a'} | {prompts or 'n/a'} | "
                + (
                    f"{prompts / (n * (m + 1)):.2f} | {100 * r['mdd']:.1f} pts | {100 * r['fail_rate_at_target']:.1f}% |"
                    if prompts
                    else "n/a | n/a | n/a |"
                )
            )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {
                    "trials": trials,
                    "at_threshold": at_threshold,
                    "power": power,
                    "mdd_check": honest,
                    "full": full,
                    "reach": reached,
                    "full_at_own_mdd": own,
                },
                indent=1,
            )
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a small grid, fewer trials")
    ap.add_argument("--incomplete", action="store_true", help="tables 4-6: incomplete designs (module docstring)")
    ap.add_argument("--trials", type=int, default=600)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--json", type=Path, help="also write every cell here")
    ap.add_argument(
        "--power-only", action="store_true", help="tables 2-3 and 5 only: power and the minimum detectable drop"
    )
    args = ap.parse_args()
    if args.power_only:
        power_study(args)
        return
    if args.incomplete:
        incomplete_study(args)
        return
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
    with ProcessPoolExecutor(args.workers) as pool:
        at_threshold = _progress(pool.map(_cell, threshold_cells), len(threshold_cells), "threshold cells")
        power, honest = complete_power(pool, items, instr, trials)
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
    print_complete_power(power, honest, items, instr, trials)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps({"trials": trials, "at_threshold": at_threshold, "power": power, "mdd_check": honest}, indent=1)
        )


if __name__ == "__main__":
    main()
