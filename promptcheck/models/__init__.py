"""Models: the Scorer contract (base.py), the backends that implement it, and ``load_model``."""

from typing import Any

from promptcheck.models.base import ChoiceScores, ModelIdentity, Scorer

__all__ = ["ChoiceScores", "ModelIdentity", "Scorer", "load_model"]


def __getattr__(name: str) -> Any:  # lazy: importing promptcheck must not import torch
    if name == "load_model":
        from promptcheck.models.loading import load_model

        return load_model
    raise AttributeError(name)
