"""Fixtures and helpers for the report tests. A real run to render: the code-built tiny model on a small suite with a hostile instruction."""

from __future__ import annotations

import json

import pytest
from conftest import EXAMPLES
from typer.testing import CliRunner

from promptcheck.cli.main import app

SCRIPT = "<script>alert(1)</script>"
HOSTILE = f"{SCRIPT} Classify this review as negative or positive."


def write_suite(folder, n_items: int = 10):
    """A sentiment suite on the first items, with one unobserved instruction carrying a script tag."""
    lines = (EXAMPLES / "sentiment.jsonl").read_text().splitlines()[:n_items]
    (folder / "items.jsonl").write_text("\n".join(lines) + "\n")
    suite = {
        "name": "sentiment-small",
        "kind": "classification",
        "items": "items.jsonl",
        "format": "texts",
        "reference_instruction": "Classify the sentiment of the following review as negative or positive.",
        "instructions": {
            "observed": [
                "Is the sentiment of the following review negative or positive?",
                "Decide whether the review below is negative or positive.",
            ],
            "unobserved": [
                HOSTILE,
                "Review sentiment: negative or positive?",
                "Could you indicate whether this review is negative or positive?",
            ],
        },
    }
    path = folder / "suite.yaml"
    path.write_text(json.dumps(suite))  # JSON is YAML
    return path


@pytest.fixture(scope="session")
def small_run(tiny_causal_dir, tmp_path_factory):
    """``promptcheck run --json --representations`` of the tiny model on the small suite."""
    folder = tmp_path_factory.mktemp("small-run")
    suite = write_suite(folder)
    out = folder / "run.json"
    res = CliRunner().invoke(
        app,
        ["run", str(suite), "--model", str(tiny_causal_dir), "--json", str(out), "--representations", "--seed", "1"],
    )
    assert res.exit_code == 0, res.output
    return out


def data_pngs(html: str) -> list[bytes]:
    """Every ``<img src="data:image/png;base64,...">`` of a page, decoded."""
    import base64
    import re

    return [base64.b64decode(m) for m in re.findall(r'<img[^>]*src="data:image/png;base64,([^"]+)"', html)]


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
