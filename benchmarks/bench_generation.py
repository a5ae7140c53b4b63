"""Generation speed, side by side in one run: lm-evaluation-harness, promptcheck cold and warm.

    python benchmarks/bench_generation.py [--suite examples/suites/capitals_free.yaml] [--json OUT]

Every contender writes greedy answers to the same prompts (a free-form suite's items under each
of its instructions, rendered by promptcheck with the model's chat template), with the same
token budget and stop strings, and the script checks the answers are identical:

(a) lm-evaluation-harness's ``HFLM.generate_until`` (pip install lm-eval, benchmark-only) on the
    same model object, at its fastest batch size on this machine (swept first on a sample);
(b) promptcheck cold: ``evaluate`` on the free-form task with an empty score cache (left-padded
    length batches, per-row stops, the shared instruction prefix's keys and values computed once);
(c) promptcheck warm: the same run again, answered from the score cache.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
import warnings
from pathlib import Path

import torch
from _measure import PeakRSS

import promptcheck as pc

ROOT = Path(__file__).resolve().parents[1]


def lm_eval_answers(lm, contexts: list[str], max_new_tokens: int, stop: tuple[str, ...]) -> list[str]:
    from lm_eval.api.instance import Instance

    kwargs = {"until": list(stop), "max_gen_toks": max_new_tokens, "do_sample": False}
    requests = [Instance(request_type="generate_until", doc={}, arguments=(c, dict(kwargs)), idx=0) for c in contexts]
    return list(lm.generate_until(requests, disable_tqdm=True))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suite", default=str(ROOT / "examples" / "suites" / "capitals_free.yaml"))
    ap.add_argument("--model", default="default")
    ap.add_argument("--items", type=int, default=0, help="use only the first N items (0: all; for a quick check)")
    ap.add_argument("--json", dest="json_out", help="write the figures to this JSON file")
    ap.add_argument("--lm-eval-batch-sizes", default="8,16,32", help="batch sizes tried for lm-eval on a sample")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    torch.manual_seed(0)

    scorer = pc.load_model(args.model)
    task = pc.load_task(args.suite)
    if not task.generative:
        raise SystemExit(f"{args.suite} is not a free-form suite")
    if args.items:
        task = pc.Task(**{**task.__dict__, "items": task.items[: args.items]})
    instructions = task.instructions()
    fmt = scorer.chat_formatter()
    contexts = [
        pc.render(ins.text, item, task, chat_formatter=fmt).context for ins in instructions for item in task.items
    ]
    settings = task.generation
    assert settings is not None
    print(
        f"model {scorer.identity.id}; {platform.processor() or platform.machine()}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads"
    )
    print(
        f"suite {task.name}: {len(task.items)} items x {len(instructions)} instructions = {len(contexts)} prompts, "
        f"at most {settings.max_new_tokens} new tokens, stop {list(settings.stop)}"
    )
    rows: dict[str, dict] = {}

    from lm_eval.models.huggingface import HFLM

    model, tokenizer = scorer.model, scorer.tokenizer
    sizes = [int(x) for x in args.lm_eval_batch_sizes.split(",") if x.strip()]
    probe = contexts[:: max(1, len(contexts) // 24)]
    sweep = {}
    for bs in sizes:
        lm = HFLM(pretrained=model, tokenizer=tokenizer, batch_size=bs, device="cpu")
        start = time.perf_counter()
        lm_eval_answers(lm, probe, settings.max_new_tokens, settings.stop)
        sweep[bs] = time.perf_counter() - start
    best = min(sweep, key=sweep.get)
    lm = HFLM(pretrained=model, tokenizer=tokenizer, batch_size=best, device="cpu")
    with PeakRSS() as mem:
        start = time.perf_counter()
        harness = lm_eval_answers(lm, contexts, settings.max_new_tokens, settings.stop)
        rows["lm_eval"] = {"seconds": time.perf_counter() - start, "peak_mib": mem.mib, "batch_size": best}
    rows["lm_eval"]["sweep_seconds"] = {str(k): round(v, 3) for k, v in sweep.items()}

    with tempfile.TemporaryDirectory() as tmp:
        cache_file = Path(tmp) / "scores.sqlite"
        with PeakRSS() as mem:
            start = time.perf_counter()
            cold = pc.evaluate(pc.CachedScorer(scorer, cache_file), task, instructions)
            rows["promptcheck_cold"] = {"seconds": time.perf_counter() - start, "peak_mib": mem.mib}
        with PeakRSS() as mem:
            start = time.perf_counter()
            warm = pc.evaluate(pc.CachedScorer(scorer, cache_file), task, instructions)
            rows["promptcheck_warm"] = {"seconds": time.perf_counter() - start, "peak_mib": mem.mib}

    ours = [o for r in cold.instructions for o in r.outputs]
    again = [o for r in warm.instructions for o in r.outputs]
    differ = [i for i, (a, b) in enumerate(zip(harness, ours)) if a != b]
    print(f"\n{'contender':28s} {'seconds':>9s} {'prompts/s':>10s} {'peak MiB':>9s}")
    labels = {
        "lm_eval": f"(a) lm-eval HFLM, batch {best}",
        "promptcheck_cold": "(b) promptcheck cold",
        "promptcheck_warm": "(c) promptcheck warm",
    }
    for key, label in labels.items():
        r = rows[key]
        r["prompts_per_second"] = len(contexts) / r["seconds"]
        print(f"{label:28s} {r['seconds']:9.2f} {r['prompts_per_second']:10.1f} {r['peak_mib']:9.0f}")
    ratios = {
        "ratio_vs_lm_eval": rows["lm_eval"]["seconds"] / rows["promptcheck_cold"]["seconds"],
        "warm_over_cold": rows["promptcheck_warm"]["seconds"] / rows["promptcheck_cold"]["seconds"],
    }
    print(f"lm-eval batch-size sweep on {len(probe)} prompts (s): {rows['lm_eval']['sweep_seconds']}")
    print(f"\na/b (cold vs lm-eval):    {ratios['ratio_vs_lm_eval']:.2f}x")
    print(f"c/b (warm time / cold):   {ratios['warm_over_cold'] * 100:.2f}%")
    print(f"identical answers: {len(contexts) - len(differ)} of {len(contexts)} (warm = cold: {again == ours})")
    for i in differ[:3]:
        print(f"  prompt {i}: lm-eval {harness[i]!r} / promptcheck {ours[i]!r}")
    if args.json_out:
        doc = {"prompts": len(contexts), "rows": rows, **ratios, "identical": len(contexts) - len(differ)}
        Path(args.json_out).write_text(json.dumps(doc, indent=1))


if __name__ == "__main__":
    main()
