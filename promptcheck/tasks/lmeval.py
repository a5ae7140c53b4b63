"""lm-evaluation-harness tasks as promptcheck tasks, built with lm-eval's own task machinery.

lm-eval's ``TaskManager`` finds the task config (its built-in tasks, or YAML files under an
``include_path``), loads its dataset, and its ``doc_to_text`` / ``doc_to_choice`` /
``doc_to_target`` turn each document into the item; nothing of a config is re-implemented here.
Only ``output_type: multiple_choice`` tasks can be scored as choices; others are refused in one line.

The reference instruction is the part of lm-eval's prompt that is instruction, not document:
1. the task's ``description`` (what lm-eval puts before every prompt), when it is the same for
   every document; otherwise
2. the text that ``doc_to_text`` puts before *every* document, cut at its last line break (a
   template such as ``"Answer with yes or no.\\n{{question}}"``: text from the template, not from
   a document, because it is identical for all of them); otherwise
3. promptcheck's standard multiple-choice instruction (and the task's prompt is all document).
The question is what ``doc_to_text`` gives after that prefix. ``lm-eval`` is an optional extra:
``pip install 'promptcheck[lm-eval]'``.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Sequence
from typing import Any

from promptcheck.errors import InputError
from promptcheck.tasks.items import make_item
from promptcheck.tasks.records import MCItem, Task
from promptcheck.tasks.sampling import collect

INSTALL = "pip install 'promptcheck[lm-eval]'"
FALLBACK = "Answer the following multiple choice question."


def _task_manager(include_path: Sequence[str | os.PathLike[str]] | None) -> Any:
    try:
        import logging

        from lm_eval.tasks import TaskManager
    except ImportError:
        raise InputError(f"lm-eval tasks need the lm-eval library: {INSTALL}", field="--lm-eval-task") from None
    for name in ("lm-eval", "lm_eval"):
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        import datasets

        datasets.utils.logging.disable_progress_bar()
        datasets.utils.logging.set_verbosity_error()
    except ImportError:
        pass
    # With an include path, only those configs are indexed: scanning lm-eval's thousands of built-in
    # YAML files takes tens of seconds and is not needed for a task of one's own.
    return TaskManager(
        include_path=[str(p) for p in include_path] if include_path else None, include_defaults=not include_path
    )


def _common_prefix(texts: list[str]) -> str:
    prefix = os.path.commonprefix(texts)
    cut = prefix.rfind("\n")
    return prefix[: cut + 1] if cut >= 0 else ""


def _instruction(lm_task: Any, docs: list[Any], texts: list[str]) -> tuple[str, str]:
    """(reference instruction, the prefix of doc_to_text to strip from each question)."""
    description = getattr(lm_task.config, "description", None) or ""
    if description:
        resolved = {
            str(lm_task.resolve_field(d, description) if hasattr(lm_task, "resolve_field") else description)
            for d in docs[:50]
        }
        if len(resolved) == 1 and next(iter(resolved)).strip():
            return next(iter(resolved)).strip(), ""
    prefix = _common_prefix(texts) if len(texts) > 1 else ""
    if prefix.strip():
        return prefix.strip(), prefix
    return FALLBACK, ""


def _answers(target: Any, choices: list[str], name: str) -> Any:
    """lm-eval's target (an index, a choice's text, or a list of either) as promptcheck's answer."""
    if isinstance(target, str) and target in choices:
        return choices.index(target)
    return target


def load_lm_eval_tasks(
    names: Sequence[str],
    *,
    include_path: Sequence[str | os.PathLike[str]] | None = None,
    limit: int | None = None,
    sample_seed: int = 0,
) -> list[Task]:
    """One promptcheck task per lm-eval leaf task that ``names`` (tasks, groups or tags) stand for."""
    tm = _task_manager(include_path)
    out: list[Task] = []
    for name in names:
        try:
            loaded = tm.load([name])["tasks"]
        except Exception as exc:
            text = " ".join(str(exc).split())[:240]
            if isinstance(exc, KeyError) or "not found" in text.lower() or "unknown" in text.lower():
                raise InputError(
                    f"lm-eval has no task {name!r} ({text}); see `lm-eval ls tasks`, or pass the "
                    "folder of your own task YAML with --lm-eval-include",
                    field="--lm-eval-task",
                ) from None
            raise InputError(
                f"lm-eval task {name!r} cannot be loaded ({type(exc).__name__}: {text}); offline, a "
                "task whose dataset is not cached cannot load: run once online or use local data_files",
                field="--lm-eval-task",
            ) from None
        for task_name, lm_task in sorted(loaded.items()):
            out.append(_convert(task_name, lm_task, limit=limit, sample_seed=sample_seed))
    return out


def _convert(name: str, lm_task: Any, *, limit: int | None, sample_seed: int) -> Task:
    output_type = getattr(lm_task, "OUTPUT_TYPE", None) or getattr(lm_task.config, "output_type", None)
    if output_type != "multiple_choice":
        raise InputError(
            f"lm-eval task {name!r} has output_type {output_type!r}; promptcheck scores multiple_choice tasks only",
            field="--lm-eval-task",
        )
    if getattr(lm_task, "multiple_input", 0):
        raise InputError(
            f"lm-eval task {name!r} has several contexts per document (multiple_input); promptcheck "
            "scores one context with several choices",
            field="--lm-eval-task",
        )
    docs = list(lm_task.eval_docs)
    if not docs:
        raise InputError(f"lm-eval task {name!r} has no documents", field="--lm-eval-task")
    texts = [lm_task.doc_to_text(d) for d in docs]
    if not all(isinstance(t, str) for t in texts):
        raise InputError(f"lm-eval task {name!r}: doc_to_text does not give text", field="--lm-eval-task")
    reference, prefix = _instruction(lm_task, docs, texts)
    where = f"lm-eval:{name}"

    def items() -> Iterator[MCItem]:
        for n, (doc, text) in enumerate(zip(docs, texts)):
            choices = lm_task.doc_to_choice(doc)
            target = lm_task.doc_to_target(doc)
            question = text[len(prefix) :] if prefix and text.startswith(prefix) else text
            yield make_item(
                None,
                question,
                choices,
                _answers(target, list(choices or []), name),
                file=where,
                line=None,
                prefix=f"doc {n}: ",
                allow_empty_question=True,
            )

    got = collect(items(), where, limit=limit, seed=sample_seed)
    config = lm_task.config.to_dict() if hasattr(lm_task.config, "to_dict") else vars(lm_task.config)
    digest = hashlib.sha256(
        json.dumps([config, [it.id for it in got.items]], sort_keys=True, default=str).encode()
    ).hexdigest()
    return Task(
        name=name,
        items=tuple(got.items),
        reference_instruction=reference,
        format="texts",
        source=where,
        source_hash=digest,
        limit=limit,
        sample_seed=sample_seed,
        population=got.population,
    )
