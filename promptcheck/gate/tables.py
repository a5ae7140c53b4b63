"""The gate's tables: the terminal summary after a pytest run and the Markdown pull-request summary.

Rendering only (pytest-benchmark's table.py): records in, text out; the session decides when.
"""

from __future__ import annotations

import json


def summary_table(records: list[dict], *, width: int = 120) -> str:
    """The terminal summary: one row per verdict, the tests it came from, the model(s), how to read it.

    Test ids are long and a CI log has no terminal to widen: they go below the table, one per line
    and never wrapped, keyed by the row's number; task and claim names are kept whole.
    """
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from promptcheck.report.console import whole_console

    table = Table(
        title="promptcheck: robustness to instruction paraphrases",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
    )
    for col, justify in [
        ("#", "right"),
        ("task", "left"),
        ("claim", "left"),
        ("drop [bounds]", "right"),
        ("thr", "right"),
        ("detects", "right"),
        ("size", "right"),
        ("verdict", "left"),
    ]:
        # Text, not markup: "[bounds]" would be read as a markup tag and vanish.
        table.add_column(Text(col), justify=justify, no_wrap=True)  # type: ignore[arg-type]
    colour = {"pass": "green", "fail": "red", "inconclusive": "yellow"}
    for n, r in enumerate(records, 1):
        table.add_row(
            str(n),
            Text(r["task"]),
            r["claim"],
            Text(drop_and_bounds(r)),
            f"{100 * r['threshold']:.1f}",
            detects(r),
            f"{r['items']}x{r['instructions']}"
            + (f" ({r['design']['instructions_per_item']}/item)" if r.get("design") else ""),
            Text(r["verdict"], style=colour.get(r["verdict"], "")),
        )
    # No cell ever breaks: a table wider than the terminal (very long task names) is printed at
    # its own width, and the terminal or log viewer wraps whole lines instead of names.
    console = whole_console(table, width)
    with console.capture() as cap:
        console.print(table)
        console.width = width
        for n, r in enumerate(records, 1):
            console.print(f"[{n}] {r['test']}", markup=False, highlight=False, soft_wrap=True)
            note = form_note(r)
            if note:  # a free-form gate: its drop's form part and content part, under its test id
                console.print(f"    {note}", markup=False, highlight=False, soft_wrap=True)
        models = {json.dumps(r["model"], sort_keys=True) for r in records}
        for m in sorted(models):
            d = json.loads(m)
            console.print(
                f"model: {d.get('id')}  weights {str(d.get('weights_hash') or d.get('revision'))[:16]}  "
                f"dtype {d.get('dtype')}  adapter {d.get('adapter_hash', None) and d['adapter_hash'][:16]}",
                markup=False,
                highlight=False,
            )
        # each bound's one-sided level: the confidence, or a sequential look's (a budget's rounds)
        confidences = sorted({(r.get("judgment") or {}).get("bound_confidence", r["confidence"]) for r in records})
        console.print(
            f"drop and bounds in accuracy points (reference minus paraphrases); bounds are one-sided at "
            f"{', '.join(f'{100 * c:.4g}%' for c in confidences)} each (the verdict's two one-sided tests); "
            "thr = the claim's threshold; fail = lower bound above threshold, pass = upper bound below; "
            "detects = the true drop this suite fails 80% of the time (docs/statistics.md), none when no drop "
            "the reference allows would; cannot decide = the bounds cover every drop the reference allows; "
            f"size = items x instructions (k/item: an incomplete design, k of them per item); {sum(r['prompts_scored'] for r in records)} prompts scored",
            markup=False,
            highlight=False,
        )
    return cap.get()


def detects(record: dict) -> str:
    """The true drop the gate fails 80% of the time (minimum detectable drop), in points; "none"
    when no drop the reference allows would (a figure above 100 points is not shown)."""
    judgment = record.get("judgment") or {}
    mdd = judgment.get("minimum_detectable_drop")
    if isinstance(mdd, (int, float)):
        return f"{100 * mdd:.1f}"
    return "none" if "largest_possible_drop" in judgment else "?"


def drop_and_bounds(record: dict) -> str:
    """``+3.0 [-1.2, +7.5]``, or ``+3.0 [cannot decide]`` when the bounds cover every possible drop."""
    lo, hi = record["interval"][:2]
    if (record.get("judgment") or {}).get("decidable") is False:
        return f"{100 * record['drop']:+.1f} [cannot decide]"
    return f"{100 * record['drop']:+.1f} [{100 * lo:+.1f}, {100 * hi:+.1f}]"


def form_note(record: dict) -> str | None:
    """A free-form gate (its record has ``drop_parts``): the drop split into its form part
    (misformatted or unparsed answers) and its content part (wrong answers), each with its one-sided
    bounds, and how many compared instructions break only the answer's form (when the record says)."""
    parts = record.get("drop_parts")
    if not parts:
        return None

    def part(p: dict) -> str:
        lo, hi = p["interval"][:2]
        return f"{100 * p['drop']:+.1f} [{100 * lo:+.1f}, {100 * hi:+.1f}]"

    text = (
        f"free-form answers: of the drop, form (misformatted or unparsed) {part(parts['form'])}, "
        f"content (wrong) {part(parts['content'])} points"
    )
    compared = [i for i in (record.get("evidence") or {}).get("instructions", []) if i.get("kind") != "reference"]
    if compared and all("form_only" in i for i in compared):
        n = sum(bool(i["form_only"]) for i in compared)
        text += (
            f"; {n} of {len(compared)} instructions break only the answer's form"
            if n
            else "; no instruction breaks only the answer's form"
        )
    return text


def _rates(record: dict, text: str, kind: str) -> str:
    """`` (misformatted 40.0%, unparsed 5.0%; breaks only the form)`` for a free-form gate's instruction, else ""."""
    for i in (record.get("evidence") or {}).get("instructions", []):
        if i.get("text") == text and i.get("kind") == kind and "misformatted_rate" in i:
            only = "; breaks only the form" if i.get("form_only") else ""
            return (
                f" (misformatted {100 * i['misformatted_rate']:.1f}%, unparsed {100 * i['unparsed_rate']:.1f}%{only})"
            )
    return ""


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
        lo, hi = r["interval"][:2]
        bounds = (
            "cannot decide at this size"
            if (r.get("judgment") or {}).get("decidable") is False
            else f"[{100 * lo:+.1f}, {100 * hi:+.1f}]"
        )
        lines.append(
            f"| `{r['test']}` | {r['task']} | {100 * r['drop']:+.1f} | {bounds} | "
            f"{100 * r['threshold']:.1f} | {detects(r)} | {r['items']} × {r['instructions']} | "
            f"{icon.get(r['verdict'], r['verdict'])} |"
        )
    for r in records:
        note = form_note(r)
        if note:
            lines += ["", f"**{r['task']}** (`{r['test']}`) {note}"]
    worst = [r for r in records if r["verdict"] != "pass"]
    for r in worst:
        lines += ["", f"**{r['task']}** worst instructions:"]
        lines += [
            f"- {w['accuracy']:.3f} [{w['kind']}] {w['text']!r}{_rates(r, w['text'], w['kind'])}"
            for w in r["worst_instructions"]
        ]
    return "\n".join(lines) + "\n"
