"""docs/results-schema.md's table of documents, checked against documents the commands write.

A module of its own, not conftest.py: ``from conftest import ...`` resolves to whichever
conftest.py pytest imported last under that name (tests/served/ has one), so a test collected
after tests/served/ would get the wrong one.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def documented_keys() -> dict[str, tuple[int, set[str]]]:
    """docs/results-schema.md's table of documents: kind -> (schema_version, top-level keys)."""
    import re

    out = {}
    for line in (ROOT / "docs" / "results-schema.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and re.fullmatch(r"`\w+`", cells[0]) and cells[2].isdigit():
            out[cells[0].strip("`")] = (int(cells[2]), set(re.findall(r"`(\w+)`", cells[3])))
    return out


def assert_documented(doc: dict) -> None:
    """A document a command wrote says its kind and version, and has only keys the docs list for it."""
    table = documented_keys()
    kind = doc["kind"]
    version, keys = table[kind]
    assert doc["schema_version"] == version, (kind, doc["schema_version"])
    assert set(doc) <= keys, f"{kind}: undocumented keys {sorted(set(doc) - keys)}"
