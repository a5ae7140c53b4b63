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

from promptcheck.errors import InputError
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


@dataclass(frozen=True)
class GenerationRequest:
    """One free-form answer to write: greedy decoding after ``context``.

    ``context`` is the full prompt text, rendered exactly as a scored :class:`Prompt`'s context
    (``promptcheck.prompts.render`` with the scorer's ``chat_formatter()``: chat template applied,
    assistant turn opened), and a backend tokenizes it as it tokenizes that context for scoring,
    so a prompt reads the same to the model whether it is scored or answered.
    ``max_new_tokens`` bounds the answer; generation also ends at the model's end-of-sequence
    token or once the text holds one of the ``stop`` strings (the text is then cut before it).
    A bad field is an :class:`~promptcheck.errors.InputError` naming it.
    """

    context: str
    max_new_tokens: int = 32
    stop: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.context, str):
            raise InputError(f"context must be text, not {type(self.context).__name__}", field="context")
        n = self.max_new_tokens
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise InputError(f"must be a positive integer, not {n!r}", field="max_new_tokens")
        stop = (self.stop,) if isinstance(self.stop, str) else self.stop  # "\n" means ("\n",), as in the OpenAI API
        if not isinstance(stop, (tuple, list)) or not all(isinstance(s, str) and s for s in stop):
            raise InputError(f"stop must be non-empty strings, not {self.stop!r}", field="stop")
        object.__setattr__(self, "stop", tuple(stop))


#: How a generation ended: a stop string, ``max_new_tokens``, or the model's end-of-sequence token.
FINISH_REASONS = ("stop", "length", "eos")


@dataclass(frozen=True)
class Generation:
    """The answer written for one :class:`GenerationRequest`.

    ``text`` is the decoded answer, special tokens left out; with ``finish == "stop"`` it ends
    right before the earliest stop string (which is not included). ``finish`` is one of
    :data:`FINISH_REASONS`: "stop", "length" (``max_new_tokens`` reached) or "eos".
    """

    text: str
    finish: str

    def __post_init__(self) -> None:
        if self.finish not in FINISH_REASONS:
            raise ValueError(f"finish must be one of {FINISH_REASONS}, not {self.finish!r}")


def first_stop(text: str, stop: Sequence[str]) -> int | None:
    """Where the earliest of the ``stop`` strings starts in ``text``, or None (every backend cuts here)."""
    found = [i for i in (text.find(s) for s in stop) if i >= 0]
    return min(found) if found else None


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
class Generates(Protocol):
    """Writes free-form answers: greedy decoding, so the same requests give the same text.

    A generative task asks ``capability(scorer, Generates)``; a model without it cannot answer one.
    """

    def generate(
        self, requests: Sequence[GenerationRequest], *, progress: ProgressCallback | None = None
    ) -> list[Generation]:
        """One :class:`Generation` per request, in request order; ``progress(n)``: n more requests done."""
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
