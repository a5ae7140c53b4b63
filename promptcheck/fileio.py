"""Hashing and atomic file writes shared by the model cache and the reports."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path


def sha256_file(path: Path, *, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def cached_sha256(path: Path, cache_root: Path) -> str:
    """sha256 of a (large) file, remembered by path, size and mtime so it is computed once."""
    st = path.stat()
    key = hashlib.sha256(f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:24]
    memo = cache_root / "hashes" / f"{key}.txt"
    try:
        value = memo.read_text().strip()
        if len(value) == 64:
            return value
    except OSError:
        pass
    value = sha256_file(path)
    try:
        atomic_write_text(memo, value)
    except OSError:
        pass  # a read-only cache only costs time
    return value


def atomic_write_text(path: Path, text: str) -> None:
    """Write via a temp file in the same folder and rename: readers never see half a file."""
    from promptcheck.errors import InputError

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise InputError(f"cannot write here: {exc.strerror or exc}", file=path) from None
    try:
        _write_and_rename(fd, tmp, path, text)
    except OSError as exc:
        raise InputError(f"cannot write here: {exc.strerror or exc}", file=path) from None


def _write_and_rename(fd: int, tmp: str, path: Path, text: str) -> None:
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def check_output_file(path: Path, *, inputs: list[Path], field: str) -> None:
    """Refuse an output path that cannot be a results file, before hours of scoring are spent.

    A folder cannot be replaced by a file, and writing over one of the run's own inputs
    (``--json suite.yaml``) would destroy the suite.
    """
    from promptcheck.errors import InputError

    if path.is_dir():
        raise InputError("is a directory; give a file name such as results.json", file=path, field=field)
    try:
        target = path.resolve()
        same = any(target == Path(p).resolve() for p in inputs)
    except (OSError, RuntimeError):
        return  # unresolvable (a symlink loop): the write itself will say so
    if same:
        raise InputError(
            "is one of this run's input files; writing results there would overwrite it", file=path, field=field
        )
    try:  # the same temp-file-and-rename the real write does, tried now
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        raise InputError(f"cannot write here: {exc.strerror or exc}", file=path, field=field) from None


def atomic_write_json(path: Path, data: object) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False) + "\n")
