"""Prompts/second through a served model (vLLM) at several concurrencies, beside the in-process backend.

    python benchmarks/bench_served.py                          # starts vLLM from .venv-vllm
    python benchmarks/bench_served.py --url http://HOST:PORT/v1 --served-model NAME --tokenizer PATH

Scores the same prompts (suite x instructions) in-process and through the server at each
``--concurrency`` (default 1, 4, 16), and prints seconds, prompts/s, requests/s (one request
per choice) and whether every prediction agrees with the in-process backend.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import promptcheck as pc
from promptcheck.models.served import ServedScorer, parse_endpoints
from promptcheck.models.vllm_server import LocalVLLM

ROOT = Path(__file__).resolve().parents[1]


def _timed(model, task, instructions):
    start = time.perf_counter()
    result = pc.evaluate(model, task, instructions)
    return time.perf_counter() - start, result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suite", default=str(ROOT / "examples/suites/capitals.yaml"))
    ap.add_argument("--instructions", type=int, default=2)
    ap.add_argument("--items", type=int, default=40)
    ap.add_argument("--concurrency", default="1,4,16")
    ap.add_argument("--url", help="served endpoint(s); default: start vLLM's CPU build here")
    ap.add_argument("--served-model")
    ap.add_argument("--tokenizer", default="default")
    ap.add_argument("--vllm-python", default=str(ROOT / ".venv-vllm/bin/python"))
    args = ap.parse_args()

    task = pc.load_task(args.suite)
    task = pc.Task(**{**task.__dict__, "items": task.items[: args.items]})
    instructions = task.instructions()[: args.instructions]
    server = None
    url = args.url
    if url is None:
        from promptcheck.models.packaged import converted_copy
        from promptcheck.settings import cache_dir

        log = Path(tempfile.mkdtemp(prefix="bench-vllm-")) / "server.log"
        server = LocalVLLM(args.vllm_python, converted_copy(cache_dir())[0], log=log)
        print(f"vLLM (CPU build) up in {server.start():.0f} s at {server.url}")
        url = server.url
    try:
        local = pc.load_model("default")
        first = pc.load_model(url, served_model=args.served_model, tokenizer=args.tokenizer)
        fmt = first.chat_formatter()
        warm = pc.Task(**{**task.__dict__, "items": task.items[:2]})
        pc.evaluate(local, warm, instructions[:1])
        pc.evaluate(first, warm, instructions[:1])
        secs, ref = _timed(local, task, instructions)
        n, reqs = ref.prompts_scored, ref.prompts_scored * task.n_choices
        print(
            f"suite {task.name}: {len(task.items)} items x {len(instructions)} instructions = {n} prompts, "
            f"{reqs} requests ({task.format} format); server {url}"
        )
        print(f"  {'in-process (transformers)':28s} {secs:7.2f} s  {n / secs:6.2f} prompts/s")
        for conc in (int(c) for c in args.concurrency.split(",")):
            scorer = ServedScorer(
                parse_endpoints(url), served_model=first.served_model, max_concurrency=conc, chat_template=fmt
            )
            secs, res = _timed(scorer, task, instructions)
            same = all(a.predictions == b.predictions for a, b in zip(ref.instructions, res.instructions))
            worst = max(
                abs(x - y)
                for a, b in zip(ref.instructions, res.instructions)
                for ra, rb in zip(a.logprobs, b.logprobs)
                for x, y in zip(ra, rb)
            )
            print(
                f"  {f'served, concurrency {conc}':28s} {secs:7.2f} s  {n / secs:6.2f} prompts/s  "
                f"{reqs / secs:6.2f} requests/s  same predictions: {same}; max |diff| {worst:.1e}"
            )
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
