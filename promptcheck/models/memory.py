"""How many tokens fit in one forward pass: a memory budget, a per-token estimate, OOM detection.

The scorer batches by padded tokens, not by prompts, because memory grows with tokens: keys
and values for every layer, plus one layer's activations at a time. The estimate is
deliberately generous (activations of the widest layer counted in full, attention scores
materialised); when it is still wrong, an out-of-memory error halves the batch and retries
instead of ending the run.
"""

from __future__ import annotations

import re
from typing import Any

from promptcheck.errors import InputError

_UNITS = {
    "": 1,
    "b": 1,
    "k": 10**3,
    "kb": 10**3,
    "m": 10**6,
    "mb": 10**6,
    "g": 10**9,
    "gb": 10**9,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "t": 10**12,
    "tb": 10**12,
    "tib": 2**40,
}


def parse_memory(text: str | int | None, *, field: str = "max_memory") -> int | None:
    """``"2GiB"``, ``"1500MB"``, ``"3g"`` or a number of bytes; ``None``/``"auto"`` for the default."""
    if text is None or (isinstance(text, str) and text.strip().lower() in ("", "auto")):
        return None
    if isinstance(text, int):
        value = text
    else:
        m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", text)
        if not m or m.group(2).lower() not in _UNITS:
            raise InputError(f"not a memory size: {text!r} (e.g. 2GiB, 1500MB)", field=field)
        value = int(float(m.group(1)) * _UNITS[m.group(2).lower()])
    if value < 2**20:
        raise InputError(f"memory budget too small: {value} bytes (at least 1 MiB)", field=field)
    return value


#: The default budget for one forward pass. Fixed, not read from free memory, so the same
#: inputs give the same batches (and bit-identical scores) on every run; raise it with
#: ``--max-memory`` on a big machine or GPU.
DEFAULT_BUDGET = 2 * 2**30


def bytes_per_token(config: Any, dtype_bytes: int) -> int:
    """Upper estimate of the memory one token position costs inside a forward pass.

    Keys and values of every layer stay for the whole pass; one layer's activations (the
    MLP's gate, up and activation tensors are the widest) live at a time; attention scores
    add heads x sequence per token, counted here at 2048 positions.
    """
    cfg = config.get_text_config() if hasattr(config, "get_text_config") else config
    hidden = int(getattr(cfg, "hidden_size", 0) or getattr(cfg, "d_model", 512))
    layers = int(getattr(cfg, "num_hidden_layers", 0) or getattr(cfg, "num_layers", 12))
    heads = int(getattr(cfg, "num_attention_heads", 0) or getattr(cfg, "num_heads", 8))
    kv_heads = int(getattr(cfg, "num_key_value_heads", 0) or heads)
    head_dim = int(getattr(cfg, "head_dim", 0) or hidden // heads)
    inter = int(getattr(cfg, "intermediate_size", 0) or getattr(cfg, "d_ff", 4 * hidden))
    kv = 2 * layers * kv_heads * head_dim
    activations = 3 * inter + 6 * hidden
    scores = heads * 2048
    return (kv + activations + scores) * dtype_bytes


def is_out_of_memory(exc: BaseException) -> bool:
    """CUDA's OutOfMemoryError, or the CPU allocator's failure (a RuntimeError)."""
    import torch

    if isinstance(exc, torch.OutOfMemoryError):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and (
        "out of memory" in text or "can't allocate memory" in text or "cannot allocate memory" in text
    )
