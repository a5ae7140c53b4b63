"""The model contract as docs/architecture.md states it is the contract the code declares and keeps.

The protocol table there is a newcomer's map of the backends; this test reads it and checks every
cell against ``models/base.py`` and the real backends, so the map cannot drift from the tree.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Protocol

import httpx
import pytest

import promptcheck as pc
from promptcheck.models import base
from promptcheck.models.base import Wrapper, capability

ARCHITECTURE = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"


def _protocol_table() -> dict[str, dict[str, str]]:
    """Rows of the "model contract" table: protocol name -> {column header: cell}."""
    lines = ARCHITECTURE.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| protocol |"))
    header = [c.strip() for c in lines[start].strip("|").split("|")]
    rows = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        name = re.match(r"`(\w+)`", cells[0]).group(1)
        rows[name] = dict(zip(header, cells, strict=True))
    return rows


def _declared_protocols() -> set[str]:
    return {
        name
        for name, obj in vars(base).items()
        if inspect.isclass(obj) and Protocol in obj.__mro__[1:] and obj.__module__ == base.__name__
    }


def test_the_table_lists_exactly_the_declared_protocols_and_their_members():
    table = _protocol_table()
    assert set(table) == _declared_protocols()
    for name, row in table.items():
        proto = getattr(base, name)
        members = set(re.findall(r"`(\w+)", row["members"]))
        declared = {m for m in vars(proto) if not m.startswith("_")} | set(getattr(proto, "__annotations__", {}))
        assert members == declared, f"{name}: docs say {sorted(members)}, base.py declares {sorted(declared)}"


@pytest.fixture(scope="module")
def backends(tiny_causal_dir, tmp_path_factory):
    from promptcheck.models.served import ServedScorer

    hf = pc.load_model(str(tiny_causal_dir))
    models = {"object": "list", "data": [{"id": "m", "owned_by": "vllm", "root": "/models/m", "created": 1}]}
    # a transport that answers /models only: the test reads the scorer's declared shape, never scores
    served = ServedScorer(["http://a:1/v1"], transport=httpx.MockTransport(lambda r: httpx.Response(200, json=models)))
    cached = pc.cached(hf, tmp_path_factory.mktemp("cache") / "scores.sqlite")
    return {"HFScorer": hf, "ServedScorer": served, "CachedScorer": cached}


def test_every_backend_has_the_capabilities_the_table_gives_it(backends):
    for name, row in _protocol_table().items():
        proto = getattr(base, name)
        for column, scorer in backends.items():
            cell = next(v for k, v in row.items() if k.startswith(f"`{column}`"))
            own = isinstance(scorer, proto)
            if cell.startswith("yes") or cell == "-" and name == "Wrapper" and column == "CachedScorer":
                assert own, f"{column} should implement {name} ({cell})"
            elif cell.startswith("its backend"):
                # a wrapper does not claim it itself; capability() finds it on the backend
                assert capability(scorer, proto) is not None, f"{column}: {name} through its backend"
                assert isinstance(scorer, Wrapper)
            elif cell.startswith("no") or cell == "-":
                assert not own or name == "Scorer", f"{column} should not implement {name} ({cell})"
            else:  # pragma: no cover - a cell the test does not know how to read
                raise AssertionError(f"{name}/{column}: unreadable cell {cell!r}")


def test_capability_looks_through_the_cache_and_the_cache_forwards_nothing_else(backends):
    hf, cached = backends["HFScorer"], backends["CachedScorer"]
    assert capability(cached, base.CountsTokens) is hf
    assert capability(cached, base.HasHiddenStates) is hf
    assert capability(backends["ServedScorer"], base.HasHiddenStates) is None
    # no attribute forwarding: what is not declared on the cache is not reachable through it
    assert hasattr(hf, "tokenizer") and not hasattr(cached, "tokenizer")
    assert not hasattr(cached, "max_length")
