"""A free-form task's drop split into its form part and its content part, each with its bounds.

A reworded instruction often breaks an answer's *form* before its *content*: "The capital of
Japan is Tokyo." for "answer with the city name only" has the content and not the form. Each
cell of a free-form task has one outcome (promptcheck.tasks.matching): correct, misformatted,
unparsed or wrong, so ``1 - correct = form + wrong`` with ``form`` = misformatted or unparsed,
and the drop splits exactly:

    drop = (form rate under the paraphrases - under the reference)
         + (wrong rate under the paraphrases - under the reference)

Each part is judged by :func:`promptcheck.stats.judge`, the rule of every verdict (its bounds
are the one-sided bounds of that part's rise), with the claim of the compared group. A part's
verdict against the threshold is not a verdict of the gate: the gate judges correctness only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from promptcheck.stats.verdicts import Judgment, judge

#: Outcomes that are the form's fault: the content may be there (misformatted) or unread (unparsed).
FORM_OUTCOMES = ("misformatted", "unparsed")


@dataclass(frozen=True)
class DropParts:
    """The form part and the content part of a group's drop (they add up to the drop)."""

    form: Judgment
    content: Judgment

    @property
    def form_only(self) -> bool:
        """The drop is the form's: accuracy fell, form failures rose, wrong answers did not (point estimates)."""
        return self.form.drop + self.content.drop > 0 and self.form.drop > 0 and self.content.drop <= 0

    def to_json(self) -> dict[str, Any]:
        return {
            part: {"drop": j.drop, "interval": j.interval.to_json(), "bound_confidence": j.bound_confidence}
            for part, j in (("form", self.form), ("content", self.content))
        }


def _not(outcomes: np.ndarray, names: Sequence[str]) -> np.ndarray:
    return ~np.isin(outcomes, list(names))


def drop_parts(
    reference: Sequence[str], paraphrases: Sequence[Sequence[str]], *, claim: str, confidence: float, seed: int = 0
) -> DropParts:
    """Split the drop of ``paraphrases`` (instructions x items of outcomes) against ``reference`` (items)."""
    ref, para = np.asarray(reference), np.asarray(paraphrases)
    opts: dict[str, Any] = dict(claim=claim, confidence=confidence, seed=seed)
    return DropParts(
        form=judge(_not(ref, FORM_OUTCOMES), _not(para, FORM_OUTCOMES), **opts),
        content=judge(_not(ref, ("wrong",)), _not(para, ("wrong",)), **opts),
    )


def form_only_instructions(reference: Sequence[str], paraphrases: Sequence[Sequence[str]]) -> list[bool]:
    """Per instruction: its drop is the form's alone (accuracy fell; more form failures, no more wrong
    answers). An instruction as accurate as the reference breaks nothing, whatever its answers' mix."""
    ref = np.asarray(reference)
    out = []
    for row in np.asarray(paraphrases):
        form = float(np.mean(np.isin(row, FORM_OUTCOMES)) - np.mean(np.isin(ref, FORM_OUTCOMES)))
        wrong = float(np.mean(row == "wrong") - np.mean(ref == "wrong"))
        out.append(form + wrong > 0 and form > 0 and wrong <= 0)
    return out
