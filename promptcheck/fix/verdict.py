"""Every interval and verdict ``fix`` reports, through one function, by the same rule as the gate.

The gate (:func:`promptcheck.assert_robust`) judges the drop of accuracy under paraphrased
instructions against the reference with :func:`promptcheck.stats.verdicts.judge`;
``gate_verdict`` calls the same function (claim phrasings), so "would the gate pass now" is
answered by the gate's own rule, in one place.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from promptcheck.stats.robustness import wilson
from promptcheck.stats.sets import claim_for
from promptcheck.stats.verdicts import Judgment, judge


def gate_verdict(
    reference: np.ndarray,
    paraphrases: np.ndarray,
    *,
    threshold: float,
    confidence: float = 0.95,
    seed: int = 0,
    chance: Sequence[float] | None = None,
) -> Judgment:
    """The gate's verdict on ``reference`` (items,) vs held-out ``paraphrases`` (instructions, items):
    the :class:`~promptcheck.stats.verdicts.Judgment` itself, the one record of a verdict.

    ``chance``: per item, as the gate passes it (:func:`promptcheck.stats.sets.item_chance`); it
    sets the floor of the instructions' logit scale, so leaving it out could make fix's "would the
    gate pass" differ from the gate's verdict on the same matrix.
    """
    return judge(
        np.asarray(reference, dtype=bool),
        np.asarray(paraphrases, dtype=bool),
        max_accuracy_drop=threshold,
        confidence=confidence,
        claim=claim_for(["unobserved"] * np.shape(paraphrases)[0]),
        seed=seed,
        chance=chance,
    )


def accuracy_interval(correct: np.ndarray, *, confidence: float = 0.95, seed: int = 0) -> list[float]:
    """An accuracy's interval: Wilson for one instruction (items,), the gate's two-way interval for a set.

    The mean accuracy over instructions is the drop against an always-right reference, negated,
    so a set's interval comes from the same two-way (items and instructions) construction as the
    gate's drop.
    """
    from promptcheck.stats.verdicts import judge

    c = np.asarray(correct, dtype=bool)
    if c.ndim == 1:
        return wilson(int(c.sum()), int(c.size), confidence).to_json()
    j = judge(
        np.ones(c.shape[1], dtype=bool),
        c,
        confidence=confidence,
        claim="phrasings" if c.shape[0] > 1 else "instructions",
        seed=seed,
    )
    return [max(0.0, 1.0 - float(j.interval.high)), min(1.0, 1.0 - float(j.interval.low))]
