"""Every interval and verdict ``fix`` reports, through one function, by the same rule as the gate.

The gate (:func:`promptcheck.assert_robust`) judges the drop of accuracy under paraphrased
instructions against the reference: a two-way (items x instructions) percentile bootstrap
for new phrasings, ``fail`` when the whole interval is above ``max_accuracy_drop``, ``pass``
when it is below, else ``inconclusive``. ``gate_verdict`` is that rule, in one place, so that
when the library's single verdict function lands, this is the only line that changes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from promptcheck.stats.robustness import bootstrap_drop, drop_point, verdict_for, wilson


@dataclass(frozen=True)
class GateVerdict:
    verdict: str  # pass / fail / inconclusive
    drop: float
    interval: tuple[float, float]
    confidence: float
    threshold: float
    items: int
    instructions: int

    def to_json(self) -> dict:
        return {"verdict": self.verdict, "drop": self.drop, "interval": list(self.interval),
                "confidence": self.confidence, "threshold": self.threshold, "items": self.items,
                "instructions": self.instructions}


def gate_verdict(reference: np.ndarray, paraphrases: np.ndarray, *, threshold: float, confidence: float = 0.95,
                 seed: int = 0) -> GateVerdict:
    """The gate's verdict on ``reference`` (items,) vs ``paraphrases`` (instructions, items), claim phrasings."""
    ref = np.asarray(reference, dtype=bool)
    para = np.asarray(paraphrases, dtype=bool)
    ci = bootstrap_drop(ref, para, claim="phrasings", confidence=confidence, seed=seed)
    return GateVerdict(verdict=verdict_for(ci, threshold), drop=drop_point(ref, para), interval=(ci.low, ci.high),
                       confidence=confidence, threshold=threshold, items=int(ref.size),
                       instructions=int(para.shape[0]))


def accuracy_interval(correct: np.ndarray, *, confidence: float = 0.95, seed: int = 0) -> list[float]:
    """An accuracy's interval: Wilson for one instruction (items,), two-way bootstrap for a set (instr, items)."""
    c = np.asarray(correct, dtype=bool)
    if c.ndim == 1:
        return wilson(int(c.sum()), int(c.size), confidence).to_json()
    # The mean accuracy over instructions is "drop against an always-right reference", negated.
    ci = bootstrap_drop(np.ones(c.shape[1], dtype=bool), c, claim="phrasings", confidence=confidence, seed=seed)
    return [1.0 - ci.high, 1.0 - ci.low]
