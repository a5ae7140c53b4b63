"""``promptcheck fix`` cost on the default model: seconds per training step and peak memory.

    python benchmarks/bench_fix.py [--suite examples/suites/sentiment.yaml] [--steps 6]

Side by side in one run, on the same seeded step batches: a step of the alignment loss
(CE + KL, the default), a step of plain prompt tuning (CE only), and a forward pass alone over
the same prompts (no gradients) — so the printed ratios say what backward and the KL term cost.
Peak memory is resident memory above the level before training.
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


if __name__ == "__main__":
    main()
