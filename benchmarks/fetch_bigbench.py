"""Fetch BIG-bench task folders from the registry's ``bigbench==1.0.0`` source package.

The sdist (358 MB, Apache-2.0) holds ``bigbench/benchmark_tasks/<task>/task.json`` for every JSON
task. It is downloaded once (never installed: its dependencies are heavy) and only the task folders
asked for are extracted, into ``benchmarks/data/bigbench/<task>/`` (gitignored; never committed).

pip 25 and later refuse to download this sdist (it declares a direct-URL dependency), so the
download uses a pip older than 25: this interpreter's if it is one, else a throwaway venv's
(``python3 -m venv`` bundles pip 23.2 here).

    python benchmarks/fetch_bigbench.py                 # the 24 BIG-bench Lite tasks
    python benchmarks/fetch_bigbench.py hindu_knowledge emoji_movie --dest /tmp/bb
    python benchmarks/fetch_bigbench.py --all           # every task (about 1.5 GB unpacked)
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import venv
from pathlib import Path

VERSION = "1.0.0"
SDIST = f"bigbench-{VERSION}.tar.gz"
ROOT = Path(__file__).resolve().parent
DEFAULT_DEST = ROOT / "data" / "bigbench"
DOWNLOADS = Path(os.environ.get("PROMPTCHECK_CACHE", Path.home() / ".cache" / "promptcheck")) / "downloads"

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


def _old_pip() -> list[str]:
    """A pip command older than 25 (which still downloads this sdist)."""
    out = subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True, text=True)
    if out.returncode == 0 and int(out.stdout.split()[1].split(".")[0]) < 25:
        return [sys.executable, "-m", "pip"]
    env_dir = DOWNLOADS / "pip-venv"
    if not (env_dir / "bin" / "pip").exists():
        venv.create(env_dir, with_pip=True)
    return [str(env_dir / "bin" / "python"), "-m", "pip"]


def sdist() -> Path:
    """The downloaded sdist (cached in ~/.cache/promptcheck/downloads)."""
    target = DOWNLOADS / SDIST
    if target.is_file():
        return target
    DOWNLOADS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=DOWNLOADS) as tmp:
        subprocess.run(
            [*_old_pip(), "download", "--no-deps", "--no-binary", ":all:", "-d", tmp, f"bigbench=={VERSION}"],
            check=True,
        )
        os.replace(Path(tmp) / SDIST, target)
    return target


def extract(tasks: list[str] | None, dest: Path) -> list[str]:
    """Extract ``benchmark_tasks/<task>/`` for each task (all when ``tasks`` is None) into ``dest``."""
    prefix = f"bigbench-{VERSION}/bigbench/benchmark_tasks/"
    wanted = None if tasks is None else set(tasks)
    missing = [t for t in (tasks or []) if not (dest / t / "task.json").is_file()]
    if tasks is not None and not missing:
        return []
    dest.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=dest, prefix=".extract-"))
    done: set[str] = set()
    try:
        with tarfile.open(sdist(), "r:gz") as tar:
            for member in tar:
                if not member.name.startswith(prefix) or not (member.isfile() or member.isdir()):
                    continue
                rel = member.name[len(prefix) :]
                task = rel.split("/", 1)[0]
                if not task or (wanted is not None and task not in missing) or "/" not in rel and member.isfile():
                    continue
                if not rel.endswith(".json") and not member.isdir() and not rel.endswith("README.md"):
                    continue  # task.py code, images: not needed
                member.name = rel
                tar.extract(member, tmp, filter="data")
                done.add(task)
        for task in sorted(done):
            if (dest / task).exists():
                shutil.rmtree(dest / task)
            os.replace(tmp / task, dest / task)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return sorted(done)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("tasks", nargs="*", help="task names [default: the 24 BIG-bench Lite tasks]")
    ap.add_argument("--all", action="store_true", help="every task in the package")
    ap.add_argument("--dest", type=Path, default=DEFAULT_DEST)
    args = ap.parse_args()
    tasks = None if args.all else (args.tasks or list(BBL))
    got = extract(tasks, args.dest)
    print(
        f"{len(got)} task folder(s) extracted into {args.dest}"
        + (f": {', '.join(got)}" if got else " (all already there)")
    )
    if tasks is not None:
        absent = [t for t in tasks if not (args.dest / t).is_dir()]
        if absent:
            sys.exit(f"not in bigbench {VERSION}: {', '.join(absent)}")


if __name__ == "__main__":
    main()
