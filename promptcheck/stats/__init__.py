"""Statistics over evaluation results: the verdict (:func:`judge`), its power, and summaries.

``judge`` is the single path for every verdict promptcheck gives; docs/statistics.md has its
rule and the simulation study that checks its error rates.
"""

from promptcheck.stats.summary import SetSummary, summarize_sets
from promptcheck.stats.verdicts import ChangeJudgment, Judgment, holm, judge, judge_change, plan_sizes

__all__ = ["ChangeJudgment", "Judgment", "SetSummary", "holm", "judge", "judge_change", "plan_sizes", "summarize_sets"]
