from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "suites"
sys.path.insert(0, str(Path(__file__).resolve().parent))

pytest_plugins = ["pytester"]

# pytester points HOME at a temp folder; keep its subprocesses on the real cache (converted
# default model, WordNet data) instead of re-converting the model in every test.
from schema_check import assert_documented, documented_keys  # noqa: E402,F401 - re-exported for tests

from promptcheck.settings import cache_dir  # noqa: E402

CACHE = str(cache_dir())


@pytest.fixture(autouse=True)
def _shared_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("PROMPTCHECK_CACHE_DIR", CACHE)
    # Scores, unlike converted weights, are what tests check: each test starts with an empty
    # score cache so it computes what it asserts (tests of the cache itself fill it on purpose).
    monkeypatch.setenv("PROMPTCHECK_SCORE_CACHE", str(tmp_path / "scores.sqlite"))


@pytest.fixture(scope="session")
def examples_dir() -> Path:
    return EXAMPLES


@pytest.fixture(scope="session")
def tiny_causal_dir(tmp_path_factory) -> Path:
    from tiny_models import save, tiny_causal

    return save(*tiny_causal(), tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture(scope="session")
def tiny_seq2seq_dir(tmp_path_factory) -> Path:
    from tiny_models import save, tiny_seq2seq

    return save(*tiny_seq2seq(), tmp_path_factory.mktemp("tiny-t5"))


@pytest.fixture(scope="session")
def default_model():
    """The packaged default model (SmolLM2-135M-Instruct), loaded once per session."""
    import promptcheck as pc

    return pc.load_model("default")


def fix_cli(suites: list, model: object, out: object, extra: str = ""):
    """``promptcheck fix SUITES --model MODEL --out OUT EXTRA`` through typer's test runner
    (``extra``: more options, split on spaces)."""
    from typer.testing import CliRunner

    from promptcheck.cli.main import app

    return CliRunner().invoke(app, ["fix", *map(str, suites), "--model", str(model), "--out", str(out), *extra.split()])


def assert_fix_ran(res) -> None:
    """fix ran to the end on a tiny random model: exit 0, or exit 3 only because the held-out gap
    was not closed or the random model guesses under the reference (with ``--harm-tolerance 1.0``
    no other reason is possible), each said in one line."""
    reasons = ("GAP NOT CLOSED", "GAP WIDENED", "NO SIGNAL")
    lines = [ln for ln in res.output.splitlines() if ln.startswith("promptcheck: ") and ": warning: " not in ln]
    expected = res.exit_code == 3 and lines and all(any(r in ln for r in reasons) for ln in lines)
    assert res.exit_code == 0 or expected, res.output
    assert "Traceback" not in res.output
