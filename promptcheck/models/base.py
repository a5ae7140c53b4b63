"""The Scorer protocol: what evaluation needs from any model backend, and nothing more.

A backend turns (context, continuations) requests into one log-probability per
continuation. Keeping the protocol this small lets a served model (vLLM's OpenAI-compatible
server) or a caching wrapper stand in for the in-process transformers model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from promptcheck.prompts.rendering import Prompt


@dataclass(frozen=True)
class ModelIdentity:
    """Everything a result needs to say which model produced it.

    ``weights_hash`` is a hash of the weight files (or of the packaged GGUF) when the model is
    local; ``revision`` is the hub revision when it came from the hub.
    """

    id: str
    revision: str | None = None
    weights_hash: str | None = None
    dtype: str = "float32"
    device: str = "cpu"
    adapter: str | None = None
    adapter_hash: str | None = None
    architecture: str = ""
    is_seq2seq: bool = False

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "revision": self.revision,
            "weights_hash": self.weights_hash,
            "dtype": self.dtype,
            "device": self.device,
            "adapter": self.adapter,
            "adapter_hash": self.adapter_hash,
            "architecture": self.architecture,
            "is_seq2seq": self.is_seq2seq,
        }


@dataclass(frozen=True)
class ChoiceScores:
    """Log-probabilities of each continuation of one prompt.

    ``logprobs[k]`` is the summed log-probability of continuation ``k``'s tokens;
    ``n_tokens[k]`` and ``n_chars[k]`` allow length normalisation.
    """

    logprobs: tuple[float, ...]
    n_tokens: tuple[int, ...] = field(default=())
    n_chars: tuple[int, ...] = field(default=())

    def normalised(self, how: str = "none") -> tuple[float, ...]:
        """Scores used for the argmax: raw sums, per token, or per character (lm-eval's acc_norm)."""
        if how == "tokens":
            return tuple(lp / max(n, 1) for lp, n in zip(self.logprobs, self.n_tokens))
        if how == "chars":
            return tuple(lp / max(n, 1) for lp, n in zip(self.logprobs, self.n_chars))
        return self.logprobs


ProgressCallback = Callable[[int], None]


@runtime_checkable
class Scorer(Protocol):
    """A model that scores answer continuations. ``promptcheck.load_model`` returns one."""

    identity: ModelIdentity

    def chat_formatter(self) -> Callable[[str], str] | None:
        """How a user message becomes the model's prompt text, or None for raw text."""
        ...

    def score(self, prompts: Sequence[Prompt], *, progress: ProgressCallback | None = None) -> list[ChoiceScores]:
        """Score every continuation of every prompt; ``progress(n)`` reports n more prompts done."""
        ...
