"""The packaged default model (SmolLM2-135M-Instruct) end to end, as the README's first command runs it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import promptcheck as pc

pytestmark = pytest.mark.default_model


def test_default_model_loads_offline_with_identity(default_model):
    ident = default_model.identity
    assert ident.id.startswith("SmolLM2-135M-Instruct")
    assert len(ident.weights_hash) == 64 and ident.dtype == "float32"
    assert default_model.use_chat_template, "the default model scores through its chat template"


def test_default_model_answers_a_known_fact(default_model, examples_dir):
    task = pc.load_task(examples_dir / "capitals.yaml")
    france = next(i for i in task.items if "France" in i.question)
    result = pc.evaluate(
        default_model, pc.Task(**{**task.__dict__, "items": (france,)}), instructions=[task.reference_instruction]
    )
    assert result.instructions[0].predictions == (france.answer,)


def test_run_on_default_model_prints_table_and_shows_the_sentiment_paraphrase_drop(examples_dir, tmp_path):
    out = tmp_path / "r.json"
    proc = subprocess.run(
        [sys.executable, "-m", "promptcheck", "run", str(examples_dir / "sentiment.yaml"), "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr
    assert "sentiment" in proc.stdout and "reference" in proc.stdout
    task = json.loads(out.read_text())["tasks"][0]
    assert task["reference_accuracy"] >= 0.75, "clearly above chance (0.5) under the reference"
    sets = {s["kind"]: s for s in task["sets"]}
    # The finding the examples exist to show: paraphrases cost this model accuracy.
    assert sets["unobserved"]["drop"] > 0.05


@pytest.mark.slow
def test_gguf_file_loads_directly_and_matches_the_cached_conversion(default_model, examples_dir):
    """``--model path/to/file.gguf`` works, and the cached transformers copy scores identically."""
    from promptcheck.models.packaged import packaged_gguf

    direct = pc.load_model(str(packaged_gguf()))
    assert direct.identity.weights_hash == default_model.identity.weights_hash
    task = pc.load_task(examples_dir / "sentiment.yaml")
    task = pc.Task(**{**task.__dict__, "items": task.items[:4]})
    a = pc.evaluate(direct, task, instructions=[task.reference_instruction])
    b = pc.evaluate(default_model, task, instructions=[task.reference_instruction])
    for x, y in zip(a.instructions[0].logprobs, b.instructions[0].logprobs):
        assert x == pytest.approx(y, abs=1e-4)
