"""Interval statistics of one group of instructions against the reference, for results files.

``promptcheck run --json`` stores these so that reports (HTML, compare) only render numbers:
the drop with its bootstrap interval and verdict against a threshold, the spread of accuracy
across instructions, and consistency of answers. The same rules as :func:`promptcheck.assert_robust`
(claim ``phrasings`` whenever unobserved or generated instructions are in the group).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from promptcheck.stats.robustness import (
    Interval,
    bootstrap_consistency,
    bootstrap_drop,
    consistency,
    drop_point,
    mcnemar_exact,
    verdict_for,
)


@dataclass(frozen=True)
class GroupStatistics:
    """Drop, interval, verdict, spread and consistency of a group of instructions vs the reference."""

    kinds: tuple[str, ...]
    n_instructions: int
    claim: str
    drop: float
    interval: Interval
    threshold: float
    verdict: str
    spread_sd: float
    spread_range: float
    consistency: float
    consistency_interval: Interval

    def to_json(self) -> dict:
        return {
            "kinds": list(self.kinds), "n_instructions": self.n_instructions, "claim": self.claim,
            "drop": self.drop, "drop_interval": self.interval.to_json(), "confidence": self.interval.confidence,
            "threshold": self.threshold, "verdict": self.verdict, "spread_sd": self.spread_sd,
            "spread_range": self.spread_range, "consistency": self.consistency,
            "consistency_interval": self.consistency_interval.to_json(),
        }


def claim_for(kinds: Sequence[str]) -> str:
    """``phrasings`` when new phrasings are compared (unobserved, generated), else ``instructions``."""
    return "phrasings" if any(k in ("unobserved", "generated") for k in kinds) else "instructions"


def group_statistics(
    ref_correct: np.ndarray,
    para_correct: np.ndarray,
    ref_predictions: np.ndarray,
    para_predictions: np.ndarray,
    kinds: Sequence[str],
    *,
    threshold: float = 0.05,
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
) -> GroupStatistics:
    """Statistics of ``para`` (instructions x items) against ``ref`` (items); ``kinds`` of the para rows."""
    ref = np.asarray(ref_correct, dtype=bool)
    para = np.asarray(para_correct, dtype=bool)
    claim = claim_for(kinds)
    interval = bootstrap_drop(ref, para, claim=claim, confidence=confidence, n_boot=n_boot, seed=seed)
    accs = para.mean(axis=1)
    preds = np.vstack([np.asarray(ref_predictions)[None, :], np.asarray(para_predictions)])
    return GroupStatistics(
        kinds=tuple(sorted(set(kinds))), n_instructions=int(para.shape[0]), claim=claim,
        drop=drop_point(ref, para), interval=interval, threshold=threshold, verdict=verdict_for(interval, threshold),
        spread_sd=float(np.std(accs, ddof=1)) if len(accs) > 1 else 0.0,
        spread_range=float(accs.max() - accs.min()), consistency=consistency(preds),
        consistency_interval=bootstrap_consistency(preds, confidence=confidence, n_boot=n_boot, seed=seed),
    )


def instruction_tests(ref_correct: np.ndarray, correct: np.ndarray) -> list[dict]:
    """Per instruction: its drop against the reference and the exact McNemar p-value (paired items)."""
    ref = np.asarray(ref_correct, dtype=bool)
    return [{"drop": float(ref.mean() - row.mean()), "mcnemar_p": mcnemar_exact(ref, row)}
            for row in np.asarray(correct, dtype=bool)]
