"""``promptcheck fix`` cost on the default model: seconds per training step and peak memory.

    python benchmarks/bench_fix.py [--suite examples/suites/sentiment.yaml] [--steps 6]

Side by side in one run, on the same seeded step batches: a step of the alignment loss
(CE + KL, the default), a step of plain prompt tuning (CE only), and a forward pass alone over
the same prompts (no gradients) — so the printed ratios say what backward and the KL term cost.
Peak memory is resident memory above the level before training. Then the other parts of a
fix, timed once each: one validation score (model selection) and one before/after measurement,
and what a default fix costs per task (worst case, no early stop) from those parts.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
import warnings
from pathlib import Path

import torch
from _measure import PeakRSS

import promptcheck as pc
from promptcheck.fix.config import FixConfig
from promptcheck.fix.data import split_task
from promptcheck.fix.train import attach_soft_prompt, step_loss, train


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suite", default="examples/suites/sentiment.yaml")
    ap.add_argument("--model", default="default")
    ap.add_argument("--steps", type=int, default=6, help="timed steps per mode (after one warm-up step)")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    scorer = pc.load_model(args.model)
    task = pc.load_task(args.suite)
    base_cfg = FixConfig()
    ft = split_task(task, base_cfg)
    tuned = attach_soft_prompt(scorer, base_cfg, task.reference_instruction)
    prompts_per_step = base_cfg.batch_items * (1 + base_cfg.paraphrases_per_item)
    print(
        f"model {scorer.identity.id}; suite {task.name}; {base_cfg.num_virtual_tokens} virtual tokens; "
        f"{base_cfg.batch_items} items x (1 reference + {base_cfg.paraphrases_per_item} paraphrases) = "
        f"{prompts_per_step} prompts per step; torch {torch.__version__}, {torch.get_num_threads()} threads"
    )

    rows = {}
    for mode in ("both", "ce"):
        cfg = dataclasses.replace(base_cfg, mode=mode, steps=args.steps + 1, checkpoint_every=10_000)
        times: list[float] = []
        last = [time.perf_counter()]

        def on_step(state, loss, times=times, last=last):
            now = time.perf_counter()
            if state.step > 1:  # the first step pays one-time costs (allocations, kernels)
                times.append(now - last[0])
            last[0] = now

        with tempfile.TemporaryDirectory() as tmp, PeakRSS() as mem:
            with torch.no_grad():
                initial = tuned.model.prompt_encoder["default"].embedding.weight.clone()
            last[0] = time.perf_counter()
            train(tuned, [ft], cfg, Path(tmp), on_step=on_step)
            with torch.no_grad():  # the next mode starts from the same soft prompt
                tuned.model.prompt_encoder["default"].embedding.weight.copy_(initial)
        rows[mode] = (sum(times) / len(times), mem.mib)

    fwd_times = []
    with PeakRSS() as mem, torch.no_grad():
        for step in range(1, args.steps + 1):
            start = time.perf_counter()
            step_loss(tuned, [ft], base_cfg, step)
            fwd_times.append(time.perf_counter() - start)
    rows["forward"] = (sum(fwd_times) / len(fwd_times), mem.mib)

    print(f"\n{'':34s} {'s/step':>8s} {'peak MiB':>9s}")
    for key, label in (
        ("both", "fix step, CE + KL (default)"),
        ("ce", "prompt tuning step, CE only"),
        ("forward", "forward only, same prompts"),
    ):
        print(f"{label:34s} {rows[key][0]:8.2f} {rows[key][1]:9.0f}")
    print(f"\nKL term cost (both / ce):            {rows['both'][0] / rows['ce'][0]:.2f}x")
    print(f"training step / forward only:         {rows['both'][0] / rows['forward'][0]:.2f}x")
    print(f"default fix ({base_cfg.steps} steps) training time: ~{rows['both'][0] * base_cfg.steps:.0f} s")

    from promptcheck.fix.run import measure
    from promptcheck.fix.select import baseline

    start = time.perf_counter()
    baseline(tuned, [ft])
    val_s = time.perf_counter() - start
    start = time.perf_counter()
    measure(scorer, ft, base_cfg)
    measure_s = time.perf_counter() - start
    n_val = base_cfg.steps // base_cfg.eval_every + 1
    per_candidate = rows["both"][0] * base_cfg.steps + n_val * val_s
    total = base_cfg.search * per_candidate + 2 * measure_s
    print(
        f"\none validation score ({len(ft.val_items)} items x (1 + {len(ft.val_instructions)} instructions)): "
        f"{val_s:.1f} s = {val_s / rows['both'][0]:.1f} training steps"
    )
    print(
        f"one before/after measurement ({len(ft.heldout_items)} held-out items x "
        f"{1 + len(task.observed) + len(task.unobserved)} instructions): {measure_s:.1f} s"
    )
    print(
        f"a default fix of this task, worst case (search {base_cfg.search} x {base_cfg.steps} steps, {n_val} "
        f"validation scores each, no early stop, + before/after): ~{total / 60:.1f} min"
    )


if __name__ == "__main__":
    main()
