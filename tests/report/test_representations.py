"""Representation analysis (paper section 4.5) on a real (tiny, code-built) model."""

from __future__ import annotations

import json

import numpy as np
import pytest
from report_fixtures import small_run, write_suite  # noqa: F401

import promptcheck as pc
from promptcheck.analysis.representations import (
    analyse,
    cosine_distances,
    instruction_states,
    representation_analysis,
)
from promptcheck.errors import InputError


@pytest.fixture(scope="module")
def tiny_result(tiny_causal_dir, tmp_path_factory):
    model = pc.load_model(str(tiny_causal_dir))
    task = pc.load_task(write_suite(tmp_path_factory.mktemp("rep"), n_items=6))
    return model, pc.evaluate(model, task)


def test_batched_states_equal_one_prompt_at_a_time(tiny_result):
    model, result = tiny_result
    batched, layer = instruction_states(model, result, batch_size=16)
    single, _ = instruction_states(model, result, batch_size=1)
    assert layer == model.model.config.num_hidden_layers  # default for decoder-only: the last layer
    np.testing.assert_allclose(batched, single, atol=1e-4)


def test_distances_are_to_the_nearest_observed_instruction(tiny_result):
    model, result = tiny_result
    states, _ = instruction_states(model, result)
    kinds = [r.kind for r in result.instructions]
    rep = representation_analysis(model, result)
    seen = [j for j, k in enumerate(kinds) if k in ("reference", "observed")]
    for row in rep["instructions"]:
        if row["kind"] in ("reference", "observed"):
            assert row["distance"] is None
            continue
        d = cosine_distances(states[[row["index"]]], states[seen])[0]
        assert row["nearest_observed"] == seen[int(np.argmin(d))]
        assert row["distance"] == pytest.approx(float(d.min()))
    again = representation_analysis(model, result)
    assert json.dumps(again) == json.dumps(rep), "deterministic"


def test_correlation_follows_the_distances():
    """Distances that grow with the drop give rho = 1; the correlation is read from real numbers."""
    kinds = ["reference", "observed", "unobserved", "unobserved", "unobserved", "unobserved"]
    base = np.array([1.0, 0.0, 0.0])
    states = np.array([base, base, [1, 0.1, 0], [1, 0.4, 0], [1, 1.0, 0], [1, 3.0, 0]])
    accs = [0.9, 0.9, 0.85, 0.8, 0.6, 0.4]
    out = analyse(states, kinds, accs, 0.9)
    assert out["correlation"]["n"] == 4 and out["correlation"]["spearman"] == pytest.approx(1.0)
    assert out["explained_variance"][0] > 0.9
    tsne = analyse(states, kinds, accs, 0.9, projection="tsne", seed=0)
    assert len(tsne["instructions"]) == 6 and tsne["explained_variance"] is None


def test_a_missing_layer_is_a_one_line_error(tiny_result):
    model, result = tiny_result
    with pytest.raises(InputError, match="layer 99 does not exist"):
        instruction_states(model, result, layer=99)


def test_run_json_holds_the_analysis(small_run):
    task = json.loads(small_run.read_text())["tasks"][0]
    rep = task["representations"]
    assert rep["position"] == "last prompt token" and rep["pooling"] == "mean over items"
    assert len(rep["instructions"]) == len(task["instructions"])
    assert sum(r["distance"] is not None for r in rep["instructions"]) == 3  # the unobserved ones
