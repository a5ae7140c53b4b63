"""Suite files (YAML) and :func:`load_task`, the one entry point for reading a task.

A suite names a task, its items file, its reference instruction and its instruction sets;
see docs/suite-format.md. Everything but ``name``, ``items`` and ``reference_instruction`` is
optional. Unknown keys are errors, so a typo such as ``refrence_instruction`` cannot silently
fall back to a default.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from promptcheck.errors import InputError
from promptcheck.tasks.bigbench import TASK_FILE, BigbenchSource, load_source, usable
from promptcheck.tasks.bigbench import sources as bigbench_sources
from promptcheck.tasks.items import (
    ITEM_SUFFIXES,
    check_text,
    check_unique_ids,
    collect_items,
    file_bytes,
    item_from_mapping,
    read_text,
    short,
    type_name,
    yaml_hint,
)
from promptcheck.tasks.matching import MatchSpec
from promptcheck.tasks.records import (
    ANSWER_FORMATS,
    INPUT_SLOT,
    LENGTH_NORMS,
    TASK_KINDS,
    GenerationSettings,
    GenItem,
    Item,
    Task,
)
from promptcheck.tasks.sampling import check_limit, collect
from promptcheck.tasks.targets import check_targets
from promptcheck.tasks.yamlio import LineDict, LineList, load_yaml

SUITE_SUFFIXES = (".yaml", ".yml")

#: The reference instruction used when an items file is loaded without a suite.
DEFAULT_REFERENCE = {
    "mcqa": "Answer the following multiple choice question.",
    "classification": "Classify the following text.",
    "yesno": "Answer the following question with yes or no.",
    "nli": "Does the premise entail the hypothesis?",
}

#: The reference instruction of a free-form items file loaded without a suite.
FREE_FORM_REFERENCE = "Answer the following question."

SUITE_KEYS = {
    "name": "task name (required)",
    "items": "items file or BIG-bench task folder, relative to the suite file, a list of items, or a dataset "
    "mapping (required)",
    "reference_instruction": "the instruction the others are compared with (required)",
    "instructions": "observed / unobserved instruction lists",
    "format": "letters or texts",
    "kind": "mcqa, classification, yesno or nli",
    "length_norm": "none, tokens or chars",
    "show_choices": "list the choices in the prompt (texts format)",
    "generation": "free-form items: how answers are written (max_new_tokens, stop)",
    "matching": "free-form items: how answers are matched (normalisers, extractor, pattern, metric; docs/matching.md)",
    "limit": "score a seeded sample of this many items",
    "instructions_per_item": "an incomplete design: score each item under the reference and this many of the "
    "compared instructions (docs/statistics.md, 'Incomplete designs')",
    "lm_eval_task": "an lm-evaluation-harness task whose items to use (instead of items)",
    "lm_eval_include": "folder of your own lm-eval task YAML files, relative to the suite file",
    "description": "free text, for people",
}


def _sha256(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()


def _resolve_inside(base: Path, rel: str, *, allow_outside: bool, file: Path, line: int | None) -> Path:
    """Resolve ``rel`` against the suite's folder; refuse paths that leave it unless allowed."""
    if "\0" in rel:
        raise InputError("path contains a NUL character", file=file, line=line, field="items")
    target = (base / os.path.expanduser(rel)) if not os.path.isabs(rel) else Path(rel)
    if not allow_outside:
        try:
            # resolve() follows symlinks: a link inside the folder pointing outside is outside.
            root = base.resolve()
            resolved = target.resolve()
        except (OSError, RuntimeError) as exc:  # a symlink loop
            raise InputError(
                f"cannot resolve path {rel!r}: {getattr(exc, 'strerror', None) or exc}",
                file=file,
                line=line,
                field="items",
            ) from None
        if resolved != root and root not in resolved.parents:
            raise InputError(
                f"path {rel!r} leaves the suite's folder; pass allow_outside=True (--allow-outside-paths) to permit it",
                file=file,
                line=line,
                field="items",
            )
    return target


def _string(value: Any, *, file: Path | None, line: int | None, field: str) -> str:
    if not isinstance(value, str):
        raise InputError(
            f"must be a string, got {type_name(value)}{yaml_hint(value)}", file=file, line=line, field=field
        )
    if not value.strip():
        raise InputError("is empty", file=file, line=line, field=field)
    return check_text(value, lambda msg: InputError(msg, file=file, line=line, field=field))


def _instruction(value: Any, *, file: Path | None, line: int | None, field: str) -> str:
    text = _string(value, file=file, line=line, field=field)
    if INPUT_SLOT in text and not text.replace(INPUT_SLOT, "").strip():
        raise InputError(
            f"is only {INPUT_SLOT}; an instruction needs words besides where the input goes",
            file=file,
            line=line,
            field=field,
        )
    return text


def _choice(value: Any, allowed: Sequence[str], *, file: Path, line: int | None, field: str) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise InputError(f"must be one of {', '.join(allowed)}, got {short(value)}", file=file, line=line, field=field)
    return value


def _instruction_list(value: Any, *, file: Path, line: int | None, field: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise InputError(f"must be a list of strings, got {type_name(value)}", file=file, line=line, field=field)
    lines = getattr(value, "lines", [line] * len(value))
    return tuple(
        _instruction(v, file=file, line=ln, field=f"{field}[{i}]") for i, (v, ln) in enumerate(zip(value, lines))
    )


def _checked_instruction_sets(doc: LineDict, path: Path, reference: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A suite's observed and unobserved instructions, none repeating another or the reference."""
    observed, unobserved = _instruction_sets(doc, path)
    bare = isinstance(doc.get("instructions"), list)  # a bare list: its items are instructions[i]
    _check_duplicates(
        [("reference_instruction", reference)]
        + [(f"instructions.observed[{i}]", t) for i, t in enumerate(observed)]
        + [(f"instructions[{i}]" if bare else f"instructions.unobserved[{i}]", t) for i, t in enumerate(unobserved)],
        path,
        doc,
    )
    return observed, unobserved


def _instruction_sets(doc: LineDict, file: Path) -> tuple[tuple[str, ...], tuple[str, ...]]:
    value = doc.get("instructions")
    line = doc.lines.get("instructions")
    if value is None:
        return (), ()
    if isinstance(value, list):
        # A bare list has no observed/unobserved split: treat all as new phrasings.
        return (), _instruction_list(value, file=file, line=line, field="instructions")
    if not isinstance(value, LineDict):
        raise InputError(
            f"must be a mapping with 'observed' and/or 'unobserved' lists, got {type_name(value)}",
            file=file,
            line=line,
            field="instructions",
        )
    for key in value:
        if key not in ("observed", "unobserved"):
            raise InputError(
                "unknown instruction set; expected 'observed' or 'unobserved'",
                file=file,
                line=value.lines.get(key, line),
                field=f"instructions.{key}",
            )
    sets = []
    for key in ("observed", "unobserved"):
        sets.append(
            _instruction_list(value.get(key), file=file, line=value.lines.get(key, line), field=f"instructions.{key}")
        )
    return sets[0], sets[1]


def _line_of(doc: LineDict, field: str) -> int | None:
    """The line of ``field`` (``instructions.unobserved[3]``) in ``doc``: the deepest part that has one."""
    node: Any = doc
    line = None
    for part in re.findall(r"[^.\[\]]+", field):
        if isinstance(node, LineDict) and part in node:
            line, node = node.lines.get(part, line), node[part]
        elif isinstance(node, LineList) and part.isdigit() and int(part) < len(node):
            line, node = node.lines[int(part)], node[int(part)]
        else:
            break
    return line


def _check_duplicates(texts: list[tuple[str, str]], file: Path, doc: LineDict) -> None:
    seen: dict[str, str] = {}
    for field, text in texts:
        key = text.strip()
        if key in seen:
            raise InputError(
                f"duplicate instruction (same text as {seen[key]})", file=file, line=_line_of(doc, field), field=field
            )
        seen[key] = field


def _inline_items(value: LineList, file: Path) -> list[Item]:
    items: list[Item] = []
    for i, (obj, line) in enumerate(zip(value, value.lines)):
        if not isinstance(obj, dict):
            raise InputError("each item must be a mapping", file=file, line=line, field=f"items[{i}]")
        items.append(item_from_mapping(obj, file=file, line=line, prefix=f"items[{i}]."))
    check_unique_ids(items, file)
    return items


def _instructions_per_item(doc: LineDict, path: Path) -> int | None:
    """The suite's ``instructions_per_item:`` (None: not given), or a one-line error at its line."""
    from promptcheck.options import instructions_per_item_problem

    value = doc.get("instructions_per_item")
    if value is None:
        return None
    problem = instructions_per_item_problem(value)
    if problem:
        raise InputError(problem, file=path, line=doc.lines.get("instructions_per_item"), field="instructions_per_item")
    return int(value)


def suite_instructions_per_item(source: str | os.PathLike[str]) -> tuple[int, int | None] | None:
    """A suite file's ``instructions_per_item:`` and its line, or None (not a suite file, or no key).

    The key belongs to the suite, not to its :class:`Task` record: ``promptcheck run`` and
    :func:`promptcheck.assert_robust` read it here, from the file the task was loaded from
    (checked when it loaded), when no option gives the design.
    """
    path = Path(source)
    if path.suffix.lower() not in SUITE_SUFFIXES or not path.is_file():
        return None
    doc = load_yaml(path, read_text(path))
    if not isinstance(doc, LineDict):
        return None
    value = _instructions_per_item(doc, path)
    return None if value is None else (value, doc.lines.get("instructions_per_item"))


def load_suite(path: Path, *, allow_outside: bool = False, limit: int | None = None, sample_seed: int = 0) -> Task:
    """Read a suite YAML file and the items it names into a validated :class:`Task`.

    ``limit`` (the CLI's ``--limit``) overrides the suite's own ``limit:``.
    """
    text = read_text(path)
    if not text.strip():
        raise InputError("is empty; a suite needs name, items and reference_instruction", file=path)
    doc = load_yaml(path, text)
    if not isinstance(doc, LineDict):  # every YAML mapping loads as one
        raise InputError(
            f"a suite file must be a YAML mapping (key: value lines), got {type_name(doc)}",
            file=path,
            line=getattr(doc, "line", 1) or 1,
        )
    for key in doc:
        if key not in SUITE_KEYS:
            raise InputError(
                f"unknown key; expected one of {', '.join(SUITE_KEYS)}",
                file=path,
                line=doc.lines.get(key),
                field=str(key),
            )
    _instructions_per_item(doc, path)  # checked with the rest of the file; read by suite_instructions_per_item
    if doc.get("lm_eval_task") is not None:
        return _lm_eval_suite(path, doc, allow_outside=allow_outside, limit=limit, sample_seed=sample_seed)
    for key in ("name", "items", "reference_instruction"):
        if key not in doc or doc[key] is None:
            raise InputError("missing required key", file=path, line=doc.line or 1, field=key)
    name = _string(doc["name"], file=path, line=doc.lines["name"], field="name")
    reference = _instruction(
        doc["reference_instruction"], file=path, line=doc.lines["reference_instruction"], field="reference_instruction"
    )
    observed, unobserved = _checked_instruction_sets(doc, path, reference)
    kind = _choice(doc.get("kind", "mcqa"), TASK_KINDS, file=path, line=doc.lines.get("kind"), field="kind")
    fmt = _choice(doc.get("format", "texts"), ANSWER_FORMATS, file=path, line=doc.lines.get("format"), field="format")
    norm = _choice(
        doc.get("length_norm", "none"), LENGTH_NORMS, file=path, line=doc.lines.get("length_norm"), field="length_norm"
    )
    if "description" in doc and doc["description"] is not None and not isinstance(doc["description"], str):
        raise InputError(
            f"must be text, got {type_name(doc['description'])}",
            file=path,
            line=doc.lines.get("description"),
            field="description",
        )
    show = doc.get("show_choices", False)
    if not isinstance(show, bool):
        raise InputError("must be true or false", file=path, line=doc.lines.get("show_choices"), field="show_choices")
    own_limit = check_limit(doc.get("limit"), file=path, line=doc.lines.get("limit"))
    limit = limit if limit is not None else own_limit
    population = 0

    items_value = doc["items"]
    items_line = doc.lines["items"]
    meta: dict[str, Any] = {}  # a BIG-bench task's own metadata
    hashed = [text.encode("utf-8")]
    if isinstance(items_value, LineList):  # every YAML list loads as one
        got = collect(_inline_items(items_value, path), path, limit=limit, seed=sample_seed)
        items, population = got.items, got.population
    elif isinstance(items_value, dict):
        from promptcheck.tasks import hfdata

        spec = hfdata.check_spec(items_value, file=path, line=items_line)
        paths = (
            [
                _resolve_inside(path.parent, f, allow_outside=allow_outside, file=path, line=items_line)
                for f in spec["files"]
            ]
            if "files" in spec
            else None
        )
        ds = hfdata.load_dataset(spec, paths, file=path, line=items_line)
        got = hfdata.dataset_items(ds, spec, file=path, line=items_line, limit=limit, seed=sample_seed)
        items, population = got.items, got.population
        hashed.append(hfdata.fingerprint(ds, spec))
    else:
        rel = _string(items_value, file=path, line=items_line, field="items")
        items_path = _resolve_inside(path.parent, rel, allow_outside=allow_outside, file=path, line=items_line)
        if os.path.abspath(items_path) == os.path.abspath(path):
            raise InputError(
                "names the suite file itself; items go in a .jsonl, .csv or .json file",
                file=path,
                line=items_line,
                field="items",
            )
        if (items_path.is_dir() and items_path.suffix.lower() not in ITEM_SUFFIXES) or items_path.name == TASK_FILE:
            # A BIG-bench task folder; a parent's subtasks are pooled (a suite is one task).
            srcs = bigbench_sources(items_path, pool=True)
            items, meta = load_source(srcs[0], limit=limit, seed=sample_seed)
            population = meta["promptcheck"]["population"]
            hashed += [file_bytes(f) for f in srcs[0].files]
        elif items_path.suffix.lower() not in ITEM_SUFFIXES:
            raise InputError(
                f"unknown items file type {items_path.suffix!r}; expected one of {', '.join(ITEM_SUFFIXES)}",
                file=path,
                line=items_line,
                field="items",
            )
        else:
            try:
                got = collect_items(items_path, limit=limit, seed=sample_seed)
            except InputError as exc:
                if exc.message == "file not found" and exc.line is None:
                    # Say where the name came from: the suite line is what the user edits.
                    raise InputError(
                        f"items file not found: {items_path}", file=path, line=items_line, field="items"
                    ) from None
                raise
            items, population = got.items, got.population
            hashed.append(file_bytes(items_path))
    if not items:
        raise InputError("the suite has no items", file=path, line=items_line, field="items")
    generation, matching = free_form_settings(doc, path, items)
    if generation is not None and meta:  # a BIG-bench task's stop_string / output_regex, unless the suite says
        own_generation, own_matching = free_form_defaults(meta)
        generation = generation if "generation" in doc else own_generation
        matching = matching if "matching" in doc else own_matching
    for key in ("show_choices", "length_norm"):
        if generation is not None and key in doc:
            raise InputError(
                "applies to choices; free-form items have none (the model writes its answer): leave it out",
                file=path,
                line=doc.lines[key],
                field=key,
            )
    if generation is not None and "format" in doc and fmt != "texts":
        raise InputError(
            "free-form items have no choices to letter; leave format out",
            file=path,
            line=doc.lines["format"],
            field="format",
        )
    task = Task(
        name=name,
        items=tuple(items),
        reference_instruction=reference,
        observed=observed,
        unobserved=unobserved,
        format=fmt,  # type: ignore[arg-type]
        kind=kind,  # type: ignore[arg-type]
        length_norm=norm,  # type: ignore[arg-type]
        show_choices=show,
        source=str(path),
        source_hash=_sha256(*hashed),
        limit=limit,
        sample_seed=sample_seed,
        population=population,
        generation=generation,
        matching=matching,
    )
    return check_targets(task)


def free_form_settings(
    doc: LineDict, path: Path, items: Sequence[Item]
) -> tuple[GenerationSettings | None, MatchSpec | None]:
    """A suite's ``generation:`` and ``matching:`` blocks: checked, and only for free-form items.

    Free-form items with neither get the defaults (32 tokens, no stop; the default matching
    rule). Either block over multiple-choice items is refused: it would silently do nothing.
    """
    free = bool(items) and isinstance(items[0], GenItem)
    out: list[Any] = []
    for key in ("generation", "matching"):
        value, line = doc.get(key), doc.lines.get(key)
        if value is None:
            out.append(None)
            continue
        if not free:
            raise InputError(
                "applies to free-form items (targets, no choices); this suite's items are multiple-choice",
                file=path,
                line=line,
                field=key,
            )
        if not isinstance(value, dict):
            raise InputError(f"must be a mapping, got {type_name(value)}", file=path, line=line, field=key)
        try:
            if key == "generation":
                unknown = sorted(set(value) - {"max_new_tokens", "stop"})
                if unknown:
                    raise InputError(f"unknown key {unknown[0]!r}; expected max_new_tokens, stop", field=unknown[0])
                out.append(GenerationSettings(**value))
            else:
                out.append(MatchSpec.from_mapping(value, source=str(path), line=line))
        except InputError as exc:
            at = value.lines.get(exc.field) if isinstance(value, LineDict) and exc.field else None
            raise InputError(
                exc.message, file=path, line=at or exc.line or line, field=f"{key}.{exc.field}" if exc.field else key
            ) from None
    generation, matching = out
    if free and generation is None:
        generation = GenerationSettings()
    return generation, matching


def free_form_defaults(meta: dict[str, Any]) -> tuple[GenerationSettings, MatchSpec | None]:
    """A free-form BIG-bench task's own settings: ``stop_string`` ends an answer, ``output_regex``
    reads it (BIG-bench's json_task post-processing; a pattern without a group is read whole)."""
    stop = meta.get("stop_string")
    generation = GenerationSettings(stop=(stop,)) if isinstance(stop, str) and stop else GenerationSettings()
    pattern = meta.get("output_regex")
    if not isinstance(pattern, str) or not pattern:
        return generation, None
    try:
        grouped = pattern if re.compile(pattern).groups else f"({pattern})"
    except re.error as exc:
        raise InputError(f"does not compile: {exc}", field="output_regex") from None
    return generation, MatchSpec.from_mapping({"pattern": grouped})


def _lm_eval_suite(path: Path, doc: LineDict, *, allow_outside: bool, limit: int | None, sample_seed: int) -> Task:
    """A suite naming an lm-eval task: its items and (unless the suite gives one) its reference instruction."""
    import dataclasses

    from promptcheck.tasks.lmeval import load_lm_eval_tasks

    if doc.get("items") is not None:
        raise InputError("give items or lm_eval_task, not both", file=path, line=doc.lines.get("items"), field="items")
    name = _string(doc.get("name"), file=path, line=doc.lines.get("name", doc.line), field="name")
    task_name = _string(doc["lm_eval_task"], file=path, line=doc.lines["lm_eval_task"], field="lm_eval_task")
    include = None
    if doc.get("lm_eval_include") is not None:
        rel = _string(doc["lm_eval_include"], file=path, line=doc.lines["lm_eval_include"], field="lm_eval_include")
        include = [
            _resolve_inside(path.parent, rel, allow_outside=allow_outside, file=path, line=doc.lines["lm_eval_include"])
        ]
    own_limit = check_limit(doc.get("limit"), file=path, line=doc.lines.get("limit"))
    try:
        found = load_lm_eval_tasks(
            [task_name], include_path=include, limit=limit if limit is not None else own_limit, sample_seed=sample_seed
        )
    except InputError as exc:
        if exc.file is not None:  # located in the lm-eval task's own YAML: that place is the one to fix
            raise
        raise InputError(exc.message, file=path, line=doc.lines["lm_eval_task"], field="lm_eval_task") from None
    if len(found) != 1:
        raise InputError(
            f"names {len(found)} lm-eval tasks (a group or tag); a suite is one task: name one of "
            f"{', '.join(t.name for t in found[:8])}",
            file=path,
            line=doc.lines["lm_eval_task"],
            field="lm_eval_task",
        )
    task = found[0]
    reference = task.reference_instruction
    if doc.get("reference_instruction") is not None:
        reference = _instruction(
            doc["reference_instruction"],
            file=path,
            line=doc.lines["reference_instruction"],
            field="reference_instruction",
        )
    observed, unobserved = _checked_instruction_sets(doc, path, reference)
    show = doc.get("show_choices", False)
    if not isinstance(show, bool):
        raise InputError("must be true or false", file=path, line=doc.lines.get("show_choices"), field="show_choices")
    return dataclasses.replace(
        task,
        name=name,
        reference_instruction=reference,
        observed=observed,
        unobserved=unobserved,
        show_choices=show,
        source=str(path),
        source_hash=_sha256(read_text(path).encode(), task.source_hash.encode()),
    )


def load_task(
    path: str | os.PathLike[str],
    *,
    name: str | None = None,
    reference_instruction: str | None = None,
    observed: Sequence[str] = (),
    unobserved: Sequence[str] = (),
    format: str | None = None,
    kind: str = "mcqa",
    length_norm: str = "none",
    allow_outside: bool = False,
    limit: int | None = None,
    sample_seed: int = 0,
    pool_subtasks: bool = False,
) -> Task:
    """Load a task from a suite YAML file, or from an items file or BIG-bench task folder plus options.

    A ``.yaml``/``.yml`` path is a suite file and carries its own options (passing any here is
    an error, so nothing is silently ignored). A ``.jsonl``, MMLU ``.csv`` or BIG-bench ``.json``
    path (or a BIG-bench task folder) is an items file; the options fill in what a suite would
    say, with defaults: the file's stem (a BIG-bench task's folder name) as name, the BIG-bench
    ``task_prefix`` or a standard reference instruction for ``kind`` as reference, ``letters``
    format for MMLU CSV and ``texts`` otherwise.

    ``limit``: score a seeded sample of that many items (:mod:`promptcheck.tasks.sampling`;
    for a suite it overrides the suite's ``limit:``). A BIG-bench parent task (subtasks in
    sub-folders) is one task only with ``pool_subtasks=True``; :func:`load_tasks` loads each
    subtask as its own task.

    >>> task = load_task("examples/suites/capitals.yaml")          # doctest: +SKIP
    >>> task = load_task("mmlu/astronomy_test.csv", name="astronomy")  # doctest: +SKIP
    >>> task = load_task("bigbench/vitaminc_fact_verification", limit=100)  # doctest: +SKIP
    """
    p = Path(path)
    limit = check_limit(limit)
    suffix = p.suffix.lower()
    if suffix in SUITE_SUFFIXES:
        given = dict(name=name, reference_instruction=reference_instruction, format=format)
        extra = (
            [k for k, v in given.items() if v is not None]
            + (["observed"] if observed else [])
            + (["unobserved"] if unobserved else [])
        )
        if extra:
            raise InputError(f"options {', '.join(extra)} cannot override a suite file; edit the suite", file=p)
        return load_suite(p, allow_outside=allow_outside, limit=limit, sample_seed=sample_seed)
    is_bigbench = suffix == ".json" or p.is_dir()
    if not is_bigbench and suffix not in ITEM_SUFFIXES:
        raise InputError(
            f"unknown file type {suffix!r}; expected a suite ({', '.join(SUITE_SUFFIXES)}) or an items file "
            f"({', '.join(ITEM_SUFFIXES)}, or a BIG-bench task folder)",
            file=p,
        )
    src = None
    if is_bigbench:
        srcs = usable(bigbench_sources(p, pool=pool_subtasks), p)
        if len(srcs) > 1:
            names = ", ".join(s.name.split("/", 1)[1] for s in srcs)
            raise InputError(
                f"is a BIG-bench task with {len(srcs)} subtasks ({names}): name one subtask's folder, "
                "pool them (pool_subtasks=True, --pool-subtasks), or load each with load_tasks()",
                file=p,
            )
        src = srcs[0]
    return _items_task(
        p,
        src,
        name=name,
        reference_instruction=reference_instruction,
        observed=observed,
        unobserved=unobserved,
        format=format,
        kind=kind,
        length_norm=length_norm,
        limit=limit,
        sample_seed=sample_seed,
    )


def _items_task(
    p: Path,
    src: BigbenchSource | None,
    *,
    name: str | None,
    reference_instruction: str | None,
    observed: Sequence[str],
    unobserved: Sequence[str],
    format: str | None,
    kind: str,
    length_norm: str,
    limit: int | None,
    sample_seed: int,
) -> Task:
    """A task from an items file (``src`` None) or a BIG-bench source, options filling in the rest."""
    if kind not in TASK_KINDS:
        raise InputError(f"must be one of {', '.join(TASK_KINDS)}, got {kind!r}", field="kind")
    if reference_instruction is not None:
        _string(reference_instruction, file=p, line=None, field="reference_instruction")
    # A bare string is one instruction, not a list of characters.
    observed = _instruction_list(
        [observed] if isinstance(observed, str) else list(observed), file=p, line=None, field="observed"
    )
    unobserved = _instruction_list(
        [unobserved] if isinstance(unobserved, str) else list(unobserved), file=p, line=None, field="unobserved"
    )
    meta: dict[str, Any] = {}
    if src is not None:
        items, meta = load_source(src, limit=limit, seed=sample_seed)
        population = meta["promptcheck"]["population"]
        files = src.files
    else:
        got = collect_items(p, limit=limit, seed=sample_seed)
        items, population, files = got.items, got.population, (p,)
    if not items:
        raise InputError("has no items", file=p)
    fmt = format or ("letters" if p.suffix.lower() == ".csv" else "texts")
    if fmt not in ANSWER_FORMATS:
        raise InputError(f"must be one of {', '.join(ANSWER_FORMATS)}, got {fmt!r}", field="format")
    if length_norm not in LENGTH_NORMS:
        raise InputError(f"must be one of {', '.join(LENGTH_NORMS)}, got {length_norm!r}", field="length_norm")
    free = isinstance(items[0], GenItem)
    prefix = meta.get("task_prefix")
    reference = (
        reference_instruction
        or (prefix.strip() if isinstance(prefix, str) and prefix.strip() else None)
        or (FREE_FORM_REFERENCE if free else DEFAULT_REFERENCE[kind])
    )
    dup = LineDict()
    dup.lines = {}
    _check_duplicates(
        [("reference_instruction", reference)]
        + [(f"observed[{i}]", t) for i, t in enumerate(observed)]
        + [(f"unobserved[{i}]", t) for i, t in enumerate(unobserved)],
        p,
        dup,
    )
    # BIG-bench lists the choices after the input unless the task says not to (append_choices_to_input).
    show = meta.get("append_choices_to_input", True) is not False if src is not None else False
    task = Task(
        name=name or _bigbench_name(src, meta) or p.stem,
        items=tuple(items),
        reference_instruction=reference,
        observed=tuple(observed),
        unobserved=tuple(unobserved),
        format=fmt,  # type: ignore[arg-type]
        kind=kind,  # type: ignore[arg-type]
        length_norm=length_norm,  # type: ignore[arg-type]
        show_choices=show,
        source=str(p),
        source_hash=_sha256(*(file_bytes(f) for f in files)),
        limit=limit,
        sample_seed=sample_seed,
        population=population,
        generation=free_form_defaults(meta)[0] if free else None,
        matching=free_form_defaults(meta)[1] if free else None,
    )
    return check_targets(task)


def _bigbench_name(src: BigbenchSource | None, meta: dict[str, Any]) -> str | None:
    """A task folder's name (``parent/subtask`` for a subtask); a loose ``x.json`` file's ``name`` field."""
    if src is None:
        return None
    if (
        src.files[0].name != TASK_FILE
        and len(src.files) == 1
        and isinstance(meta.get("name"), str)
        and meta["name"].strip()
    ):
        return meta["name"]
    return src.name


def expand(path: str | os.PathLike[str], *, pool_subtasks: bool = False) -> list[tuple[str, Path]]:
    """What one command-line path stands for: ``[(task name or "", path)]``, one per BIG-bench subtask."""
    p = Path(path)
    if p.suffix.lower() in SUITE_SUFFIXES or not (p.is_dir() or p.suffix.lower() == ".json"):
        return [("", p)]
    srcs = usable(bigbench_sources(p, pool=pool_subtasks), p)
    if len(srcs) == 1 and pool_subtasks:
        # One pooled source of several subtask folders: the parent is the task (load_task pools it
        # again); its first subtask's folder would silently score that subtask alone.
        return [("", p)]
    if len(srcs) == 1:
        return [
            ("", p)
            if srcs[0].files[0].parent == p or srcs[0].files[0] == p
            else (srcs[0].name, srcs[0].files[0].parent)
        ]
    return [(s.name, s.files[0].parent) for s in srcs]


def load_tasks(
    paths: Sequence[str | os.PathLike[str]],
    *,
    allow_outside: bool = False,
    limit: int | None = None,
    sample_seed: int = 0,
    pool_subtasks: bool = False,
) -> list[Task]:
    """Load several suites for one run; two tasks with the same name would be mixed up in results.

    A BIG-bench parent task loads as one task per subtask (named ``parent/subtask``), or as
    one pooled task with ``pool_subtasks``.
    """
    tasks: list[Task] = []
    seen: dict[str, str] = {}
    for path in paths:
        for sub_name, p in expand(path, pool_subtasks=pool_subtasks):
            task = load_task(
                p,
                allow_outside=allow_outside,
                limit=limit,
                sample_seed=sample_seed,
                pool_subtasks=pool_subtasks,
                **({"name": sub_name} if sub_name else {}),
            )
            if task.name in seen:
                raise InputError(
                    f"task name {task.name!r} is also the name of the task in {seen[task.name]}; "
                    "names must be unique in one run",
                    file=p,
                    field="name",
                )
            seen[task.name] = str(p)
            tasks.append(task)
    return tasks
