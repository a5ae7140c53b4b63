"""Same seed, model and inputs -> the same bytes; batch size changes nothing a user sees.

(tests/models/test_scorer_matches_forward.py checks log-probabilities per prompt across batch
sizes; these tests check what comes out of ``promptcheck run`` and ``assert_robust``.)
"""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

import promptcheck as pc
from promptcheck.cli.main import app

#: The only fields allowed to differ between two identical runs: wall-clock time.
VOLATILE = re.compile(r'^\s*"(created|seconds)": .*$\n', re.MULTILINE)


@pytest.fixture
def small_suite(examples_dir, tmp_path):
    """Six capitals items under five instructions: enough to compare, small enough for CI."""
    rows = (examples_dir / "capitals.jsonl").read_text().splitlines()[:6]
    (tmp_path / "items.jsonl").write_text("\n".join(rows) + "\n")
    full = pc.load_task(examples_dir / "capitals.yaml")
    suite = {
        "name": "capitals-small",
        "items": "items.jsonl",
        "reference_instruction": full.reference_instruction,
        "instructions": {"observed": list(full.observed[:2]), "unobserved": list(full.unobserved[:2])},
    }
    path = tmp_path / "small.yaml"
    path.write_text(json.dumps(suite))  # JSON is YAML
    return path


def _run(args: list[str]) -> None:
    result = CliRunner().invoke(app, ["run", *args])
    assert result.exit_code == 0, (result.stdout, result.stderr)


def test_two_runs_write_byte_identical_json_except_timestamps(tiny_causal_dir, small_suite, tmp_path):
    texts = []
    for name in ("a.json", "b.json"):
        _run(
            [
                str(small_suite),
                "--model",
                str(tiny_causal_dir),
                "--seed",
                "7",
                "--paraphrases",
                "2",
                "--json",
                str(tmp_path / name),
                "--no-cache",
            ]
        )  # both runs compute every score
        texts.append((tmp_path / name).read_text(encoding="utf-8"))
    assert texts[0] != VOLATILE.sub("", texts[0]), "the pattern must remove the timestamp lines"
    assert VOLATILE.sub("", texts[0]).encode() == VOLATILE.sub("", texts[1]).encode()


def test_batch_size_1_and_8_give_the_same_predictions_accuracies_and_verdict(tiny_causal_dir, small_suite, tmp_path):
    docs = {}
    for bs in (1, 8):
        out = tmp_path / f"bs{bs}.json"
        _run(
            [
                str(small_suite),
                "--model",
                str(tiny_causal_dir),
                "--batch-size",
                str(bs),
                "--json",
                str(out),
                "--no-cache",
            ]
        )  # the cache would hand batch 8 the batch-1 numbers
        docs[bs] = json.loads(out.read_text())["tasks"][0]
    one, eight = docs[1], docs[8]
    assert [i["predictions"] for i in one["items"]] == [i["predictions"] for i in eight["items"]]
    assert [i["accuracy"] for i in one["instructions"]] == [i["accuracy"] for i in eight["instructions"]]
    assert one["sets"] == eight["sets"]
    for a, b in zip(one["items"], eight["items"]):
        for row_a, row_b in zip(a["logprobs"], b["logprobs"]):
            assert row_a == pytest.approx(row_b, abs=1e-4)

    task = pc.load_task(small_suite)
    verdicts = []
    for bs in (1, 8):
        model = pc.load_model(str(tiny_causal_dir), batch_size=bs)
        verdict = pc.assert_robust(pc.evaluate(model, task), max_accuracy_drop=0.5, on_inconclusive="pass", seed=3)
        verdicts.append((verdict.verdict, verdict.drop, verdict.interval))
    assert verdicts[0] == verdicts[1]
