"""Is a refactor behaviour-preserving? The run JSON of the example suites at another commit vs here.

    python benchmarks/same_results.py 494e3e3 [SUITE ...]

Checks out COMMIT in a temporary git worktree, runs ``promptcheck run SUITES --json`` there and
in this tree with the same interpreter (the score cache makes both cheap after the first), and
prints every value that differs, the keys only the newer file has and the keys it lost
(``created`` and ``seconds`` are ignored). "Identical except new keys" is: 0 changed, 0 removed.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SUITES = ["examples/suites/capitals.yaml", "examples/suites/sentiment.yaml", "examples/suites/yesno.yaml"]
IGNORED = {"created", "seconds"}


def run_at(tree: Path, suites: list[str], out: Path) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    cmd = [sys.executable, "-m", "promptcheck", "run", *suites, "--json", str(out)]
    subprocess.run(cmd, cwd=tree, env=env, check=True, stdout=subprocess.DEVNULL)
    return json.loads(out.read_text(encoding="utf-8"))


def differences(old: Any, new: Any, path: str = "") -> tuple[list[tuple[str, Any, Any]], list[str], list[str]]:
    """(changed values, keys added, keys removed), paths like ``.tasks[2].robustness.drop``."""
    changed: list[tuple[str, Any, Any]] = []
    added: list[str] = []
    removed: list[str] = []

    def walk(a: Any, b: Any, where: str) -> None:
        if isinstance(a, dict) and isinstance(b, dict):
            for key in sorted((a.keys() | b.keys()) - IGNORED):
                here = f"{where}.{key}"
                if key not in b:
                    removed.append(here)
                elif key not in a:
                    added.append(here)
                else:
                    walk(a[key], b[key], here)
        elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
            for i, (x, y) in enumerate(zip(a, b)):
                walk(x, y, f"{where}[{i}]")
        elif a != b:
            changed.append((where, a, b))

    walk(old, new, path)
    return changed, added, removed


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit("usage: python benchmarks/same_results.py COMMIT [SUITE ...]")
    commit, suites = sys.argv[1], sys.argv[2:] or SUITES
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(tree), commit], check=True)
        try:
            old = run_at(tree, suites, Path(tmp) / "old.json")
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False)
        new = run_at(ROOT, suites, Path(tmp) / "new.json")
    changed, added, removed = differences(old, new)

    def shape(paths: list[str]) -> list[str]:
        return sorted({re.sub(r"\[\d+\]", "[]", p) for p in paths})

    print(
        f"{commit} -> this tree, {len(suites)} suite(s): {len(changed)} value(s) changed, "
        f"{len(shape(added))} key(s) added, {len(shape(removed))} removed"
    )
    for where, a, b in changed:
        print(f"  changed {where}: {a!r} -> {b!r}")
    for key in shape(added):
        print(f"  added   {key}")
    for key in shape(removed):
        print(f"  removed {key}")


if __name__ == "__main__":
    main()
