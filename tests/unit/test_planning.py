"""Planning a score() call (units, batches, context groups) runs on token ids alone, without torch."""

from __future__ import annotations

import subprocess
import sys

import pytest

from promptcheck.errors import ScoringError
from promptcheck.models import planning
from promptcheck.prompts.rendering import Prompt


def _chars(text: str, special: bool) -> list[int]:
    """A character-level tokenizer: one token per character, BOS (0) in front when ``special``."""
    return ([0] if special else []) + [ord(c) for c in text]


def test_single_token_choices_after_one_context_share_one_unit():
    prompts = [Prompt("Q: 2+2? A:", ("4", "5")), Prompt("Q: 1+1? A:", ("2", "3"))]
    units = planning.causal_units(prompts, _chars, special=True, bos=0, max_length=None)
    assert len(units) == 2 and all(len(u.spans) == 2 for u in units)
    span = units[0].spans[1]
    assert units[0].ids == tuple(_chars("Q: 2+2? A:", True)) and span.targets == (ord("5"),)
    assert span.start == len(units[0].ids) - 1, "the last context position predicts the answer"


def test_multi_token_choices_get_a_unit_each_and_group_by_their_shared_context():
    prompts = [Prompt("Capital of France?", (" Paris", " Lyon"))]
    units = planning.causal_units(prompts, _chars, special=False, bos=0, max_length=None)
    assert [u.ids for u in units] == [
        tuple(_chars("Capital of France? Pari", False)),
        tuple(_chars("Capital of France? Lyo", False)),
    ]
    groups, rest = planning.context_groups(units, offset=0)
    # The context's last token stays in each continuation's pass: its logits score the first target.
    assert rest == [] and groups[0].context == len("Capital of France?") - 1
    assert planning.shared_prefix_length(units) == len("Capital of France?") - 1


def test_batches_keep_to_rows_and_padded_tokens_longest_first():
    units = [planning.Unit(ids=tuple(range(n))) for n in (3, 9, 5, 7, 4)]
    batches = planning.batches(units, batch_size=2, batch_tokens=15)
    assert [[len(u.ids) for u in b] for b in batches] == [[9], [7, 5], [4, 3]]
    for batch in batches:
        assert len(batch) <= 2 and len(batch) * len(batch[0].ids) <= 15 or len(batch) == 1


def test_a_prompt_longer_than_the_context_is_refused_naming_it():
    with pytest.raises(ScoringError, match="longer than the model's context") as info:
        planning.causal_units(
            [Prompt("ab", ("c",)), Prompt("x" * 50, ("y",))], _chars, special=False, bos=0, max_length=20
        )
    assert info.value.field == "prompt 1"


def test_planning_imports_no_torch():
    code = "import sys, promptcheck.models.planning; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
