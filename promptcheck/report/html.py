"""The HTML report: one self-contained file (inline CSS, PNG plots as data URIs, no scripts).

Three documents render: a run (``promptcheck run --json``), a pytest gate (the plugin's
``--promptcheck-json``), and a fix (``fix_report.json``, as a before/after page); a release
comparison renders through :func:`render_compare`. Every number shown is read from the file;
this module only arranges them. jinja2 autoescaping is on, because instruction texts come from
users: ``<script>`` in an instruction is shown as text, never run.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from promptcheck.report import plots
from promptcheck.report.terminal import baselines, describe_budget

GROUP_LABELS = {"all": "all compared", "observed": "observed", "unobserved": "unobserved", "generated": "generated"}
N_WORST = 5
N_FLIPS = 8
#: Free-form tasks: how many items are shown with every instruction's answer.
N_EXAMPLES = 3
PART_LABELS = {"form": "form (misformatted or unparsed)", "content": "content (wrong answers)"}


def _pts(x: float) -> str:
    """Points with a sign; a bootstrap's -1e-16 shows as +0.0, not -0.0."""
    v = round(100 * x, 1)
    return f"{v if v != 0 else 0.0:+.1f}"


def _env() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("promptcheck.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pts"] = lambda x: "–" if x is None or (isinstance(x, float) and math.isnan(x)) else _pts(x)
    env.filters["acc"] = lambda x: "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.3f}"
    env.filters["iv"] = lambda iv: "–" if not iv else f"[{_pts(iv[0])}, {_pts(iv[1])}]"
    env.filters["iv_acc"] = lambda iv: "–" if not iv else f"[{iv[0]:.3f}, {iv[1]:.3f}]"
    env.filters["num"] = lambda x, d=3: "–" if x is None else f"{x:.{d}f}"
    return env


def document_kind(doc: dict[str, Any]) -> str:
    """run, pytest or fix: what the document says it is (:func:`promptcheck.report.documents.kind_of`)."""
    from promptcheck.report.documents import kind_of

    return kind_of(doc)


def _task_view(
    name: str,
    subtitle: str,
    instructions: list[dict],
    reference_accuracy: float,
    n_items: int,
    groups: list[dict],
    threshold: float | None,
    verdict: str | None,
    flips: list[dict],
    headline: dict | None,
    representations: dict | None,
    model_id: str = "",
    free_form: dict[str, Any] | None = None,
    per_item: int | None = None,
) -> dict[str, Any]:
    compared = [i for i in instructions if i["kind"] != "reference"]
    worst = sorted(compared, key=lambda i: (i["accuracy"], i["index"]))[:N_WORST]
    view = {
        "name": name,
        "subtitle": subtitle,
        "instructions": instructions,
        "reference_accuracy": reference_accuracy,
        "n_items": n_items,
        "groups": groups,
        "threshold": threshold,
        "verdict": verdict or "not judged",
        "worst": worst,
        "flips": flips,
        "headline": headline,
        "representations": representations,
        "n_compared": len(compared),
        "model_id": model_id,
        "free_form": free_form,
        # an incomplete design: compared instructions per item (the size column says "n × m (k/item)")
        "per_item": per_item,
    }
    view["accuracy_png"] = plots.accuracy_plot(
        instructions, reference_accuracy, f"{name}: accuracy per instruction ({n_items} items)"
    )
    view["drop_png"] = plots.drop_plot(groups, threshold, f"{name}: drop under paraphrase") if groups else None
    if free_form:
        view["outcome_png"] = plots.outcome_plot(instructions, f"{name}: answers per instruction ({n_items} items)")
    if representations:
        layer = representations.get("layer")
        view["projection_png"] = plots.projection_plot(representations, f"{name}: instructions at layer {layer}")
        view["distance_png"] = plots.distance_plot(representations, f"{name}: distance vs drop")
    return view


def _top_flips(ids: list[str], counts: list[int], n_compared: int, answers: list[Any] | None = None) -> list[dict]:
    rows: list[dict[str, Any]] = [
        {"id": i, "flips": c, "of": n_compared, "answer": answers[n] if answers else None}
        for n, (i, c) in enumerate(zip(ids, counts))
    ]
    rows = [r for r in rows if r["flips"] > 0]
    rows.sort(key=lambda r: (-r["flips"], r["id"]))
    return rows[:N_FLIPS]


def _is_free_form(instructions: list[dict]) -> bool:
    """A free-form task's document gives every instruction its misformatted and unparsed rates."""
    return any("misformatted_rate" in i for i in instructions)


def _free_form_view(
    instructions: list[dict],
    parts: dict | None,
    examples: list[dict],
    *,
    has_outputs: bool,
    matching: str | None = None,
) -> dict[str, Any] | None:
    """What a free-form task adds to its section, as the document holds it (None: multiple-choice).

    ``parts``: the drop's ``drop_parts`` ({form, content}, each with drop, interval and
    bound_confidence); ``examples``: items as :func:`_examples` arranges them."""
    if not _is_free_form(instructions):
        return None
    return {
        "parts": [{"label": PART_LABELS[k], **parts[k]} for k in ("form", "content") if k in parts] if parts else [],
        "form_only": [i for i in instructions if i.get("form_only")],
        # Whether the document says which instructions break only the form (a gate record written
        # before the plugin added the flags does not): "none does" is said only when it does.
        "form_only_known": any("form_only" in i for i in instructions),
        "examples": examples,
        "has_outputs": has_outputs,
        "matching": matching,
    }


def _examples(
    ids: list[str],
    instructions: list[dict],
    outcomes: list[list[str]],
    targets: list[list[str]] | None = None,
    outputs: list[list[str | None]] | None = None,
    extracted: list[list[str | None]] | None = None,
) -> list[dict[str, Any]]:
    """A few items to read, with every instruction's outcome (and, from a run document, the target,
    what the model wrote and what was read from it). ``outcomes[n][j]``: item n under instructions[j].

    Picked, not computed: the items whose instructions reach the most different outcomes, in file order."""
    # Cells an incomplete design did not score (null) are neither shown nor counted.
    order = sorted(range(len(ids)), key=lambda n: (-len({o for o in outcomes[n] if o is not None}), n))[:N_EXAMPLES]
    out = []
    for n in order:
        rows = [
            {
                "index": ins["index"],
                "kind": ins["kind"],
                "outcome": outcome,
                "output": outputs[n][j] if outputs else None,
                "extracted": extracted[n][j] if extracted else None,
            }
            for j, (ins, outcome) in enumerate(zip(instructions, outcomes[n]))
            if outcome is not None
        ]
        out.append({"id": ids[n], "targets": targets[n] if targets else None, "rows": rows})
    return out


def _run_views(doc: dict[str, Any]) -> list[dict[str, Any]]:
    views = []
    model_id = (doc.get("model") or {}).get("id", "")
    for t in doc["tasks"]:
        groups = []
        rob = t.get("robustness")
        if rob:
            groups.append({"label": GROUP_LABELS["all"], **rob})
        for s in t.get("sets", []):
            if "drop_interval" in s:
                groups.append({**s, "label": GROUP_LABELS.get(s["kind"], s["kind"])})
        compared = sum(1 for i in t["instructions"] if i["kind"] != "reference")
        items = t.get("items") or []
        has_outputs = bool(items) and all(k in items[0] for k in ("outputs", "extracted", "targets"))
        free_form = _free_form_view(
            t["instructions"],
            (rob or {}).get("drop_parts"),
            _examples(
                [it["id"] for it in items],
                t["instructions"],
                [it["outcomes"] for it in items],
                [it["targets"] for it in items] if has_outputs else None,
                [it["outputs"] for it in items] if has_outputs else None,
                [it["extracted"] for it in items] if has_outputs else None,
            )
            if items and "outcomes" in items[0]
            else [],
            has_outputs=has_outputs,
            matching=t.get("matching"),
        )
        flips = (
            _top_flips(
                [it["id"] for it in t["items"]],
                [it.get("flips", 0) for it in t["items"]],
                # an incomplete design scores K compared instructions per item: flips are out of K
                (t.get("design") or {}).get("instructions_per_item") or compared,
                [
                    " | ".join(it.get("targets", [])) if free_form else it.get("answers", it.get("answer"))
                    for it in t["items"]
                ],
            )
            if t.get("items") and "flips" in t["items"][0]
            else []
        )
        views.append(
            _task_view(
                t["name"],
                " · ".join(
                    filter(
                        None,
                        [
                            t.get("source") or "",
                            baselines(t["chance_accuracy"], t.get("guessing_accuracy", t["chance_accuracy"]))
                            if isinstance(t.get("chance_accuracy"), (int, float))
                            else "",
                            describe_budget(t["budget"]) if t.get("budget") else "",
                        ],
                    )
                ),
                t["instructions"],
                t["reference_accuracy"],
                t["n_items"],
                groups,
                rob["threshold"] if rob else None,
                rob["verdict"] if rob else None,
                flips,
                rob,
                t.get("representations"),
                model_id,
                free_form,
                per_item=(t.get("design") or {}).get("instructions_per_item"),
            )
        )
    return views


def _pytest_views(doc: dict[str, Any]) -> list[dict[str, Any]]:
    views = []
    for r in doc["tests"]:
        ev = r.get("evidence") or {}
        instructions = ev.get("instructions") or [
            {"index": n, "text": w["text"], "kind": w["kind"], "edits": [], "accuracy": w["accuracy"]}
            for n, w in enumerate(r.get("worst_instructions", []), start=1)
        ]
        headline = {
            "label": f"{GROUP_LABELS['all']} ({r['claim']})",
            "drop": r["drop"],
            "drop_interval": r["interval"],
            "decidable": (r.get("judgment") or {}).get("decidable", True),
            "verdict": r["verdict"],
            "threshold": r["threshold"],
            "claim": r["claim"],
            "confidence": r["confidence"],
            # the one-sided level of the look that gave the verdict (sequential, a budget's rounds)
            "bound_confidence": (r.get("judgment") or {}).get("bound_confidence", r["confidence"]),
            "spread_sd": r.get("spread_sd"),
            "spread_range": r.get("spread_range"),
            "consistency": r.get("consistency"),
            "n_instructions": r["instructions"],
        }
        flips = _top_flips(
            ev.get("item_ids", []),
            ev.get("flips", []),
            (r.get("design") or {}).get("instructions_per_item") or r["instructions"],
        )
        # The gate's record keeps each cell's outcome, not what the model wrote (promptcheck run --json does).
        rows = ev.get("outcomes") or []
        free_form = _free_form_view(
            instructions,
            r.get("drop_parts"),
            _examples(ev.get("item_ids", []), instructions, [list(cells) for cells in zip(*rows)])
            if rows and ev.get("item_ids")
            else [],
            has_outputs=False,
        )
        views.append(
            _task_view(
                r["task"],
                " · ".join(filter(None, [r["test"], describe_budget(r["budget"]) if r.get("budget") else ""])),
                instructions,
                r["reference_accuracy"],
                r["items"],
                [headline],
                r["threshold"],
                r["verdict"],
                flips,
                headline,
                None,
                (r.get("model") or {}).get("id", ""),
                free_form,
                per_item=(r.get("design") or {}).get("instructions_per_item"),
            )
        )
    return views


def render_report(doc: dict[str, Any], *, source: str = "") -> str:
    """The HTML text for a results document (run, pytest gate or fix report)."""
    kind = document_kind(doc)
    if kind not in ("run", "pytest", "fix"):
        from promptcheck.errors import InputError

        raise InputError(f"a {kind} document has no report; promptcheck report reads run, pytest and fix documents")
    env = _env()
    if kind == "fix":
        tasks = []
        for t in doc["tasks"]:
            tasks.append(
                {**t, "png": plots.before_after_plot(t["before"], t["after"], f"{t['name']}: before and after")}
            )
        return env.get_template("fix.html.j2").render(
            doc=doc, tasks=tasks, source=source, title="promptcheck fix: before and after"
        )
    views = _run_views(doc) if kind == "run" else _pytest_views(doc)
    title = "promptcheck report" if kind == "run" else "promptcheck gate report"
    return env.get_template("report.html.j2").render(doc=doc, kind=kind, views=views, source=source, title=title)


def render_compare(
    changes: list[Any], missing: list[str], old_doc: dict, new_doc: dict, *, old: str = "", new: str = ""
) -> str:
    """The HTML text of a release comparison (rows from :func:`promptcheck.report.compare.compare_evidence`)."""
    rows = [c.to_json() for c in changes]
    png = plots.change_plot(rows, "change in drop per task (paired interval)") if rows else None
    return (
        _env()
        .get_template("compare.html.j2")
        .render(
            rows=rows,
            missing=missing,
            png=png,
            old=old,
            new=new,
            old_doc=old_doc,
            new_doc=new_doc,
            title="promptcheck compare",
        )
    )


def write_report(doc: dict[str, Any], out: Path, *, source: str = "") -> Path:
    """Render and write atomically; returns ``out``."""
    from promptcheck.fileio import atomic_write_text

    atomic_write_text(Path(out), render_report(doc, source=source))
    return Path(out)
