"""``promptcheck fix`` on the blind-written held-out instructions (examples/heldout/), as a user runs it.

    python benchmarks/fix_heldout.py                          # the three example suites, default options
    python benchmarks/fix_heldout.py --mode ce --mode kl      # the paper's ablation on the same split
    python benchmarks/fix_heldout.py --model ~/.cache/promptcheck/models/qwen2.5-coder-0.5b-instruct --only-failing

For each suite: the release gate first (``promptcheck run SUITE --json``: the headline verdict on
the suite's unobserved instructions, all items), then ``promptcheck fix SUITE --out OUT/<mode>/<task>``
with the options given (``--only-failing``: only where the gate fails, as the plugin's
failures.json would list it), its exit code and wall time, and from its fix_report.json the before/after
figures on held-out items x held-out instructions. Prints one Markdown table (docs/fix.md) and
writes every figure to ``--json``. Nothing here is a timing claim: wall times are what one run took.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from promptcheck.options import RunOptions

ROOT = Path(__file__).resolve().parent.parent
SUITES = [ROOT / "examples" / "heldout" / f"{name}.yaml" for name in ("sentiment", "capitals", "yesno")]
EXIT = {0: "ok", 3: "exit 3"}
THRESHOLD = RunOptions().max_accuracy_drop  # the gate's threshold: promptcheck run's default


def _promptcheck(*args: str) -> tuple[int, float, str]:
    t0 = time.perf_counter()
    res = subprocess.run(
        [sys.executable, "-m", "promptcheck", *args], capture_output=True, text=True, cwd=ROOT, check=False
    )
    last = res.stderr.strip().splitlines()[-1:] or [""]
    return res.returncode, time.perf_counter() - t0, last[0]


def gate(suite: Path, model: str, out: Path) -> dict:
    """The gate on the whole suite (unobserved instructions, every item), from ``promptcheck run``."""
    path = out / f"gate-{suite.stem}.json"
    code, seconds, err = _promptcheck("run", str(suite), "--model", model, "--json", str(path))
    if code not in (0, 1):
        raise SystemExit(f"promptcheck run {suite} failed ({code}): {err}")
    (task,) = json.loads(path.read_text())["tasks"]
    rob = task["robustness"]
    return {"verdict": rob["verdict"], "drop": rob["drop"], "interval": rob["drop_interval"], "seconds": seconds}


def fix(suite: Path, model: str, out: Path, extra: list[str]) -> dict:
    code, seconds, err = _promptcheck("fix", str(suite), "--model", model, "--out", str(out), *extra)
    report_path = out / "fix_report.json"
    if code not in (0, 3) or not report_path.is_file():
        return {"exit": code, "seconds": seconds, "error": err}
    report = json.loads(report_path.read_text())
    (task,) = report["tasks"]
    return {"exit": code, "seconds": seconds, "task": task, "selection": report["selection"]}


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def gate_fails(g: dict) -> bool:
    """What the plugin lists in failures.json for a test that fails on inconclusive (the default)."""
    from promptcheck.failures import worth_fixing

    return worth_fixing({**g, "threshold": THRESHOLD, "test_outcome": "failed" if g["verdict"] != "pass" else "passed"})


def _gate_text(g: dict) -> str:
    fails = ": **fails**" if gate_fails(g) else ""
    return f"{g['verdict']} {_pct(g['drop'])} [{_pct(g['interval'][0])}, {_pct(g['interval'][1])}]{fails}"


def _row(mode: str, suite: Path, g: dict, f: dict) -> str:
    gate_s = _gate_text(g)
    if "task" not in f:
        return f"| {suite.stem} | {mode} | {gate_s} | failed: exit {f['exit']} {f.get('error', '')} | | | | |"
    t = f["task"]
    b, a, o = t["before"], t["after"], t["outcome"]

    def side(m: dict) -> str:
        lo, hi = m["heldout_drop_interval"]
        return f"{m['reference_accuracy']:.3f} / {_pct(m['heldout_drop'])} [{_pct(lo)}, {_pct(hi)}]"

    from promptcheck.fix.report import problem_reasons  # the fix's own summary, as the terminal table prints it

    reasons = problem_reasons(t.get("problems", []))
    code = EXIT.get(f["exit"], f["exit"]) + (f" ({reasons})" if reasons else "")
    said = o["label"] + (", but NOT usable" if o["gap_closed"] and reasons else "")
    return f"| {suite.stem} | {mode} | {gate_s} | {side(b)} | {side(a)} | {said} | {code} | {f['seconds'] / 60:.1f} |"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="default")
    ap.add_argument("--mode", action="append", help="fix --mode (both, ce, kl); repeat for an ablation")
    ap.add_argument("--suite", action="append", type=Path, help="suites [default: examples/heldout/*]")
    ap.add_argument("--out", type=Path, default=Path("/tmp/promptcheck-fix-heldout"))
    ap.add_argument("--json", type=Path)
    ap.add_argument("--only-failing", action="store_true", help="fix only suites whose gate fails (as failures.json)")
    ap.add_argument("fix_args", nargs="*", help="more options for fix, after --")
    args = ap.parse_args()
    suites = [s.resolve() for s in args.suite] if args.suite else SUITES
    modes = args.mode or ["both"]
    args.out.mkdir(parents=True, exist_ok=True)
    rows, results = [], []
    for suite in suites:
        g = gate(suite, args.model, args.out)
        if args.only_failing and not gate_fails(g):
            results.append({"suite": str(suite.relative_to(ROOT)), "mode": None, "gate": g, "fix": None})
            rows.append(f"| {suite.stem} | | {_gate_text(g)} | | | not run: the gate does not fail | | |")
            print(rows[-1], file=sys.stderr, flush=True)
            continue
        for mode in modes:
            f = fix(suite, args.model, args.out / mode / suite.stem, ["--mode", mode, *args.fix_args])
            results.append({"suite": str(suite.relative_to(ROOT)), "mode": mode, "gate": g, "fix": f})
            rows.append(_row(mode, suite, g, f))
            print(rows[-1], file=sys.stderr, flush=True)
    print(f"model {args.model}; fix options: --mode M {' '.join(args.fix_args)}\n")
    print(
        "| task | mode | gate before (all items, unobserved) | before: ref acc / held-out drop [bounds] "
        "| after: ref acc / held-out drop [bounds] | outcome | fix exit | minutes |"
    )
    print("|---|---|---|---|---|---|---|---:|")
    print("\n".join(rows))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"model": args.model, "results": results}, indent=1))


if __name__ == "__main__":
    main()
