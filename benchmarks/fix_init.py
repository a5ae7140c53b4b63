"""What the soft prompt's starting point costs before any training: base model vs three starts.

    python benchmarks/fix_init.py [SUITE] [--model M] [--tokens 20]

Scores every item of SUITE (default: the blind sentiment suite) under the reference and the
unobserved instructions, with the base model and with an untrained soft prompt started from:
``repeat`` (peft's text initialisation: the reference repeated and cut at the prompt's length),
``once`` (promptcheck's: the reference once and whole, left-padded with newlines,
``fix.train.init_token_ids``) and ``chat header`` (the chat template's text before the user
message). A start that lowers the reference makes training first undo it, and the harm
constraint then rejects early checkpoints (docs/fix.md).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

import promptcheck as pc
from promptcheck.evaluation.runner import evaluate
from promptcheck.fix.config import FixConfig
from promptcheck.fix.train import attach_soft_prompt, init_token_ids, soft_prompt

ROOT = Path(__file__).resolve().parent.parent


def accuracy(scorer: pc.Scorer, task: pc.Task) -> tuple[float, float]:
    instr = [i for i in task.instructions() if i.kind in ("reference", "unobserved")]
    res = evaluate(scorer, task, instr)
    ref = float(np.mean([np.mean(r.correct) for r in res.instructions if r.kind == "reference"]))
    held = float(np.mean([np.mean(r.correct) for r in res.instructions if r.kind == "unobserved"]))
    return ref, held


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("suite", nargs="?", type=Path, default=ROOT / "examples" / "heldout" / "sentiment.yaml")
    ap.add_argument("--start", action="append", help="only these starts (by name prefix)")
    ap.add_argument("--model", default="default")
    ap.add_argument("--tokens", type=int, default=20)
    args = ap.parse_args()
    task = pc.load_task(args.suite)
    base = pc.load_model(args.model)
    tok, n = base.tokenizer, args.tokens
    ref_ids = tok(task.reference_instruction, add_special_tokens=False)["input_ids"]
    header = base.chat_formatter()("\x00").split("\x00")[0]
    nl = tok("\n", add_special_tokens=False)["input_ids"][-1:]
    eos = [tok.eos_token_id]
    once = ref_ids[:n]
    starts = {
        "repeat (peft's text init)": (ref_ids * (n // len(ref_ids) + 1))[:n],
        "once, after newlines (fix's)": init_token_ids(tok, task.reference_instruction, n),
        "chat header": (tok(header, add_special_tokens=False)["input_ids"] * n)[-n:],
        "newlines only": nl * n,
        "once, after end-of-text tokens": eos * (n - len(once)) + once,
        "end-of-text tokens only": eos * n,
        "once, then newlines": once + nl * (n - len(once)),
    }
    print(f"{task.name}: {len(task.items)} items, {len(task.unobserved)} unobserved instructions, {n} virtual tokens")
    print(f"{'start':32s} {'reference acc':>14s} {'unobserved acc':>15s}")
    r, h = accuracy(base, task)
    print(f"{'base model (no soft prompt)':32s} {r:14.3f} {h:15.3f}", flush=True)
    table = base.model.get_input_embeddings().weight
    for name, ids in starts.items():
        if args.start and not any(name.startswith(p) for p in args.start):
            continue
        tuned = attach_soft_prompt(base, FixConfig(num_virtual_tokens=n), task.reference_instruction)
        with torch.no_grad():
            soft_prompt(tuned).copy_(table[torch.tensor(ids)])
        r, h = accuracy(tuned, task)
        print(f"{name:32s} {r:14.3f} {h:15.3f}", flush=True)


if __name__ == "__main__":
    main()
