"""The public facade: ``dir(promptcheck)`` shows exactly ``__all__``, and every name in it works.

Like hypothesis's check of its strategies' ``__all__``: a name added to the package but not to
``__all__`` (or the other way round) fails here, so what users can discover is what we support.
"""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys

import pytest

import promptcheck as pc


def test_dir_is_exactly_all():
    public = {name for name in dir(pc) if not name.startswith("_")}
    assert public == {name for name in pc.__all__ if not name.startswith("_")}
    assert "__version__" in dir(pc)
    assert len(pc.__all__) == len(set(pc.__all__)), "a name listed twice"


@pytest.mark.parametrize("name", [n for n in pc.__all__ if n != "__version__"])
def test_every_public_name_resolves_and_is_documented(name):
    obj = getattr(pc, name)
    assert inspect.getdoc(obj), f"promptcheck.{name} has no docstring"


@pytest.mark.parametrize("name", ["version", "PackageNotFoundError", "annotations", "evaluation", "models"])
def test_no_helper_or_submodule_leaks_into_the_listing(name):
    assert name not in dir(pc)
    if name in ("version", "PackageNotFoundError", "annotations"):
        assert not hasattr(pc, name)


def test_evaluate_is_the_function_and_no_package_shadows_it():
    assert inspect.isfunction(pc.evaluate)
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("promptcheck.evaluate")
    from promptcheck import evaluate

    assert evaluate is importlib.import_module("promptcheck.evaluation").evaluate


def test_import_promptcheck_and_dir_load_no_torch():
    code = "import sys, promptcheck; dir(promptcheck); promptcheck.Scorer; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0, "import promptcheck imported torch"


def test_tests_import_no_private_names_of_promptcheck():
    """Tests go through public seams: a private name imported from promptcheck is a seam to make public."""
    import ast
    from pathlib import Path

    reached = []
    for path in sorted(Path(__file__).resolve().parents[1].rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("promptcheck"):
                reached += [
                    f"{path.name}: {node.module}.{a.name}"
                    for a in node.names
                    if a.name.startswith("_") and not a.name.startswith("__")
                ]
    assert not reached, reached
