"""Shared-prefix KV reuse vs plain batched scoring, side by side in one run, same model and prompts.

    python benchmarks/bench_prefix_reuse.py [--suite examples/suites/capitals.yaml] [--instructions 4]

Prints seconds and prompts/second for both paths, their ratio, and whether every prediction
agrees. The full lm-evaluation-harness comparison is a separate, planned benchmark (issue 7).
"""

from __future__ import annotations

import argparse
import time

import promptcheck as pc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suite", default="examples/suites/capitals.yaml")
    ap.add_argument("--instructions", type=int, default=4)
    ap.add_argument("--model", default="default")
    args = ap.parse_args()
    model = pc.load_model(args.model)
    task = pc.load_task(args.suite)
    instructions = task.instructions()[: args.instructions]
    pc.evaluate(model, pc.Task(**{**task.__dict__, "items": task.items[:2]}), instructions[:1])  # warm-up
    rows = {}
    for share in (False, True):
        model.share_prefix = share
        start = time.perf_counter()
        result = pc.evaluate(model, task, instructions)
        rows[share] = (time.perf_counter() - start, result)
    n = rows[True][1].prompts_scored
    same = all(a.predictions == b.predictions for a, b in zip(rows[False][1].instructions, rows[True][1].instructions))
    print(
        f"model {model.identity.id}; suite {task.name}: {len(task.items)} items x {len(instructions)} instructions "
        f"x {task.n_choices} choices = {n} prompts ({task.format} format)"
    )
    for share, label in ((False, "plain batched"), (True, "shared-prefix KV reuse")):
        secs = rows[share][0]
        print(f"  {label:24s} {secs:7.2f} s  {n / secs:7.1f} prompts/s")
    print(f"  speed-up (reuse / plain): {rows[False][0] / rows[True][0]:.2f}x; same predictions: {same}")


if __name__ == "__main__":
    main()
