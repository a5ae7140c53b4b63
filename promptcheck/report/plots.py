"""Plots for the HTML report: matplotlib (Agg, no display), returned as base64 PNG for data URIs.

Plots draw numbers they are given (from the results file); they compute no statistics. A
:class:`~matplotlib.figure.Figure` is made directly (not through pyplot), so nothing global is
touched and plotting works in threads and without a display. PNGs carry no timestamp, so the
same results give the same bytes.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Sequence
from typing import Any

KIND_COLOURS = {"reference": "#222222", "observed": "#2CA02C", "unobserved": "#1F77B4", "generated": "#FF7F0E"}
VERDICT_COLOURS = {
    "pass": "#2CA02C",
    "fail": "#D62728",
    "inconclusive": "#E6A700",
    "worse": "#D62728",
    "better": "#2CA02C",
    "unchanged": "#777777",
}


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    fig.set_layout_engine("constrained")
    return fig


def _png(fig: Any) -> str:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _ok(x: Any) -> bool:
    return isinstance(x, (int, float)) and not math.isnan(x)


def accuracy_plot(instructions: Sequence[dict], reference_accuracy: float, title: str) -> str:
    """One row per instruction (worst at the bottom): accuracy with its Wilson interval, coloured by kind."""
    rows = sorted(instructions, key=lambda r: (r["accuracy"], -r["index"]))
    fig = _figure(7.5, max(2.2, 0.28 * len(rows) + 1.2))
    ax = fig.add_subplot()
    for y, r in enumerate(rows):
        colour = KIND_COLOURS.get(r["kind"], "#999999")
        lo, hi = r.get("accuracy_interval") or (r["accuracy"], r["accuracy"])
        if _ok(lo) and _ok(hi):
            ax.plot([lo, hi], [y, y], color=colour, alpha=0.55, linewidth=2)
        ax.plot([r["accuracy"]], [y], "o", color=colour, markersize=6)
    if _ok(reference_accuracy):
        ax.axvline(reference_accuracy, color=KIND_COLOURS["reference"], linestyle=":", linewidth=1)
    ax.set_yticks(range(len(rows)), [f"#{r['index']}" for r in rows], fontsize=8)
    ax.set_xlim(-0.02, 1.02)
    ax.set_xlabel("accuracy (95% Wilson interval); dotted: reference")
    ax.set_title(title, fontsize=10, loc="left")
    for kind, colour in KIND_COLOURS.items():
        if any(r["kind"] == kind for r in rows):
            ax.plot([], [], "o", color=colour, label=kind)
    ax.legend(loc="lower right", fontsize=8, frameon=False)
    ax.grid(axis="x", alpha=0.3)
    return _png(fig)


#: A free-form answer's outcome (docs/matching.md) and its colour.
OUTCOME_COLOURS = {"correct": "#2CA02C", "misformatted": "#E6A700", "unparsed": "#8A8F98", "wrong": "#D62728"}


def outcome_plot(instructions: Sequence[dict], title: str) -> str:
    """A free-form task: per instruction (in the accuracy plot's order), the shares of its answers
    that are correct, misformatted and unparsed, stacked from the left; the rest of the bar, up
    to 1, is the wrong answers (drawn underneath, so no share is worked out here)."""
    rows = sorted(instructions, key=lambda r: (r["accuracy"], -r["index"]))
    fig = _figure(7.5, max(2.2, 0.28 * len(rows) + 1.2))
    ax = fig.add_subplot()
    ys = range(len(rows))
    ax.barh(ys, [1.0] * len(rows), color=OUTCOME_COLOURS["wrong"], height=0.7, label="wrong")
    left = [0.0] * len(rows)
    for outcome, key in (("correct", "accuracy"), ("misformatted", "misformatted_rate"), ("unparsed", "unparsed_rate")):
        widths = [r.get(key) or 0.0 for r in rows]
        ax.barh(ys, widths, left=left, color=OUTCOME_COLOURS[outcome], height=0.7, label=outcome)
        left = [a + b for a, b in zip(left, widths)]
    labels = [f"#{r['index']} {r['kind']}" + (" (form only)" if r.get("form_only") else "") for r in rows]
    ax.set_yticks(list(ys), labels, fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of the items' answers")
    ax.set_title(title, fontsize=10, loc="left")
    handles, names = ax.get_legend_handles_labels()
    order = [names.index(n) for n in ("correct", "misformatted", "unparsed", "wrong")]
    fig.legend(
        [handles[i] for i in order],
        [names[i] for i in order],
        loc="outside lower center",
        ncol=4,
        fontsize=8,
        frameon=False,
    )
    return _png(fig)


def drop_plot(groups: Sequence[dict], threshold: float | None, title: str) -> str:
    """Each group's drop (points) with its interval, against the threshold (dashed)."""
    fig = _figure(7.5, max(1.8, 0.45 * len(groups) + 1.1))
    ax = fig.add_subplot()
    for y, g in enumerate(groups):
        colour = VERDICT_COLOURS.get(g.get("verdict", ""), "#555555")
        lo, hi = g.get("drop_interval") or (g["drop"], g["drop"])
        if g.get("decidable") is not False:  # bounds covering every possible drop are not drawn as a finding
            ax.plot([100 * lo, 100 * hi], [y, y], color=colour, linewidth=3, alpha=0.7)
        else:
            ax.annotate(
                "cannot decide at this size",
                (100 * g["drop"], y),
                xytext=(8, 6),
                textcoords="offset points",
                fontsize=8,
            )
        ax.plot([100 * g["drop"]], [y], "D", color=colour, markersize=6)
    if threshold is not None:
        ax.axvline(100 * threshold, color="#D62728", linestyle="--", linewidth=1, label="threshold")
        ax.legend(loc="lower right", fontsize=8, frameon=False)
    ax.axvline(0, color="#999999", linewidth=0.8)
    ax.set_yticks(range(len(groups)), [g["label"] for g in groups], fontsize=9)
    ax.set_ylim(-0.7, len(groups) - 0.3)
    ax.set_xlabel("accuracy drop vs reference (points), interval from the results file")
    ax.set_title(title, fontsize=10, loc="left")
    ax.grid(axis="x", alpha=0.3)
    return _png(fig)


def projection_plot(rep: dict, title: str) -> str:
    """Instructions in the 2-D projection, coloured by kind; a line joins each new one to its nearest observed."""
    rows = rep["instructions"]
    by_index = {r["index"]: r for r in rows}
    fig = _figure(5.6, 4.6)
    ax = fig.add_subplot()
    for r in rows:
        near = by_index.get(r.get("nearest_observed"))
        if near is not None:
            ax.plot([r["x"], near["x"]], [r["y"], near["y"]], color="#BBBBBB", linewidth=0.8, zorder=1)
    for kind, colour in KIND_COLOURS.items():
        pts = [r for r in rows if r["kind"] == kind]
        if pts:
            ax.scatter(
                [p["x"] for p in pts],
                [p["y"] for p in pts],
                color=colour,
                label=kind,
                s=42,
                zorder=2,
                marker="*" if kind == "reference" else "o",
            )
    for r in rows:
        ax.annotate(f"#{r['index']}", (r["x"], r["y"]), fontsize=7, xytext=(3, 3), textcoords="offset points")
    share = rep.get("explained_variance")
    method = rep.get("projection", "pca").upper()
    if share:
        ax.set_xlabel(f"{method} 1 ({100 * share[0]:.0f}% of variance)")
        ax.set_ylabel(f"{method} 2 ({100 * share[1]:.0f}%)")
    else:
        ax.set_xlabel(f"{method} 1")
        ax.set_ylabel(f"{method} 2")
    ax.legend(fontsize=8, frameon=False)
    ax.set_title(title, fontsize=10, loc="left")
    return _png(fig)


def distance_plot(rep: dict, title: str) -> str:
    """Distance to the nearest observed instruction against the accuracy drop, per new instruction."""
    rows = [r for r in rep["instructions"] if r.get("distance") is not None]
    fig = _figure(5.6, 4.6)
    ax = fig.add_subplot()
    for kind in ("unobserved", "generated"):
        pts = [r for r in rows if r["kind"] == kind]
        if pts:
            ax.scatter(
                [p["distance"] for p in pts], [100 * p["drop"] for p in pts], color=KIND_COLOURS[kind], label=kind, s=42
            )
    for r in rows:
        ax.annotate(
            f"#{r['index']}", (r["distance"], 100 * r["drop"]), fontsize=7, xytext=(3, 3), textcoords="offset points"
        )
    ax.axhline(0, color="#999999", linewidth=0.8)
    ax.set_xlabel(f"{rep.get('distance', 'cosine')} distance to nearest observed instruction")
    ax.set_ylabel("accuracy drop vs reference (points)")
    if rows:
        ax.legend(fontsize=8, frameon=False)
    ax.set_title(title, fontsize=10, loc="left")
    return _png(fig)


def before_after_plot(before: dict, after: dict, title: str) -> str:
    """Observed and held-out drops before and after a fix, with the held-out interval."""
    fig = _figure(6.0, 3.0)
    ax = fig.add_subplot()
    labels = ["observed drop", "held-out drop"]
    for offset, (name, m, colour) in enumerate([("before", before, "#999999"), ("after", after, "#1F77B4")]):
        ys = [i + (0.18 if offset == 0 else -0.18) for i in range(2)]
        ax.plot([100 * m["observed_drop"], 100 * m["heldout_drop"]], ys, "o", color=colour, label=name)
        lo, hi = m["heldout_drop_interval"]
        ax.plot([100 * lo, 100 * hi], [ys[1], ys[1]], color=colour, linewidth=3, alpha=0.6)
    ax.axvline(0, color="#999999", linewidth=0.8)
    ax.set_yticks([0, 1], labels)
    ax.set_xlabel("accuracy drop vs reference (points); bar: held-out interval")
    ax.legend(fontsize=8, frameon=False)
    ax.set_title(title, fontsize=10, loc="left")
    return _png(fig)


def change_plot(rows: Sequence[dict], title: str) -> str:
    """Per task, the change in drop between two releases with its paired interval (right = worse)."""
    fig = _figure(7.0, max(1.8, 0.45 * len(rows) + 1.1))
    ax = fig.add_subplot()
    for y, r in enumerate(rows):
        colour = VERDICT_COLOURS.get(r["verdict"], "#555555")
        lo, hi = r["interval"]
        ax.plot([100 * lo, 100 * hi], [y, y], color=colour, linewidth=3, alpha=0.7)
        ax.plot([100 * r["change"]], [y], "D", color=colour)
    ax.axvline(0, color="#999999", linewidth=0.8)
    ax.set_yticks(range(len(rows)), [r["task"] for r in rows])
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_xlabel("change in drop, new minus old (points); right of 0 = less robust")
    ax.set_title(title, fontsize=10, loc="left")
    ax.grid(axis="x", alpha=0.3)
    return _png(fig)
