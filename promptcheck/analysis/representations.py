"""Representation analysis (Sun et al. 2023, section 4.5): are unobserved instructions far from
observed ones inside the model, and does that distance go with a larger accuracy drop?

For each instruction, the model's hidden state at one layer and one position is taken for every
item's prompt and averaged over items. Which layer and position by default follows the paper's
released code (InstructionEval, ``embedding_evaluation/get_embeddings.ipynb``): for Flan-T5 it
reads ``decoder_hidden_states[0][1]``, the output of decoder block 1 at the first decoding step,
i.e. where the answer's first token is predicted. Encoder-decoder models here use exactly that.
Decoder-only models (the default SmolLM2) have no decoder-after-encoder, so the analogue is the
position that predicts the answer's first token, the last prompt token, at the last layer (the
state the answer is read from); ``layer=`` picks any other (0 = embeddings, -1 = last).

Then: the cosine distance from each unobserved (and generated) instruction to its nearest
observed one (the reference counts as observed), a 2-D projection of all instructions (PCA by
default; t-SNE with scikit-learn), and the Spearman and Pearson correlation of that distance
with the instruction's accuracy drop. Everything is deterministic (no sampling; PCA signs fixed;
t-SNE seeded).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from promptcheck.errors import InputError
from promptcheck.evaluation.results import TaskResult
from promptcheck.models.base import HasHiddenStates, Scorer, capability
from promptcheck.prompts.rendering import render

PROJECTIONS = ("pca", "tsne")
_NEW_KINDS = ("unobserved", "generated")
_SEEN_KINDS = ("reference", "observed")


def _resolve_layer(n_states: int, layer: int | None, seq2seq: bool) -> int:
    """Index into ``hidden_states`` (0 = embeddings); ``None`` is the paper's choice (module docstring)."""
    if layer is None:
        layer = 1 if seq2seq else n_states - 1
    index = layer if layer >= 0 else n_states + layer
    if not 0 <= index < n_states:
        raise InputError(
            f"layer {layer} does not exist: the model has hidden states 0..{n_states - 1} (0 = embeddings)",
            field="--representation-layer",
        )
    return index


def instruction_states(
    scorer: Scorer, result: TaskResult, *, layer: int | None = None, batch_size: int = 16
) -> tuple[np.ndarray, int]:
    """(n_instructions, hidden) mean hidden state per instruction of ``result``, and the layer index used."""
    model = _with_hidden_states(scorer)
    fmt = scorer.chat_formatter()
    task = result.task
    means, used = [], -1
    for ins in result.instructions:
        contexts = [render(ins.text, item, task, chat_formatter=fmt).context for item in task.items]
        states = model.hidden_states(contexts, batch_size=batch_size)
        used = _resolve_layer(states.shape[0], layer, model.is_seq2seq)
        means.append(states[used].astype(np.float64).sum(axis=0) / len(contexts))
    return np.vstack(means), used


def _with_hidden_states(scorer: Scorer) -> HasHiddenStates:
    model = capability(scorer, HasHiddenStates)
    if model is None:
        raise InputError(
            "representations need a transformers model (a local folder, .gguf, hub id or 'default'), not this scorer",
            field="--representations",
        )
    return model


def cosine_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """1 - cosine similarity between every row of ``a`` and every row of ``b``."""
    an = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    bn = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return 1.0 - an @ bn.T


def pca_2d(x: np.ndarray) -> tuple[np.ndarray, list[float]]:
    """Project rows onto their first two principal components; signs fixed so runs agree."""
    centred = x - x.mean(axis=0)
    u, s, vt = np.linalg.svd(centred, full_matrices=False)
    k = min(2, vt.shape[0])
    for i in range(k):  # an SVD's signs are arbitrary: make each component's largest loading positive
        if vt[i, np.argmax(np.abs(vt[i]))] < 0:
            vt[i] *= -1
    coords = centred @ vt[:k].T
    if k < 2:
        coords = np.hstack([coords, np.zeros((coords.shape[0], 2 - k))])
    var = s**2
    share = (var[:2] / var.sum()).tolist() if var.sum() > 0 else [0.0, 0.0]
    return coords, share


def tsne_2d(x: np.ndarray, seed: int) -> np.ndarray:
    try:
        from sklearn.manifold import TSNE
    except ImportError:
        raise InputError(
            "t-SNE needs scikit-learn: pip install 'promptcheck[analysis]' (or use --projection pca)",
            field="--projection",
        ) from None
    perplexity = float(max(1, min(30, x.shape[0] - 1)))
    return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(x)


def analyse(
    states: np.ndarray,
    kinds: Sequence[str],
    accuracies: Sequence[float],
    reference_accuracy: float,
    *,
    projection: str = "pca",
    seed: int = 0,
) -> dict[str, Any]:
    """Distances, projection and correlation from per-instruction states (rows in ``kinds`` order)."""
    from scipy import stats as sps

    if projection not in PROJECTIONS:
        raise InputError(f"must be one of {', '.join(PROJECTIONS)}, got {projection!r}", field="--projection")
    seen = [j for j, k in enumerate(kinds) if k in _SEEN_KINDS]
    new = [j for j, k in enumerate(kinds) if k in _NEW_KINDS]
    nearest: dict[int, tuple[int, float]] = {}
    if seen and new:
        d = cosine_distances(states[new], states[seen])
        for row, j in enumerate(new):
            col = int(np.argmin(d[row]))
            nearest[j] = (seen[col], float(d[row, col]))
    if projection == "pca":
        coords, share = pca_2d(states)
    else:
        coords, share = tsne_2d(states, seed), None
    rows = []
    for j, kind in enumerate(kinds):
        near = nearest.get(j)
        rows.append(
            {
                "index": j,
                "kind": kind,
                "x": float(coords[j, 0]),
                "y": float(coords[j, 1]),
                "drop": float(reference_accuracy - accuracies[j]),
                "nearest_observed": near[0] if near else None,
                "distance": near[1] if near else None,
            }
        )
    dist = np.asarray([nearest[j][1] for j in new if j in nearest])
    drops = np.asarray([reference_accuracy - accuracies[j] for j in new if j in nearest])
    corr: dict[str, Any] = {
        "n": int(dist.size),
        "spearman": None,
        "spearman_p": None,
        "pearson": None,
        "pearson_p": None,
    }
    if dist.size >= 3 and np.ptp(dist) > 0 and np.ptp(drops) > 0:
        s = sps.spearmanr(dist, drops)
        p = sps.pearsonr(dist, drops)
        corr.update(
            spearman=float(s.statistic),
            spearman_p=float(s.pvalue),
            pearson=float(p.statistic),
            pearson_p=float(p.pvalue),
        )
    return {
        "projection": projection,
        "explained_variance": share,
        "distance": "cosine",
        "instructions": rows,
        "correlation": corr,
    }


def representation_analysis(
    scorer: Scorer, result: TaskResult, *, layer: int | None = None, projection: str = "pca", seed: int = 0
) -> dict[str, Any]:
    """The whole section-4.5 analysis of one task result; a JSON-ready dict for ``tasks[].representations``."""
    if projection not in PROJECTIONS:
        raise InputError(f"must be one of {', '.join(PROJECTIONS)}, got {projection!r}", field="--projection")
    states, used = instruction_states(scorer, result, layer=layer)
    seq2seq = _with_hidden_states(scorer).is_seq2seq
    out = analyse(
        states,
        [r.kind for r in result.instructions],
        [r.accuracy for r in result.instructions],
        result.reference_accuracy,
        projection=projection,
        seed=seed,
    )
    return {
        "layer": used,
        "layer_requested": layer,
        "position": "first decoder step" if seq2seq else "last prompt token",
        "pooling": "mean over items",
        "hidden_size": int(states.shape[1]),
        **out,
    }
