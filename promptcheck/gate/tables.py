"""The gate's tables: the terminal summary after a pytest run and the Markdown pull-request summary.

Rendering only (pytest-benchmark's table.py): records in, text out; the session decides when.
"""

from __future__ import annotations

import json


def summary_table(records: list[dict]) -> str:
    """The terminal summary: one row per verdict, then the model(s) and how to read the bounds."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title="promptcheck: robustness to instruction paraphrases", title_justify="left")
    for col, justify in [
        ("test", "left"),
        ("task", "left"),
        ("claim", "left"),
        ("drop", "right"),
        ("bounds", "right"),
        ("threshold", "right"),
        ("detects", "right"),
        ("items x instr", "right"),
        ("prompts", "right"),
        ("verdict", "left"),
    ]:
        table.add_column(col, justify=justify, overflow="fold")  # type: ignore[arg-type]
    colour = {"pass": "green", "fail": "red", "inconclusive": "yellow"}
    for r in records:
        lo, hi = r["interval"]
        table.add_row(
            Text(r["test"]),
            Text(r["task"]),
            r["claim"],
            f"{100 * r['drop']:+.1f}",
            f"[{100 * lo:+.1f}, {100 * hi:+.1f}]",
            f"{100 * r['threshold']:.1f}",
            detects(r),
            f"{r['items']} x {r['instructions']}",
            str(r["prompts_scored"]),
            Text(r["verdict"], style=colour.get(r["verdict"], "")),
        )
    console = Console(width=140, record=True, force_terminal=False, color_system=None)
    with console.capture() as cap:
        console.print(table)
        models = {json.dumps(r["model"], sort_keys=True) for r in records}
        for m in sorted(models):
            d = json.loads(m)
            console.print(
                f"model: {d.get('id')}  weights {str(d.get('weights_hash') or d.get('revision'))[:16]}  "
                f"dtype {d.get('dtype')}  adapter {d.get('adapter_hash', None) and d['adapter_hash'][:16]}",
                markup=False,
                highlight=False,
            )
        confidences = sorted({r["confidence"] for r in records})
        console.print(
            f"drop and bounds in accuracy points (reference minus paraphrases); bounds are one-sided at "
            f"{', '.join(f'{100 * c:g}%' for c in confidences)} each (the verdict's two one-sided tests); "
            "fail = lower bound above threshold, pass = upper bound below; detects = the true drop "
            "this suite fails 80% of the time (docs/statistics.md)",
            markup=False,
            highlight=False,
        )
    return cap.get()


def detects(record: dict) -> str:
    """The true drop the gate fails 80% of the time (minimum detectable drop), in points."""
    mdd = (record.get("judgment") or {}).get("minimum_detectable_drop")
    return f"{100 * mdd:.1f}" if isinstance(mdd, (int, float)) else "?"


def markdown_summary(records: list[dict], *, seed: int) -> str:
    """A pull-request comment: the table and, for every verdict but pass, the worst instructions."""
    icon = {"pass": "✅ pass", "fail": "❌ fail", "inconclusive": "⚠️ inconclusive"}
    lines = ["## promptcheck: robustness to instruction paraphrases", ""]
    models = sorted({r["model"].get("id", "?") for r in records})
    lines.append(f"Model: {', '.join(models)} · seed {seed}")
    lines += [
        "",
        "| test | task | drop | one-sided bounds | threshold | detects | items × instructions | verdict |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in records:
        lo, hi = r["interval"]
        lines.append(
            f"| `{r['test']}` | {r['task']} | {100 * r['drop']:+.1f} | [{100 * lo:+.1f}, {100 * hi:+.1f}] | "
            f"{100 * r['threshold']:.1f} | {detects(r)} | {r['items']} × {r['instructions']} | "
            f"{icon.get(r['verdict'], r['verdict'])} |"
        )
    worst = [r for r in records if r["verdict"] != "pass"]
    for r in worst:
        lines += ["", f"**{r['task']}** worst instructions:"]
        lines += [f"- {w['accuracy']:.3f} [{w['kind']}] {w['text']!r}" for w in r["worst_instructions"]]
    return "\n".join(lines) + "\n"
