"""``promptcheck fix``: soft-prompt alignment (prompt tuning + KL to the reference) on failing tasks."""

from typing import Any

from promptcheck.fix.config import FixConfig

__all__ = ["FixConfig", "run_fix"]


def __getattr__(name: str) -> Any:  # torch and peft load only when fixing
    if name == "run_fix":
        from promptcheck.fix.run import run_fix

        return run_fix
    raise AttributeError(name)
