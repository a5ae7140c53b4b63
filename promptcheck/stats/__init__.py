"""Statistics over evaluation results: accuracy per instruction set and drops vs the reference."""

from promptcheck.stats.summary import SetSummary, summarize_sets

__all__ = ["SetSummary", "summarize_sets"]
