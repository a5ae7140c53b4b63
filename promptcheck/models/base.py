"""The model contract: the Scorer protocol every backend implements, and optional capabilities.

A backend turns (context, continuations) requests into one log-probability per
continuation. Keeping the required part this small lets a served model (vLLM's OpenAI-compatible
server) or a caching wrapper stand in for the in-process transformers model. What only some
backends can do (count tokens, give hidden states, ...) is declared below as runtime-checkable
protocols and asked for with :func:`capability`, never probed with ``getattr``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, TypeVar, runtime_checkable

from promptcheck.prompts.rendering import Prompt

if TYPE_CHECKING:  # numpy only for a type: importing the contract stays cheap
    import numpy as np


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


# -- Optional capabilities ---------------------------------------------------------------------
# Like lm-evaluation-harness's LM / TemplateLM, the required part is small (above) and what some
# backends can do besides is declared here. A caller asks ``capability(scorer, Kind)`` instead
# of probing attributes; a wrapper (the score cache) is looked through to the backend it wraps.


@runtime_checkable
class CountsTokens(Protocol):
    """Knows the model's context length and how many tokens a prompt needs (``too_long="skip"``).

    A backend without it reports a prompt that is too long itself, when scoring it.
    """

    max_length: int | None  # None: the model states no limit

    def prompt_lengths(self, prompts: Sequence[Prompt]) -> list[int]:
        """Tokens each prompt needs in the model's context (the longest choice for causal models)."""
        ...


@runtime_checkable
class Fingerprinted(Protocol):
    """Says what besides :class:`ModelIdentity` decides its numbers, for the score cache's key."""

    def fingerprint(self) -> dict[str, str]:
        """Short strings (hashes of config and tokenizer, say); a change means other numbers."""
        ...


@runtime_checkable
class StoresInChunks(Protocol):
    """Asks the score cache to store every ``cache_chunk`` prompts (a served model: a few requests)."""

    cache_chunk: int


@runtime_checkable
class UsesChatTemplate(Protocol):
    """Says whether prompts go through the model's chat template (recorded with the results)."""

    use_chat_template: bool


@runtime_checkable
class Batched(Protocol):
    """Batches in this process: sequences and padded tokens per forward pass (recorded with the results)."""

    batch_size: int
    batch_tokens: int


@runtime_checkable
class HasHiddenStates(Protocol):
    """Gives hidden states where the answer is read from (representation analysis, paper section 4.5)."""

    is_seq2seq: bool

    def hidden_states(self, contexts: Sequence[str], *, batch_size: int = 16) -> np.ndarray:
        """``(states, contexts, hidden)`` float32: every layer (0 = embeddings) at the position that
        predicts the answer's first token, with contexts tokenized as ``score`` tokenizes them."""
        ...


@runtime_checkable
class Wrapper(Protocol):
    """A scorer in front of another (the score cache): capabilities are the wrapped scorer's."""

    inner: Scorer


C = TypeVar("C")


def capability(scorer: object, kind: type[C]) -> C | None:
    """``scorer`` as a ``kind`` (one of the protocols above), or None when it lacks that capability.

    Wrappers are looked through, so a cached scorer counts tokens exactly when its backend does.

    >>> capability(load_model("default"), CountsTokens).max_length  # doctest: +SKIP
    8192
    """
    while not isinstance(scorer, kind):
        if not isinstance(scorer, Wrapper):
            return None
        scorer = scorer.inner
    return scorer
