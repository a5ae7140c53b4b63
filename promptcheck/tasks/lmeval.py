"""lm-evaluation-harness tasks as promptcheck tasks, built with lm-eval's own task machinery.

lm-eval's ``TaskManager`` finds the task config (its built-in tasks, or YAML files under an
``include_path``), loads its dataset, and its ``doc_to_text`` / ``doc_to_choice`` /
``doc_to_target`` turn each document into the item; nothing of a config is re-implemented here.
``output_type: multiple_choice`` tasks are scored as choices, ``generate_until`` tasks are
free-form (generated and matched as lm-eval does, :func:`_free_form`); others are refused in one line.

Prompts are lm-eval's own (zero-shot, chat template off): ``ConfigurableTask.fewshot_context``
gives ``description + doc_to_text`` (and a ``gen_prefix``), and each choice is scored as
``target_delimiter + choice`` (``construct_requests``). The task carries that layout
(:class:`~promptcheck.tasks.records.PromptLayout`), so promptcheck's reference prompt is
lm-eval's prompt, character for character, and a paraphrase replaces only the instruction part.

The reference instruction is the part of lm-eval's prompt that is instruction, not document:
1. the task's ``description`` (what lm-eval puts before every prompt), when it is the same for
   every document; otherwise
2. the text that every document's prompt starts with, cut at its last line break (a
   ``doc_to_text`` template such as ``"Answer with yes or no.\\n{{question}}"``: text from the
   template, not from a document, because it is identical for all of them); otherwise
3. promptcheck's standard multiple-choice instruction, put where lm-eval puts a description
   (before the prompt, then a blank line; the task's own prompt is all document).
The question is the rest of lm-eval's prompt, verbatim. ``lm-eval`` is an optional extra:
``pip install 'promptcheck[lm-eval]'``.

A task that cannot be loaded is refused in one line naming its YAML file, the line and field at
fault (``doc_to_choice``, ``dataset_kwargs.data_files``, ...) and what is wrong; the offline hint
is given only when the dataset was to come from the Hugging Face hub.
"""

from __future__ import annotations

import glob
import hashlib
import json
import logging
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

from promptcheck.errors import InputError
from promptcheck.tasks.items import make_gen_item, make_item
from promptcheck.tasks.matching import MatchSpec, from_lm_eval_filters
from promptcheck.tasks.records import GenerationSettings, Item, PromptLayout, Task
from promptcheck.tasks.sampling import collect
from promptcheck.tasks.targets import check_targets

INSTALL = "pip install 'promptcheck[lm-eval]'"
FALLBACK = "Answer the following multiple choice question."


def _task_manager(include_path: Sequence[str | os.PathLike[str]] | None) -> Any:
    for folder in include_path or ():
        if not Path(folder).is_dir():
            raise InputError(f"no such folder {str(folder)!r} of task YAML files", field="--lm-eval-include")
    try:
        from lm_eval.tasks import TaskManager
    except ImportError:
        raise InputError(f"lm-eval tasks need the lm-eval library: {INSTALL}", field="--lm-eval-task") from None
    # lm-eval logs some config faults as errors and fails just after; promptcheck explains the failure.
    for name in ("lm-eval", "lm_eval"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
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


class _Captured(logging.Handler):
    """The error records ``datasets`` logs while a task loads (a JSON parse error is logged, then
    re-raised as a bare DatasetGenerationError): kept for the one-line message, not printed."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


_CAPTURED: _Captured | None = None


@contextmanager
def _capturing_dataset_errors() -> Iterator[None]:
    global _CAPTURED
    logger = logging.getLogger("datasets")
    saved, _CAPTURED = logger.handlers[:], _Captured()
    logger.handlers = [_CAPTURED]
    try:
        yield
    finally:
        logger.handlers = saved


def _common_prefix(texts: list[str]) -> str:
    prefix = os.path.commonprefix(texts)
    cut = prefix.rfind("\n")
    return prefix[: cut + 1] if cut >= 0 else ""


def _instruction(descriptions: list[str], prompts: list[str]) -> tuple[str, str, bool]:
    """(reference instruction, the prefix of every prompt it stands for, whether that is the description).

    ``prompts`` are lm-eval's zero-shot contexts, ``descriptions`` each document's description.
    """
    if descriptions and len(set(descriptions)) == 1 and descriptions[0].strip():
        return descriptions[0].strip(), descriptions[0], True
    prefix = _common_prefix(prompts) if len(prompts) > 1 else ""
    if prefix.strip():
        return prefix.strip(), prefix, False
    return FALLBACK, "", False


def _layout(prefix: str, config: Any, *, system: bool) -> PromptLayout:
    """lm-eval's layout around the instruction ``prefix.strip()``: its whitespace, and the choice delimiters.

    ``system``: with a chat template, the instruction is a system turn (where lm-eval puts a
    description); otherwise it stays in the user turn (a prefix of ``doc_to_text``).
    """
    delimiter = config.target_delimiter if isinstance(config.target_delimiter, str) else " "
    gen_prefix = config.gen_prefix if isinstance(getattr(config, "gen_prefix", None), str) else ""
    # construct_requests: with a chat template the choice follows the assistant turn directly,
    # unless a gen_prefix not ending in whitespace is there.
    chat_delimiter = delimiter if gen_prefix and not gen_prefix[-1:].isspace() else ""
    core = prefix.strip()
    if not core:  # no instruction in lm-eval's prompt: promptcheck's goes where a description would
        return PromptLayout(separator="\n\n", delimiter=delimiter, chat_delimiter=chat_delimiter, system=True)
    start = prefix.index(core)
    return PromptLayout(
        before=prefix[:start],
        separator=prefix[start + len(core) :],
        delimiter=delimiter,
        chat_delimiter=chat_delimiter,
        system=system,
    )


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
        _check_fields(_yaml_path(tm, name), name)
        try:
            with _capturing_dataset_errors():
                loaded = tm.load([name])["tasks"]
        except Exception as exc:
            explained = _explain(exc, tm, name)
            if explained is not None:
                raise explained from None
            text = _one_line(exc)
            if isinstance(exc, KeyError) or "not found" in text.lower() or "unknown" in text.lower():
                broken = _broken_yaml(include_path, name)
                if broken is not None:  # lm-eval skips a YAML it cannot parse: its task is then "unknown"
                    raise broken from None
                raise InputError(
                    f"lm-eval has no task {name!r} ({text}); see `lm-eval ls tasks`, or pass the "
                    "folder of your own task YAML with --lm-eval-include",
                    field="--lm-eval-task",
                ) from None
            yaml = _yaml_path(tm, name)
            raise InputError(
                f"lm-eval task {name!r} cannot be loaded ({type(exc).__name__}: {text})",
                file=yaml,
                field=None if yaml else "--lm-eval-task",
            ) from None
        for task_name, lm_task in sorted(loaded.items()):
            try:
                yaml = _yaml_path(tm, task_name)
                out.append(_convert(task_name, lm_task, limit=limit, sample_seed=sample_seed, yaml=yaml))
            except _AtDocument as at:
                explained = _explain(at.error, tm, task_name, at=at, lm_task=lm_task) or InputError(
                    f"lm-eval task {task_name!r} fails on document {at.index} ({type(at.error).__name__}: "
                    f"{_one_line(at.error)})",
                    file=yaml,
                    field=None if yaml else "--lm-eval-task",
                )
                raise explained from None
    return out


class _AtDocument(Exception):
    """lm-eval failed on one document while promptcheck converted the task (carried to :func:`_explain`)."""

    def __init__(self, index: int, error: Exception, doc: Any, field: str | None) -> None:
        super().__init__(index, error)
        self.index = index
        self.error = error
        self.doc = doc
        self.field = field


def _each(docs: list[Any], fn: Any, field: str | None = None) -> list[Any]:
    """``fn`` (an lm-eval task method) on every document; a failure says which document (and
    ``field``, for what no lm-eval method of that name computes, as the description)."""
    out = []
    for n, doc in enumerate(docs):
        try:
            out.append(fn(doc))
        except Exception as exc:
            raise _AtDocument(n, exc, doc, field) from exc
    return out


def _convert(name: str, lm_task: Any, *, limit: int | None, sample_seed: int, yaml: Path | None = None) -> Task:
    def refuse(message: str, key: str) -> InputError:
        file, line = _locate(yaml, key)
        return InputError(message, file=file, line=line, field=key if file else "--lm-eval-task")

    output_type = getattr(lm_task, "OUTPUT_TYPE", None) or getattr(lm_task.config, "output_type", None)
    if output_type not in ("multiple_choice", "generate_until"):
        raise refuse(
            f"lm-eval task {name!r} has output_type {output_type!r}; promptcheck scores multiple_choice and "
            "generate_until tasks",
            "output_type",
        )
    if getattr(lm_task, "multiple_input", 0):
        raise refuse(
            f"lm-eval task {name!r} has several contexts per document (multiple_input); promptcheck "
            "scores one context with several choices",
            "doc_to_text",
        )
    docs = list(lm_task.eval_docs)
    if not docs:
        split = "test_split" if getattr(lm_task.config, "test_split", None) else "validation_split"
        raise refuse(f"lm-eval task {name!r} has no documents", split)
    texts = _each(docs, lm_task.doc_to_text)
    if not all(isinstance(t, str) for t in texts):
        raise refuse(f"lm-eval task {name!r}: doc_to_text does not give text", "doc_to_text")
    # lm-eval's zero-shot context, built by lm-eval itself (chat template off): description +
    # doc_to_text (+ gen_prefix). promptcheck scores zero-shot; a config's num_fewshot is not used.
    descriptions = [
        str(d or "") for d in _each(docs, lambda d: lm_task.resolve_field(d, lm_task.config.description), "description")
    ]
    contexts = _each(docs, lambda d: lm_task.fewshot_context(doc=d, num_fewshot=0, gen_prefix=lm_task.doc_to_prefix(d)))
    free = output_type == "generate_until"
    has_choices = getattr(lm_task.config, "doc_to_choice", None) is not None
    choices = _each(docs, lm_task.doc_to_choice) if has_choices else [None] * len(docs)
    targets = _each(docs, lm_task.doc_to_target)
    if free and has_choices:  # lm-eval's process_results: an index target names a choice's text
        targets = [c[t] if isinstance(t, int) and c and 0 <= t < len(c) else t for c, t in zip(choices, targets)]
    reference, prefix, is_description = _instruction(descriptions, contexts)
    if not all(c.startswith(prefix) for c in contexts):  # lm-eval's layout is not description + text
        raise refuse(f"lm-eval task {name!r}: its prompt does not start with its description", "description")
    layout = _layout(prefix, lm_task.config, system=is_description)
    where = f"lm-eval:{name}"

    def items() -> Iterator[Item]:
        for n, (context, options, target) in enumerate(zip(contexts, choices, targets)):
            try:
                if free:
                    yield make_gen_item(
                        None, context[len(prefix) :] or " ", target, file=where, line=None, field="answer"
                    )
                    continue
                yield make_item(
                    None,
                    context[len(prefix) :],
                    options,
                    _answers(target, list(options or []), name),
                    file=where,
                    line=None,
                    allow_empty_question=True,
                )
            except InputError as exc:  # an item check: said at the lm-eval field that gave the value
                part = exc.field or ""
                key = {"question": "doc_to_text", "choices": "doc_to_choice", "answer": "doc_to_target"}.get(
                    part.split("[")[0], "doc_to_text"
                )
                detail = f"{part}: " if part and part not in ("question", "choices", "answer") else ""
                raise refuse(f"lm-eval task {name!r}: document {n}: {detail}{exc.message}", key) from None

    got = collect(items(), where, limit=limit, seed=sample_seed)
    config = lm_task.config.to_dict() if hasattr(lm_task.config, "to_dict") else vars(lm_task.config)
    digest = hashlib.sha256(
        json.dumps([config, [it.id for it in got.items]], sort_keys=True, default=str).encode()
    ).hexdigest()
    task = Task(
        name=name,
        items=tuple(got.items),
        reference_instruction=reference,
        format="texts",
        source=where,
        source_hash=digest,
        limit=limit,
        sample_seed=sample_seed,
        population=got.population,
        layout=layout,
        **(_free_form(lm_task.config, refuse, name) if free else {}),
    )
    return check_targets(task)


#: lm-eval's exact_match options promptcheck's normalisers mirror (HF evaluate's exact_match).
_EXACT_MATCH_OPTIONS = {"ignore_case": "case", "ignore_punctuation": "punctuation"}


def _free_form(config: Any, refuse: Any, name: str) -> dict[str, Any]:
    """A generate_until task's generation and matching, as lm-eval generates and scores it.

    Generation: greedy, ``generation_kwargs.until`` as stop strings, ``max_gen_toks`` (lm-eval's
    default 256) as the token budget. Matching: the first of the task's ``filter_list`` pipelines
    (lm-eval reports each; promptcheck judges one: a task such as gsm8k's first is
    ``strict-match``), its ``exact_match`` metric with the ``ignore_case`` /
    ``ignore_punctuation`` it sets and nothing else (lm-eval compares the strings as they are).
    What is not mirrored is refused in one line: another metric, ``regexes_to_ignore``,
    ``ignore_numbers``, sampling.
    """
    kwargs = dict(getattr(config, "generation_kwargs", None) or {})
    if kwargs.get("do_sample"):
        raise refuse(
            f"lm-eval task {name!r} samples (do_sample); promptcheck generates greedily (same inputs, same answers)",
            "generation_kwargs",
        )
    until = kwargs.get("until") or []
    until = [until] if isinstance(until, str) else list(until)
    try:
        generation = GenerationSettings(max_new_tokens=int(kwargs.get("max_gen_toks", 256)), stop=tuple(until))
    except InputError as exc:
        raise refuse(f"lm-eval task {name!r}: {exc.field}: {exc.message}", "generation_kwargs") from None
    metrics = list(getattr(config, "metric_list", None) or [{"metric": "exact_match"}])
    scored = [m for m in metrics if isinstance(m, dict) and m.get("metric") == "exact_match"]
    if not scored:
        names = ", ".join(str(m.get("metric")) if isinstance(m, dict) else str(m) for m in metrics)
        raise refuse(
            f"lm-eval task {name!r} scores {names}; promptcheck judges a generate_until task by exact_match "
            "(the others are not mirrored)",
            "metric_list",
        )
    options = scored[0]
    for key in ("regexes_to_ignore", "ignore_numbers"):
        if options.get(key):
            raise refuse(
                f"lm-eval task {name!r}: exact_match's {key} is not mirrored; promptcheck refuses rather than "
                "score otherwise",
                "metric_list",
            )
    normalisers = tuple(ours for theirs, ours in _EXACT_MATCH_OPTIONS.items() if options.get(theirs))
    filters = getattr(config, "filter_list", None) or []
    try:
        first = filters[0].get("name") if filters and isinstance(filters[0], dict) else None
        matching = (
            from_lm_eval_filters(filters, name=first, normalisers=normalisers)
            if filters
            else MatchSpec(normalisers=normalisers, extractor="whole")
        )
    except InputError as exc:
        raise refuse(f"lm-eval task {name!r}: {exc}", "filter_list") from None
    return {"generation": generation, "matching": matching}


# -- load errors that say where ----------------------------------------------------------------

#: lm-eval's ``ConfigurableTask`` methods, by the YAML field whose value they apply.
_METHOD_FIELD = {
    "doc_to_text": "doc_to_text",
    "doc_to_choice": "doc_to_choice",
    "doc_to_target": "doc_to_target",
    "doc_to_prefix": "gen_prefix",
    "download": "dataset_path",
    "training_docs": "training_split",
    "validation_docs": "validation_split",
    "test_docs": "test_split",
}

#: Offline, this hint is right only when the dataset was to come from the hub.
OFFLINE_HINT = "offline, a dataset not in the cache cannot load: run once online or use local data_files"


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:240] or type(exc).__name__


def _short(value: Any, width: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def _yaml_path(tm: Any, name: str) -> Path | None:
    index = getattr(tm, "task_index", None) or {}
    entry = index.get(name) if hasattr(index, "get") else None
    path = entry.get("yaml_path") if isinstance(entry, dict) else getattr(entry, "yaml_path", None)
    return Path(path) if isinstance(path, (str, os.PathLike)) and str(path) not in ("", "-1") else None


def _locate(yaml: Path | None, key: str) -> tuple[Path | None, int | None]:
    """The file and line where ``key`` (its last dotted part) is set: the YAML, or a file it includes."""
    if yaml is None:
        return None, None
    pattern = re.compile(rf"^\s*{re.escape(key.rsplit('.', 1)[-1])}\s*:")
    seen: set[Path] = set()
    todo = [yaml]
    while todo:
        path = todo.pop(0)
        if path in seen or not path.is_file():
            continue
        seen.add(path)
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            continue
        for n, text in enumerate(lines, start=1):
            if pattern.match(text):
                return path, n
        for text in lines:
            m = re.match(r"^include\s*:\s*['\"]?([^'\"#]+?)['\"]?\s*(#.*)?$", text)
            if m:
                todo.append(path.parent / m.group(1).strip())
    return yaml, None


def _task_frame(exc: BaseException) -> tuple[Any, FrameType | None, str | None, bool]:
    """(the lm-eval task whose method failed, that method's frame, its field, whether it ran in __init__)."""
    try:
        from lm_eval.api.task import Task as LMTask
    except ImportError:  # pragma: no cover - lm-eval is there when its task failed
        return None, None, None, False
    task, frame, field, in_init = None, None, None, False
    tb = exc.__traceback__
    while tb is not None:
        f = tb.tb_frame
        owner = f.f_locals.get("self")
        if isinstance(owner, LMTask):
            task = owner
            if f.f_code.co_name == "__init__":
                in_init = True
            if f.f_code.co_name in _METHOD_FIELD:
                frame, field = f, _METHOD_FIELD[f.f_code.co_name]
        tb = tb.tb_next
    return task, frame, field, in_init


def _init_check(exc: BaseException) -> dict[str, Any]:
    """What lm-eval's task check computed for document 0 (``test_choice``, ``test_target`` in ``__init__``)."""
    tb, found = exc.__traceback__, {}
    while tb is not None:
        if tb.tb_frame.f_code.co_name == "__init__" and "test_choice" in tb.tb_frame.f_locals:
            found = dict(tb.tb_frame.f_locals)
        tb = tb.tb_next
    return found


def _explain(
    exc: BaseException, tm: Any, name: str, *, at: _AtDocument | None = None, lm_task: Any = None
) -> InputError | None:
    """One line for a task that failed to load (``tm.load``) or convert (``at`` a document of
    ``lm_task``), at its YAML file, line and field."""
    task, frame, field, in_init = _task_frame(exc)
    doc = frame.f_locals.get("doc") if frame is not None else None
    if at is not None and field is None and at.field is not None:
        task, field, doc = lm_task, at.field, at.doc
    doc_index = at.index if at is not None else None
    text = _one_line(exc)
    unknown = re.search(r"TaskConfig.*unexpected keyword argument '(\w+)'", text)
    if unknown:
        file, line = _locate(_yaml_path(tm, name), unknown.group(1))
        return InputError(
            f"lm-eval task {name!r}: unknown key (lm-eval's TaskConfig has no field {unknown.group(1)!r})",
            file=file,
            line=line,
            field=unknown.group(1),
        )
    if task is None:
        return None
    config = task.config
    task_name = str(getattr(config, "task", None) or name)
    yaml = _yaml_path(tm, task_name) or _yaml_path(tm, name)
    checked = _init_check(exc) if field is None and in_init else {}
    choices, target = checked.get("test_choice"), checked.get("test_target")
    if choices is not None and (not isinstance(choices, list) or not all(isinstance(c, str) for c in choices)):
        file, line = _locate(yaml, "doc_to_choice")
        return InputError(
            f"lm-eval task {task_name!r}: {_short(config.doc_to_choice)} gives {_short(choices)} for document 0; "
            "lm-eval needs a list of strings",
            file=file,
            line=line,
            field="doc_to_choice",
        )
    if isinstance(exc, IndexError) and isinstance(target, int) and isinstance(choices, list):
        file, line = _locate(yaml, "doc_to_target")
        return InputError(
            f"lm-eval task {task_name!r}: "
            + (f"{_short(config.doc_to_target)} " if isinstance(config.doc_to_target, str) else "")
            + f"gives {target} for document 0, not an index of its {len(choices)} choices",
            file=file,
            line=line,
            field="doc_to_target",
        )
    if field is None:
        return InputError(f"lm-eval task {task_name!r} cannot be loaded ({type(exc).__name__}: {text})", file=yaml)
    if field == "dataset_path":
        return _dataset_error(exc, task_name, config, yaml)
    if field.endswith("_split"):
        split = getattr(config, field, None)
        file, line = _locate(yaml, field)
        if isinstance(exc, KeyError):
            have = ", ".join(map(str, getattr(task, "dataset", {}) or {}))
            return InputError(
                f"lm-eval task {task_name!r}: the dataset has no split {split!r} (splits: {have})",
                file=file,
                line=line,
                field=field,
            )
        field = "process_docs"
    file, line = _locate(yaml, field)
    template = getattr(config, field, None)
    shown = _short(template) if isinstance(template, str) else "it"
    where = f"document {doc_index}" if doc_index is not None else "document 0" if in_init else "a document"
    fields = ", ".join(map(str, doc)) if isinstance(doc, dict) else ""
    message: str
    if type(exc).__name__ == "UndefinedError" or any(c.__module__.startswith("jinja2") for c in type(exc).__mro__):
        message = f"{shown} cannot be rendered for {where} ({text})" + (f"; its fields: {fields}" if fields else "")
    elif field == "doc_to_choice" and isinstance(exc, (SyntaxError, ValueError)) and isinstance(template, str):
        rendered = _render(template, doc)
        message = (
            f"{shown} renders {_short(rendered)} for {where}, not a list of choices (lm-eval reads the rendered "
            "text as a Python list): name a field holding a list, write a YAML list, or render a list literal"
        )
    else:
        message = f"{shown} fails for {where} ({type(exc).__name__}: {text})"
    return InputError(f"lm-eval task {task_name!r}: {message}", file=file, line=line, field=field)


def _render(template: str, doc: Any) -> str:
    try:
        from lm_eval import utils

        return str(utils.apply_template(template, doc))
    except Exception:  # the template rendered once in lm-eval; a second failure changes nothing said
        return "?"


def _data_file_paths(data_files: Any) -> list[str]:
    if isinstance(data_files, (str, os.PathLike)):
        return [str(data_files)]
    if isinstance(data_files, dict):
        return [p for v in data_files.values() for p in _data_file_paths(v)]
    if isinstance(data_files, (list, tuple)):
        return [p for v in data_files for p in _data_file_paths(v)]
    return []


def _exists(path: Path, pattern: bool) -> bool:
    """A data file is there (``pattern``: a glob, as ``datasets`` reads ``data/*.jsonl``)."""
    return bool(glob.glob(str(path))) if pattern else path.exists()


def _dataset_error(exc: BaseException, name: str, config: Any, yaml: Path | None) -> InputError:
    """A dataset that did not load: a missing local data file, a hub dataset offline, or bad data."""
    kwargs = config.dataset_kwargs if isinstance(config.dataset_kwargs, dict) else {}
    data_files = _data_file_paths(kwargs.get("data_files"))
    base = Path(str(kwargs["data_dir"])).expanduser() if kwargs.get("data_dir") else Path()
    text = f"{type(exc).__name__}: {_one_line(exc)}"
    for path in data_files:
        if "://" in path:
            continue
        tried = (base / Path(path).expanduser()).absolute()
        if _exists(tried, glob.has_magic(path)):
            continue
        beside = yaml.parent / path if yaml is not None and not Path(path).is_absolute() else None
        hint = (
            "; relative paths are read from the working directory, as lm-eval reads them"
            if not Path(path).expanduser().is_absolute()
            else ""
        )
        if beside is not None and _exists(beside, glob.has_magic(path)):
            hint += f" (the YAML's folder has {beside}: give that path)"
        file, line = _locate(yaml, "dataset_kwargs.data_files")
        return InputError(
            f"lm-eval task {name!r}: no file {path!r} (tried {tried}){hint}",
            file=file,
            line=line,
            field="dataset_kwargs.data_files",
        )
    path = str(config.dataset_path or "")
    remote = any("://" in p for p in data_files)
    logged = _CAPTURED.messages if _CAPTURED is not None else []
    if logged:  # what datasets said before its generic error
        text += f"; datasets logged: {' '.join(logged[-1].split())[:200]}"
    path_like = path.startswith(("/", "./", "../", "~")) or os.path.isabs(path)
    if path and not data_files and path_like and not Path(path).expanduser().exists():
        file, line = _locate(yaml, "dataset_path")
        tried = Path(path).expanduser().absolute()
        return InputError(
            f"lm-eval task {name!r}: no folder {path!r} (tried {tried}); relative paths are read from the "
            "working directory, as lm-eval reads them",
            file=file,
            line=line,
            field="dataset_path",
        )
    if _is_local(path, data_files, kwargs) and not remote:
        key = "dataset_kwargs.data_files" if data_files else "dataset_path"
        file, line = _locate(yaml, key)
        return InputError(
            f"lm-eval task {name!r}: the dataset cannot be loaded ({text})", file=file, line=line, field=key
        )
    file, line = _locate(yaml, "dataset_path")
    hint = f"; {OFFLINE_HINT}" if _offline(exc) else ""
    return InputError(
        f"lm-eval task {name!r}: dataset {path!r} cannot be loaded ({text}){hint}",
        file=file,
        line=line,
        field="dataset_path",
    )


def _load_task_yaml(text: str) -> Any:
    """A task YAML as data; lm-eval's own tags (``!function utils.process``) read as None, not refused."""
    import yaml

    class AnyTags(yaml.SafeLoader):
        pass

    AnyTags.add_multi_constructor("", lambda loader, suffix, node: None)
    return yaml.load(text, Loader=AnyTags)  # a SafeLoader: no object is built from a tag


#: lm-eval's output types (lm_eval.api.task: ALL_OUTPUT_TYPES).
OUTPUT_TYPES = ("loglikelihood", "multiple_choice", "loglikelihood_rolling", "generate_until")


def _check_fields(yaml_path: Path | None, name: str) -> None:
    """Fields lm-eval would fail on with an error of its own insides (a typo'd ``output_type``, a
    ``target_delimiter`` that is not text): one line at the field, before lm-eval loads anything."""
    if yaml_path is None:
        return
    import difflib

    import yaml

    try:
        doc = _load_task_yaml(yaml_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return  # lm-eval reports these itself (or _broken_yaml does)
    if not isinstance(doc, dict):
        return
    output_type = doc.get("output_type")
    if "output_type" in doc and output_type not in OUTPUT_TYPES:
        close = difflib.get_close_matches(str(output_type), OUTPUT_TYPES, n=1)
        file, line = _locate(yaml_path, "output_type")
        raise InputError(
            f"lm-eval task {name!r}: unknown output_type {output_type!r}"
            + (f" (did you mean {close[0]!r}?)" if close else f"; lm-eval knows {', '.join(OUTPUT_TYPES)}"),
            file=file,
            line=line,
            field="output_type",
        )
    if "target_delimiter" in doc and not isinstance(doc["target_delimiter"], str):
        file, line = _locate(yaml_path, "target_delimiter")
        raise InputError(
            f"lm-eval task {name!r}: target_delimiter must be text (what goes between the prompt and each "
            f'choice, e.g. " "), got {doc["target_delimiter"]!r}',
            file=file,
            line=line,
            field="target_delimiter",
        )


def _broken_yaml(include_path: Sequence[str | os.PathLike[str]] | None, name: str) -> InputError | None:
    """A task YAML under ``include_path`` that names task ``name`` but does not parse, as a one-line
    error at its line (an unrelated broken file is not blamed for a mistyped task name)."""
    import yaml

    for folder in include_path or ():
        for path in sorted(Path(folder).rglob("*.y*ml")):
            try:
                text = path.read_text(encoding="utf-8")
                if not re.search(rf"^\s*-?\s*task:\s*['\"]?{re.escape(name)}['\"]?\s*$", text, re.MULTILINE):
                    continue  # a file that does not name the task is not blamed for it
                _load_task_yaml(text)
            except yaml.YAMLError as exc:
                mark = getattr(exc, "problem_mark", None)
                problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
                return InputError(
                    f"not valid YAML ({problem}), so lm-eval skips this file and knows none of its tasks",
                    file=path,
                    line=mark.line + 1 if mark is not None else None,
                )
            except (OSError, UnicodeDecodeError):
                continue
    return None


def _offline(exc: BaseException) -> bool:
    """Whether a hub dataset failed for want of a connection (not a typo'd name or a gated repo online)."""
    if any(
        os.environ.get(v, "").strip().lower() in ("1", "true", "yes") for v in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")
    ):
        return True
    seen: BaseException | None = exc
    for _ in range(10):  # the exception and what it was raised from
        if seen is None:
            break
        words = f"{type(seen).__name__} {seen}".lower()
        if any(w in words for w in ("connection", "offline", "timeout", "timed out", "name resolution", "unreachable")):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _is_local(dataset_path: str, data_files: list[str], kwargs: dict[str, Any]) -> bool:
    """Whether ``datasets.load_dataset`` reads only local files (no hub download was attempted)."""
    try:
        from datasets.packaged_modules import _PACKAGED_DATASETS_MODULES as builders
    except ImportError:  # pragma: no cover - datasets is there when lm-eval is
        builders = {}
    if dataset_path in builders:  # json, csv, parquet, ...: a builder that reads the files it is given
        return True
    # A path (absolute, ./, ../, ~) is local whether or not it exists: a hub id is "owner/name".
    if dataset_path.startswith(("/", "./", "../", "~", ".\\")) or os.path.isabs(dataset_path):
        return True
    return bool(dataset_path) and Path(dataset_path).expanduser().exists()
