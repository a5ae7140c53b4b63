"""Scoring speed, side by side in one run: naive loop, lm-evaluation-harness, promptcheck cold and warm.

    python benchmarks/bench_scoring.py [--suite benchmarks/data/world_capitals.yaml] [--json OUT]

Every contender scores the same (context, continuation) requests, built by promptcheck's
renderer (chat template on, the default model), and the script checks that all four pick the
same answer for every prompt:

(a) naive: one unbatched forward pass per prompt and choice;
(b) lm-evaluation-harness's ``HFLM.loglikelihood`` (pip install lm-eval, benchmark-only) on the
    same model object, at its fastest batch size on this machine (swept first on a sample);
(c) promptcheck cold: ``evaluate`` with an empty score cache (length batching, call-wide
    shared-prefix KV reuse, per-prompt context reuse across the K choices);
(d) promptcheck warm: the same run again, answered from the score cache.

Also printed: peak resident memory above the starting point per contender, and promptcheck's
achieved model FLOP/s (2 x non-embedding parameters per token run, plus the output layer for
the logits kept) against a plain fp32 torch matmul's FLOP/s on the same machine.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import tempfile
import time
import warnings
from contextlib import contextmanager
from pathlib import Path

import torch
from _measure import PeakRSS

import promptcheck as pc


@contextmanager
def count_tokens(model: torch.nn.Module):
    """Counts token positions (padding included: it is computed) fed to the transformer, and logits rows."""
    counts = {"tokens": 0, "logits": 0}
    inner = model.get_base_model() if hasattr(model, "get_base_model") else model

    def pre(_module, args, kwargs):
        ids = kwargs.get("input_ids", args[0] if args else None)
        if ids is not None:
            counts["tokens"] += ids.numel()

    def post(_module, _args, output):
        counts["logits"] += output.shape[0] * output.shape[1]

    h1 = inner.model.register_forward_pre_hook(pre, with_kwargs=True)
    h2 = inner.lm_head.register_forward_hook(post)
    try:
        yield counts
    finally:
        h1.remove()
        h2.remove()


def matmul_flops(seconds: float = 3.0) -> float:
    """Best fp32 FLOP/s of torch.mm over a few shapes (the hardware ceiling the scorer is held to)."""
    best = 0.0
    for m, k, n in ((2048, 2048, 2048), (1024, 576, 1536), (4096, 576, 576)):
        a, b = torch.randn(m, k), torch.randn(k, n)
        torch.mm(a, b)
        reps, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds / 3:
            torch.mm(a, b)
            reps += 1
        best = max(best, 2 * m * k * n * reps / (time.perf_counter() - start))
    return best


def naive_scores(model, tokenizer, prompts, special: bool) -> list[list[float]]:
    out = []
    with torch.inference_mode():
        for prompt in prompts:
            ctx = tokenizer(prompt.context, add_special_tokens=special)["input_ids"]
            row = []
            for cont in prompt.continuations:
                whole = tokenizer(prompt.context + cont, add_special_tokens=special)["input_ids"]
                logits = model(torch.tensor([whole])).logits[0]
                logp = torch.log_softmax(logits.float(), dim=-1)
                row.append(float(sum(logp[t - 1, whole[t]] for t in range(len(ctx), len(whole)))))
            out.append(row)
    return out


def lm_eval_scores(lm, prompts) -> list[list[float]]:
    from lm_eval.api.instance import Instance

    requests = [
        Instance(request_type="loglikelihood", doc={}, arguments=(p.context, c), idx=k)
        for p in prompts
        for k, c in enumerate(p.continuations)
    ]
    values = [lp for lp, _greedy in lm.loglikelihood(requests, disable_tqdm=True)]
    out, i = [], 0
    for p in prompts:
        out.append(values[i : i + len(p.continuations)])
        i += len(p.continuations)
    return out


def argmax(rows: list[list[float]]) -> list[int]:
    return [max(range(len(r)), key=r.__getitem__) for r in rows]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suite", default=str(Path(__file__).parent / "data" / "world_capitals.yaml"))
    ap.add_argument("--model", default="default")
    ap.add_argument("--items", type=int, default=0, help="use only the first N items (0: all; for a quick check)")
    ap.add_argument("--json", dest="json_out", help="write the figures to this JSON file")
    ap.add_argument(
        "--lm-eval-batch-sizes",
        default="8,16,32,64",
        help="batch sizes tried for lm-eval on a sample; the fastest is used for the full run",
    )
    ap.add_argument(
        "--naive-sample",
        type=int,
        default=0,
        help="time the naive loop on every Nth prompt only (0: all prompts; it is the slowest)",
    )
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    torch.manual_seed(0)
    threads = torch.get_num_threads()

    scorer = pc.load_model(args.model)
    task = pc.load_task(args.suite)
    if args.items:
        task = pc.Task(**{**task.__dict__, "items": task.items[: args.items]})
    instructions = task.instructions()
    fmt = scorer.chat_formatter()
    prompts = [pc.render(ins.text, item, task, chat_formatter=fmt) for ins in instructions for item in task.items]
    n_prompts = len(prompts)
    n_requests = sum(len(p.continuations) for p in prompts)
    model, tokenizer = scorer.model, scorer.tokenizer
    special = not scorer.use_chat_template
    print(
        f"model {scorer.identity.id}; {platform.processor() or platform.machine()}, torch {torch.__version__}, "
        f"{threads} threads"
    )
    print(
        f"suite {task.name}: {len(task.items)} items x {len(instructions)} instructions = {n_prompts} prompts, "
        f"{n_requests} (context, continuation) requests, {task.format} format, chat template "
        f"{'on' if scorer.use_chat_template else 'off'}"
    )
    pc.evaluate(scorer, pc.Task(**{**task.__dict__, "items": task.items[:2]}), instructions[:1])  # warm-up

    rows: dict[str, dict] = {}

    # (a) naive loop
    step = args.naive_sample or 1
    sample = prompts[::step]
    with PeakRSS() as mem:
        start = time.perf_counter()
        naive = naive_scores(model, tokenizer, sample, special)
        secs = time.perf_counter() - start
    rows["naive"] = {"seconds": secs * n_prompts / len(sample), "peak_mib": mem.mib, "measured_prompts": len(sample)}

    # (b) lm-evaluation-harness
    from lm_eval.models.huggingface import HFLM

    sizes = [int(x) for x in args.lm_eval_batch_sizes.split(",") if x.strip()]
    probe = prompts[:: max(1, n_prompts // 120)]
    sweep = {}
    for bs in sizes:
        lm = HFLM(pretrained=model, tokenizer=tokenizer, batch_size=bs, device="cpu")
        start = time.perf_counter()
        lm_eval_scores(lm, probe)
        sweep[bs] = time.perf_counter() - start
    best_bs = min(sweep, key=sweep.get)
    lm = HFLM(pretrained=model, tokenizer=tokenizer, batch_size=best_bs, device="cpu")
    with PeakRSS() as mem:
        start = time.perf_counter()
        harness = lm_eval_scores(lm, prompts)
        secs = time.perf_counter() - start
    rows["lm_eval"] = {
        "seconds": secs,
        "peak_mib": mem.mib,
        "batch_size": best_bs,
        "sweep_seconds": {str(k): round(v, 3) for k, v in sweep.items()},
    }

    # (c) promptcheck cold, (d) warm: the same evaluate() a user's run makes, with an empty cache
    with tempfile.TemporaryDirectory() as tmp:
        cache_file = Path(tmp) / "scores.sqlite"
        cold_scorer = pc.CachedScorer(scorer, cache_file)
        with PeakRSS() as mem, count_tokens(model) as counts:
            start = time.perf_counter()
            cold = pc.evaluate(cold_scorer, task, instructions)
            secs = time.perf_counter() - start
        rows["promptcheck_cold"] = {
            "seconds": secs,
            "peak_mib": mem.mib,
            "batch_size": scorer.batch_size,
            "tokens_run": counts["tokens"],
            "logits_rows": counts["logits"],
        }
        warm_scorer = pc.CachedScorer(scorer, cache_file)
        with PeakRSS() as mem:
            start = time.perf_counter()
            warm = pc.evaluate(warm_scorer, task, instructions)
            secs = time.perf_counter() - start
        rows["promptcheck_warm"] = {"seconds": secs, "peak_mib": mem.mib, "cache_hits": warm_scorer.stats.hits}

    def flat(result) -> list[int]:  # instruction-major, as `prompts` is ordered
        return [p for r in result.instructions for p in r.predictions]

    preds = {"naive": argmax(naive), "lm_eval": argmax(harness), "cold": flat(cold), "warm": flat(warm)}
    same = (
        preds["naive"] == preds["lm_eval"][::step] == preds["cold"][::step]
        and preds["lm_eval"] == preds["cold"] == preds["warm"]
    )
    cold_lp = [list(lp) for r in cold.instructions for lp in r.logprobs]
    max_diff = max(abs(a - b) for x, y in zip(harness, cold_lp) for a, b in zip(x, y))

    embed = sum(p.numel() for n, p in model.named_parameters() if "embed_tokens" in n)
    body = sum(p.numel() for p in model.parameters()) - embed
    hidden, vocab = model.config.hidden_size, model.config.vocab_size
    flops = (
        2 * body * rows["promptcheck_cold"]["tokens_run"] + 2 * hidden * vocab * rows["promptcheck_cold"]["logits_rows"]
    )
    achieved = flops / rows["promptcheck_cold"]["seconds"]
    ceiling = matmul_flops()

    print(f"\n{'contender':28s} {'seconds':>9s} {'prompts/s':>10s} {'peak MiB':>9s}")
    labels = {
        "naive": "(a) naive loop",
        "lm_eval": f"(b) lm-eval HFLM, batch {best_bs}",
        "promptcheck_cold": "(c) promptcheck cold",
        "promptcheck_warm": "(d) promptcheck warm",
    }
    for key, label in labels.items():
        r = rows[key]
        r["prompts_per_second"] = n_prompts / r["seconds"]
        print(f"{label:28s} {r['seconds']:9.2f} {r['prompts_per_second']:10.1f} {r['peak_mib']:9.0f}")
    if step > 1:
        print(f"(naive timed on {len(sample)} of {n_prompts} prompts and scaled)")
    print(f"lm-eval batch-size sweep on {len(probe)} prompts (s): {rows['lm_eval']['sweep_seconds']}")
    ratios = {
        "ratio_vs_naive": rows["naive"]["seconds"] / rows["promptcheck_cold"]["seconds"],
        "ratio_vs_lm_eval": rows["lm_eval"]["seconds"] / rows["promptcheck_cold"]["seconds"],
        "warm_over_cold": rows["promptcheck_warm"]["seconds"] / rows["promptcheck_cold"]["seconds"],
    }
    print(f"\nc/a (cold vs naive):      {ratios['ratio_vs_naive']:.2f}x")
    print(f"c/b (cold vs lm-eval):    {ratios['ratio_vs_lm_eval']:.2f}x")
    print(f"d/c (warm time / cold):   {ratios['warm_over_cold'] * 100:.2f}%")
    print(
        f"same predictions (all four, every prompt): {same}; max |logprob(lm-eval) - logprob(promptcheck)| "
        f"= {max_diff:.2e}"
    )
    print(
        f"promptcheck cold: {rows['promptcheck_cold']['tokens_run']} token positions run, "
        f"{flops / 1e12:.2f} TFLOP, {achieved / 1e9:.1f} GFLOP/s = {achieved / ceiling * 100:.0f}% of torch.mm's "
        f"{ceiling / 1e9:.1f} GFLOP/s"
    )
    print(f"process peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    if args.json_out:
        doc = {
            **ratios,
            "same_predictions": same,
            "max_abs_logprob_diff_vs_lm_eval": max_diff,
            "prompts": n_prompts,
            "requests": n_requests,
            "contenders": rows,
            "achieved_flops": achieved,
            "matmul_flops": ceiling,
            "fraction_of_matmul": achieved / ceiling,
            "model": scorer.identity.id,
            "suite": task.name,
            "torch_threads": threads,
            "date": time.strftime("%Y-%m-%d"),
        }
        Path(args.json_out).write_text(json.dumps(doc, indent=2) + "\n")
        print(f"written to {args.json_out}")


if __name__ == "__main__":
    main()
