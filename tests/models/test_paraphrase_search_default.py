"""The hypothesis paraphrase search on the packaged default model, run as a user runs the example."""

from __future__ import annotations

import re
import shutil

import pytest
from conftest import ROOT

pytestmark = pytest.mark.default_model


def test_example_search_finds_a_one_edit_paraphrase_that_flips_the_default_model(pytester):
    shutil.copytree(ROOT / "examples", pytester.path / "examples")
    result = pytester.runpytest_subprocess(
        "examples/test_paraphrase_search.py", "--promptcheck-model=default", "-p", "no:cacheprovider", timeout=600
    )
    out = result.stdout.str()
    result.assert_outcomes(failed=1)
    assert "Failing test case" in out or "Falsifying example" in out
    reported = re.search(r"AssertionError: (.*?) \(edits: \[(.*?)\]\) flips (\[.*?\])", out)
    assert reported is not None, out
    # Reported for the record (pytest -s shows it): the smallest edit that flips an item it gets right.
    print(f"default model flips {reported.group(3)} under {reported.group(1)} ({reported.group(2)})")
    assert len(re.findall(r"\"[^\"]*\"|'[^']*'", reported.group(2))) == 1, "shrunk to a single edit"
