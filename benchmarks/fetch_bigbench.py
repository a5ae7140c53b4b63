"""Copy BIG-bench task folders from a copy of BIG-bench you have into ``benchmarks/data/bigbench/``.

The registry no longer serves BIG-bench's task data: since 2026-12-07 ``pip download bigbench==1.0.0``
finds only ``bigbench==0.0.1``, which holds no tasks. So the data comes from where you have it, given
as the first argument, one of:

- a checkout of the BIG-bench repository (``git clone https://github.com/google/BIG-bench``), whose
  tasks are ``bigbench/benchmark_tasks/<task>/task.json``, or that ``benchmark_tasks`` folder itself;
- a copy of the ``bigbench-1.0.0.tar.gz`` sdist (tasks under ``bigbench-1.0.0/bigbench/benchmark_tasks/``),
  or another .tar(.gz) or .zip holding a ``benchmark_tasks`` folder (GitHub's archive of the repository).

Of each task asked for, ``task.json`` and ``README.md`` are copied, and the same of each subtask folder
(a sub-folder with its own ``task.json``), into ``benchmarks/data/bigbench/<task>/`` (gitignored; never
committed). Programmatic tasks (``task.py`` and no ``task.json``) cannot be read by promptcheck: naming
one is an error, ``--all`` skips them. Task folders already in the destination are kept (``--force``
copies them again). Anything missing is reported in one line, exit status 2.

    python benchmarks/fetch_bigbench.py ~/BIG-bench                      # the 24 BIG-bench Lite tasks
    python benchmarks/fetch_bigbench.py ~/bigbench-1.0.0.tar.gz hindu_knowledge emoji_movie --dest /tmp/bb
    python benchmarks/fetch_bigbench.py ~/BIG-bench/bigbench/benchmark_tasks --all   # every JSON task
"""

from __future__ import annotations

import argparse
import difflib
import functools
import os
import shutil
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

PROG = "fetch_bigbench.py"
ROOT = Path(__file__).resolve().parent
DEFAULT_DEST = ROOT / "data" / "bigbench"
TASKS_DIR = "benchmark_tasks"
TASK_FILE = "task.json"
KEEP = (TASK_FILE, "README.md")  # what is copied of a task folder and of each of its subtask folders
GIVE = "pass a checkout of github.com/google/BIG-bench or a copy of bigbench-1.0.0.tar.gz as the first argument"

#: BIG-bench Lite (BBL24), as listed in the BIG-bench paper.
BBL = (
    "auto_debugging",
    "bbq_lite_json",
    "code_line_description",
    "conceptual_combinations",
    "conlang_translation",
    "emoji_movie",
    "formal_fallacies_syllogisms_negation",
    "hindu_knowledge",
    "known_unknowns",
    "language_identification",
    "linguistics_puzzles",
    "logic_grid_puzzle",
    "logical_deduction",
    "misconceptions_russian",
    "novel_concepts",
    "operators",
    "parsinlu_reading_comprehension",
    "play_dialog_same_or_different",
    "repeat_copy_logic",
    "strange_stories",
    "strategyqa",
    "symbol_interpretation",
    "vitaminc_fact_verification",
    "winowhy",
)

Entry = tuple[tuple[str, ...], Callable[[], IO[bytes] | None]]  # a file's path under benchmark_tasks, its opener


class Missing(Exception):
    """What is missing and what to pass instead: printed as one line, exit status 2."""


@dataclass
class Seen:
    """What the source holds of one task folder."""

    json: bool = False  # <task>/task.json
    py: bool = False  # <task>/task.py
    subs: set[str] = field(default_factory=set)  # subtask folders with a task.json

    @property
    def usable(self) -> bool:
        return self.json or bool(self.subs)


def _parts(name: str) -> tuple[str, ...] | None:
    parts = tuple(p for p in name.split("/") if p not in ("", "."))
    return None if ".." in parts else parts


def _prefix(names: Iterator[str]) -> tuple[str, ...] | None:
    """The path of the first ``benchmark_tasks`` folder (with something in it) among archive member names."""
    for name in names:
        parts = _parts(name)
        if parts and TASKS_DIR in parts[:-1]:
            return parts[: parts.index(TASKS_DIR) + 1]
    return None


def _open(path: Path) -> IO[bytes]:
    return path.open("rb")


class Source:
    """A BIG-bench copy: a folder (checkout, extracted sdist or ``benchmark_tasks``), or a tar or zip archive."""

    def __init__(self, path: Path) -> None:
        self.path = path
        if not path.exists():
            hint = " (task names come after it)" if "/" not in str(path) and not path.suffix else ""
            raise Missing(f"{path}: no such file or folder: {GIVE}{hint}")
        if path.is_dir():
            self.kind = "dir"
            self.root = self._tasks_root(path)
            self.label = str(self.root)
            return
        if tarfile.is_tarfile(path):
            self.kind = "tar"
            with tarfile.open(path) as tar:
                prefix = _prefix(m.name for m in tar)
        elif zipfile.is_zipfile(path):
            self.kind = "zip"
            with zipfile.ZipFile(path) as zf:
                prefix = _prefix(iter(zf.namelist()))
        else:
            raise Missing(f"{path} is neither a folder nor a .tar.gz or .zip archive: {GIVE}")
        if prefix is None:
            raise Missing(f"{path} holds no {TASKS_DIR} folder: {GIVE}")
        self.prefix = prefix
        self.label = f"{path}:{'/'.join(prefix)}"

    @staticmethod
    def _tasks_root(path: Path) -> Path:
        if (path / TASK_FILE).is_file() or (path / "task.py").is_file():
            raise Missing(f"{path} is one task's folder: pass the {TASKS_DIR} folder that holds it ({path.parent})")
        for cand in (path / "bigbench" / TASKS_DIR, path / TASKS_DIR):
            if cand.is_dir():
                return cand
        if path.name == TASKS_DIR or any(
            (d / TASK_FILE).is_file() or (d / "task.py").is_file() for d in path.iterdir() if d.is_dir()
        ):
            return path
        raise Missing(
            f"{path} has no bigbench/{TASKS_DIR} folder: pass a checkout of github.com/google/BIG-bench (or its "
            f"bigbench/{TASKS_DIR} folder) or a copy of bigbench-1.0.0.tar.gz as the first argument"
        )

    def entries(self) -> Iterator[Entry]:
        """Every file under ``benchmark_tasks/<task>/`` (two levels deep for a folder), with an opener that is
        valid until the next entry."""
        if self.kind == "dir":
            for task in sorted(p for p in self.root.iterdir() if p.is_dir()):
                for f in sorted(task.iterdir()):
                    if f.is_file():
                        yield (task.name, f.name), functools.partial(_open, f)
                    elif f.is_dir():
                        for g in sorted(p for p in f.iterdir() if p.is_file()):
                            yield (task.name, f.name, g.name), functools.partial(_open, g)
            return
        n = len(self.prefix)
        if self.kind == "tar":
            with tarfile.open(self.path) as tar:
                for m in tar:
                    parts = _parts(m.name) if m.isfile() else None
                    if parts and parts[:n] == self.prefix and len(parts) > n + 1:
                        yield parts[n:], functools.partial(tar.extractfile, m)
        else:
            with zipfile.ZipFile(self.path) as zf:
                for info in zf.infolist():
                    parts = None if info.is_dir() else _parts(info.filename)
                    if parts and parts[:n] == self.prefix and len(parts) > n + 1:
                        yield parts[n:], functools.partial(zf.open, info)


def present(folder: Path) -> bool:
    """A task folder with a task.json, or with subtask folders that have one."""
    return folder.is_dir() and (
        (folder / TASK_FILE).is_file() or any((d / TASK_FILE).is_file() for d in folder.iterdir() if d.is_dir())
    )


def stage(source: Source, wanted: set[str] | None, into: Path) -> dict[str, Seen]:
    """Copy what is kept of the wanted tasks (all when None) into ``into``; what the source holds of each task."""
    seen: dict[str, Seen] = {}
    for parts, opener in source.entries():
        task, name = parts[0], parts[-1]
        s = seen.setdefault(task, Seen())
        if len(parts) == 2:
            s.json |= name == TASK_FILE
            s.py |= name == "task.py"
        elif len(parts) == 3 and name == TASK_FILE:
            s.subs.add(parts[1])
        if len(parts) > 3 or name not in KEEP or (wanted is not None and task not in wanted):
            continue
        target = into.joinpath(*parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        src = opener()
        if src is None:
            continue
        with src, open(target, "wb") as out:
            shutil.copyfileobj(src, out)
    for folder in (p for p in into.iterdir() if p.is_dir()):  # a README.md in results/ etc.: not a subtask
        for d in folder.iterdir():
            if d.is_dir() and not (d / TASK_FILE).is_file():
                shutil.rmtree(d)
    return seen


def check(tasks: list[str], seen: dict[str, Seen], label: str) -> None:
    """One line naming the tasks asked for that the source does not have as JSON tasks."""
    have = sorted(t for t, s in seen.items() if s.usable)
    absent = [t for t in tasks if t not in seen]
    programmatic = [t for t in tasks if t in seen and not seen[t].usable]
    problems = []
    if absent:
        names = []
        for t in absent:
            close = difflib.get_close_matches(t, have, n=1)
            names.append(f"{t} (did you mean {close[0]}?)" if close else t)
        problems.append(
            f"not in {label}: {', '.join(names)}: name tasks it has ({len(have)} with a {TASK_FILE}), "
            "or pass a copy of BIG-bench that has them"
        )
    if programmatic:
        problems.append(
            f"programmatic only in {label} (task.py, no {TASK_FILE}; promptcheck reads {TASK_FILE} files): "
            f"{', '.join(programmatic)}: name JSON tasks instead"
        )
    if problems:
        raise Missing("; ".join(problems))


def fetch(source: Source, tasks: list[str] | None, dest: Path, force: bool = False) -> tuple[list[str], list[str]]:
    """Copy the tasks (every JSON task when None) into ``dest``: (copied, already there)."""
    there = sorted({t for t in (tasks or []) if not force and present(dest / t)})
    if tasks is not None and set(there) == set(tasks):
        return [], there
    created = not dest.exists()
    dest.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=dest, prefix=".fetch-"))
    try:
        todo = None if tasks is None else [t for t in dict.fromkeys(tasks) if t not in there]
        seen = stage(source, None if todo is None else set(todo), tmp)
        if todo is None:
            todo = sorted(t for t, s in seen.items() if s.usable)
            if not todo:
                raise Missing(f"{source.label} holds no task folder with a {TASK_FILE}: {GIVE}")
            skipped = sorted(t for t, s in seen.items() if s.py and not s.usable)
            if skipped:
                print(f"skipped {len(skipped)} programmatic task(s) (task.py, no {TASK_FILE})")
            if not force:
                there = [t for t in todo if present(dest / t)]
                todo = [t for t in todo if t not in there]
        else:
            check(todo, seen, source.label)
        for task in todo:
            if (dest / task).exists():
                shutil.rmtree(dest / task)
            os.replace(tmp / task, dest / task)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if created and not any(dest.iterdir()):
            dest.rmdir()
    return todo, there


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "source",
        nargs="?",
        help="a checkout of github.com/google/BIG-bench, its bigbench/benchmark_tasks folder, "
        "or a copy of bigbench-1.0.0.tar.gz (or a .tar.gz/.zip of the repository)",
    )
    ap.add_argument("tasks", nargs="*", help="task names [default: the 24 BIG-bench Lite tasks]")
    ap.add_argument("--all", action="store_true", help="every JSON task in the source (programmatic ones skipped)")
    ap.add_argument("--dest", type=Path, default=DEFAULT_DEST, help="where the task folders go [default: %(default)s]")
    ap.add_argument("--force", action="store_true", help="copy task folders again that are already in --dest")
    args = ap.parse_args(argv)
    try:
        if args.source is None:
            raise Missing(
                f"no BIG-bench data given: {GIVE} (the registry serves only bigbench 0.0.1, which has no task data)"
            )
        source = Source(Path(args.source).expanduser())
        tasks = None if args.all else (args.tasks or list(BBL))
        got, there = fetch(source, tasks, args.dest, force=args.force)
    except Missing as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        sys.exit(2)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError) as e:
        print(f"{PROG}: {args.source} is not a readable archive ({e}): {GIVE}", file=sys.stderr)
        sys.exit(2)
    except OSError as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        sys.exit(2)
    print(
        f"{len(got)} task folder(s) copied from {source.label} into {args.dest}"
        + (f": {', '.join(got)}" if got else "")
        + (f" ({len(there)} already there)" if there else "")
    )


if __name__ == "__main__":
    main()
