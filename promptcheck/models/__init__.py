"""Models: the Scorer protocol and the transformers backend that implements it."""

from promptcheck.models.base import ChoiceScores, ModelIdentity, Scorer

__all__ = ["ChoiceScores", "ModelIdentity", "Scorer", "load_model"]


def __getattr__(name: str):  # lazy: importing promptcheck must not import torch
    if name == "load_model":
        from promptcheck.models.loading import load_model

        return load_model
    raise AttributeError(name)
