"""``device_map='auto'`` (accelerate) loads and scores exactly like a plain load.

No GPU here: accelerate places every layer on the CPU. This proves the option is wired through
and harmless; spreading over several GPUs is accelerate's own, tested code.
"""

from __future__ import annotations

import pytest

import promptcheck as pc
from promptcheck.errors import ModelLoadError
from promptcheck.prompts.rendering import Prompt

pytestmark = pytest.mark.default_model


def test_device_map_auto_scores_like_a_plain_load(default_model):
    mapped = pc.load_model("default", device_map="auto")
    assert {p.device.type for p in mapped.model.parameters()} == {"cpu"}
    assert mapped.identity.device == "cpu" and mapped.identity.weights_hash == default_model.identity.weights_hash
    fmt = default_model.chat_formatter()
    prompts = [
        Prompt(fmt("What is the capital of France?"), ("Paris", "Lyon", "Marseille")),
        Prompt(fmt("Is the sky blue? Answer yes or no."), ("yes", "no")),
    ]
    a, b = mapped.score(prompts), default_model.score(prompts)
    for x, y in zip(a, b):
        assert x.logprobs == pytest.approx(y.logprobs, abs=1e-5)


def test_unknown_device_map_is_a_one_line_error():
    with pytest.raises(ModelLoadError, match="device_map: must be one of auto"):
        pc.load_model("default", device_map="everywhere")
