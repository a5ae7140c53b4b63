"""The layering docs/architecture.md states is the layering the code has: no import up, no circle."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "promptcheck"


def _layers() -> dict[str, int]:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    section = text.split("## Layers", 1)[1].split("\n## ", 1)[0]
    out: dict[str, int] = {}
    for line in section.splitlines():
        m = re.match(r"\|\s*(\d+)\s*\|(.*)\|\s*$", line)
        if m:
            for name in re.findall(r"`([\w_]+)`", m.group(2)):
                out[name] = int(m.group(1))
    return out


def _modules() -> dict[str, Path]:
    out = {}
    for f in PACKAGE.rglob("*.py"):
        parts = f.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = f
    return out


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Every promptcheck module ``name`` imports, at module level or inside a function."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(up + ([node.module] if node.module else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
        elif isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        found |= {t for t in targets if t in modules and t != name}
    return found


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "promptcheck"


def test_every_part_has_a_layer_and_no_import_runs_up():
    layers, modules = _layers(), _modules()
    assert len(layers) >= 10, "the table in docs/architecture.md was not found"
    missing = sorted({_part(m) for m in modules} - set(layers))
    assert not missing, f"give these a row in docs/architecture.md's layer table: {missing}"
    up = [
        f"{m} (layer {layers[_part(m)]}) imports {t} (layer {layers[_part(t)]})"
        for m, path in modules.items()
        for t in _imports(m, path, modules)
        if layers[_part(t)] > layers[_part(m)]
    ]
    assert not up, "\n".join(up)


def test_no_two_modules_import_each_other_and_no_circle():
    modules = _modules()
    graph = {m: _imports(m, p, modules) for m, p in modules.items()}
    pairs = sorted({tuple(sorted((a, b))) for a, bs in graph.items() for b in bs if a in graph[b]})
    assert not pairs, pairs
    # any longer circle: depth-first search for a back edge
    state: dict[str, int] = {}

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for t in sorted(graph[m]):
            assert state.get(t) != 1, " -> ".join([*path, m, t])
            if t not in state:
                visit(t, [*path, m])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [])


def test_no_renderer_imports_the_statistics():
    """Renderers render numbers computed where results are made (stats.task.TaskStatistics, the results
    file); one that imported promptcheck.stats could compute a second, different figure."""
    modules = _modules()
    renderers = ["promptcheck.report.terminal", "promptcheck.report.html", "promptcheck.report.plots"]
    renderers += ["promptcheck.report.console", "promptcheck.gate.tables"]
    found = {
        m: sorted(t for t in _imports(m, modules[m], modules) if t.startswith("promptcheck.stats")) for m in renderers
    }
    assert not any(found.values()), found
