"""``load_model``: turn a name, path, hub id, GGUF file or server URL into a ready Scorer.

Resolution order: ``http(s)://`` URLs (a served model, :mod:`promptcheck.models.served`) ->
``default`` (the packaged model) -> an alias -> an existing local path (a model folder, or a
``.gguf`` file) -> a hub id. The hub path is real code, used by users who
are online; nothing in the test suite depends on it.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from promptcheck.errors import ModelLoadError
from promptcheck.fileio import cached_sha256
from promptcheck.models.aliases import DEFAULT_ALIAS, resolve_alias
from promptcheck.models.base import ModelIdentity, Scorer
from promptcheck.models.served import is_url
from promptcheck.options import DEVICE_MAPS, DEVICE_PATTERN, DEVICE_WORDS, DTYPES
from promptcheck.settings import cache_dir

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".gguf")
#: Weight files torch loads with pickle, which can run code on load.
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt")
#: Files a tokenizer is built from; a folder with none of them has no tokenizer.
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "tokenizer.model",
    "spiece.model",
    "vocab.json",
    "vocab.txt",
    "sentencepiece.bpe.model",
)


def check_model_folder(path: Path, *, trust_remote_code: bool, allow_pickle: bool) -> None:
    """Refuse a local model folder before transformers touches it: missing parts, code, pickles.

    Checking here gives one clear line (and the flag that overrides it) instead of whatever
    transformers raises half-way through a load.
    """
    import json

    config_path = path / "config.json"
    if not config_path.is_file():
        if any(path.glob("*.gguf")):
            return
        raise ModelLoadError("not a model folder (no config.json)", file=path, field="model")
    try:
        config = json.loads(config_path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ModelLoadError(f"config.json is not valid JSON: {exc}", file=path, field="model") from None
    if not isinstance(config, dict):
        raise ModelLoadError("config.json must be a JSON object", file=path, field="model")
    if config.get("auto_map") and not trust_remote_code:
        code = sorted(p.name for p in path.glob("*.py"))
        raise ModelLoadError(
            f"needs its own Python code to load ({', '.join(code) or 'auto_map in config.json'}); "
            "pass --trust-remote-code only if you have read that code",
            file=path,
            field="model",
        )
    names = {p.name for p in path.iterdir() if p.is_file()}
    safetensors = [n for n in names if n.endswith(".safetensors")]
    pickles = sorted(n for n in names if n.endswith(PICKLE_SUFFIXES) and n != "training_args.bin")
    if not safetensors and pickles and not allow_pickle:
        raise ModelLoadError(
            f"has only pickle weights ({', '.join(pickles[:3])}), which can run code when loaded; convert them "
            "to safetensors, or pass --allow-pickle only if you trust the file",
            file=path,
            field="model",
        )
    if not safetensors and not pickles:
        raise ModelLoadError("has no weights (no *.safetensors file)", file=path, field="model")
    if not names & set(TOKENIZER_FILES):
        raise ModelLoadError(
            f"has no tokenizer (none of {', '.join(TOKENIZER_FILES[:3])}, ...)", file=path, field="model"
        )


def check_adapter_folder(folder: Path) -> None:
    """An adapter is checked before the (slow) model load, so a typo costs seconds."""
    import json

    config_path = folder / "adapter_config.json"
    if not config_path.is_file():
        what = "no such folder" if not folder.exists() else "not a peft adapter folder (no adapter_config.json)"
        raise ModelLoadError(what, file=folder, field="adapter")
    try:
        config = json.loads(config_path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ModelLoadError(f"adapter_config.json is not valid JSON: {exc}", file=folder, field="adapter") from None
    if not isinstance(config, dict) or not isinstance(config.get("peft_type"), str):
        raise ModelLoadError("adapter_config.json has no peft_type; not a peft adapter", file=folder, field="adapter")
    if not (folder / "adapter_model.safetensors").is_file():
        raise ModelLoadError(
            "has no adapter_model.safetensors (pickle adapters are not loaded)", file=folder, field="adapter"
        )


def _torch_dtype(name: str, device: str) -> Any:
    import torch

    if name not in DTYPES:
        raise ModelLoadError(f"must be one of {', '.join(DTYPES)}, got {name!r}", field="dtype")
    if name == "auto":
        return torch.bfloat16 if device.startswith("cuda") else torch.float32
    return getattr(torch, name)


def _device(name: str) -> str:
    import re

    import torch

    if not re.fullmatch(DEVICE_PATTERN, name or ""):
        raise ModelLoadError(f"must be {DEVICE_WORDS}, got {name!r}", field="device")
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ModelLoadError("CUDA was asked for but torch sees no GPU", field="device")
    return name


def weights_hash(folder: Path, root: Path) -> str | None:
    """A hash over a local model's weight files (each file's sha256 is cached by size and mtime)."""
    files = sorted(p for p in folder.iterdir() if p.suffix in WEIGHT_SUFFIXES and p.is_file())
    if not files:
        return None
    h = hashlib.sha256()
    for p in files:
        h.update(p.name.encode() + b"\0" + cached_sha256(p, root).encode())
    return h.hexdigest()


def adapter_hash(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.iterdir()):
        if p.is_file() and (p.suffix in (".safetensors", ".bin") or p.name == "adapter_config.json"):
            h.update(p.name.encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


def _load_hf(
    source: str,
    *,
    gguf_file: str | None,
    revision: str | None,
    dtype: Any,
    trust_remote_code: bool,
    allow_pickle: bool,
    device_map: str | None = None,
) -> tuple[Any, Any]:
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # our own progress bar is the one that matters
    try:  # failures arrive as exceptions and become one line; the hub's retry warnings would add more
        from huggingface_hub.utils import logging as hub_logging

        hub_logging.set_verbosity_error()
    except ImportError:  # pragma: no cover
        pass
    kwargs: dict[str, Any] = {"revision": revision, "trust_remote_code": trust_remote_code}
    if gguf_file:
        kwargs["gguf_file"] = gguf_file
    where = str(Path(source) / gguf_file) if gguf_file else source
    try:
        config = AutoConfig.from_pretrained(source, **kwargs)
        tokenizer = AutoTokenizer.from_pretrained(source, **kwargs)
        cls = AutoModelForSeq2SeqLM if getattr(config, "is_encoder_decoder", False) else AutoModelForCausalLM
        if device_map is not None:
            # accelerate places the layers over every visible GPU (then CPU RAM) as they load.
            kwargs["device_map"] = device_map
        model = cls.from_pretrained(
            source, config=config, dtype=dtype, use_safetensors=None if allow_pickle or gguf_file else True, **kwargs
        )
    except OSError as exc:
        raise ModelLoadError(f"cannot load model: {_first_line(exc)}", file=where, field="model") from None
    except (ValueError, KeyError, TypeError, RuntimeError, EOFError, _safetensors_error()) as exc:
        # RuntimeError: shape mismatches; SafetensorError: a truncated or corrupt weights file.
        message = _first_line(exc)
        if "custom code" in message or "trust_remote_code" in message:
            message = "needs its own Python code to load; pass --trust-remote-code only if you have read that code"
        raise ModelLoadError(f"not a usable model: {message}", file=where, field="model") from None
    return model, tokenizer


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0].rstrip(": ") if text else type(exc).__name__


def _safetensors_error() -> type[BaseException]:
    try:
        from safetensors import SafetensorError
    except ImportError:  # pragma: no cover - transformers depends on safetensors
        return OSError
    return SafetensorError


def load_model(
    name_or_path: str = DEFAULT_ALIAS,
    *,
    revision: str | None = None,
    dtype: str = "float32",
    device: str = "cpu",
    adapter: str | os.PathLike[str] | None = None,
    chat_template: bool | None = None,
    batch_size: int | None = None,
    max_memory: int | str | None = None,
    trust_remote_code: bool = False,
    allow_pickle: bool = False,
    aliases: Mapping[str, str] | None = None,
    cache: str | os.PathLike[str] | None = None,
    device_map: str | None = None,
    served_model: str | None = None,
    api_key_env: str | None = None,
    max_concurrency: int = 8,
    tokenizer: str | None = None,
) -> Scorer:
    """Load a model to score with.

    ``name_or_path`` is ``"default"`` (the packaged SmolLM2-135M-Instruct, no download), an
    alias (``"llama-7b"``, see :mod:`promptcheck.models.aliases`), a local model folder, a
    ``.gguf`` file, or a hub id (``revision`` picks a branch, tag or commit). ``dtype``
    ``bfloat16`` halves memory (a 7B model then fits 24 GiB). ``chat_template``: None uses
    the tokenizer's template when it has one. ``adapter`` is a peft adapter folder.
    ``max_memory`` ("2GiB", bytes) bounds one forward pass; the batch is sized to fit it.
    Remote code and pickle checkpoints are refused unless explicitly allowed.

    ``device_map="auto"`` spreads a model that does not fit one GPU over all of them
    (accelerate), instead of ``device``.

    ``"http://HOST:PORT/v1"`` (or several, comma-separated: data-parallel replicas) scores
    through OpenAI-compatible servers (vLLM): ``served_model`` names the model when a server
    has several, the API key is read from the environment variable ``api_key_env``
    (``PROMPTCHECK_API_KEY`` when not given), ``max_concurrency`` bounds requests in flight per
    endpoint, and ``tokenizer`` (a folder, hub id or ``default``) supplies the chat template.

    >>> model = load_model("default")   # doctest: +SKIP
    >>> model = load_model("http://gpu-node:8000/v1", served_model="llama-70b")  # doctest: +SKIP
    """
    if is_url(name_or_path or ""):
        if adapter is not None or revision is not None or device_map is not None:
            raise ModelLoadError(
                "adapter, revision and device map apply to local models, not to a served one", field="model"
            )
        return _load_served(
            name_or_path,
            served_model=served_model,
            api_key_env=api_key_env,
            max_concurrency=max_concurrency,
            tokenizer=tokenizer,
            chat_template=chat_template,
            aliases=aliases,
            cache=cache,
            trust_remote_code=trust_remote_code,
        )
    if device_map is not None and device_map not in DEVICE_MAPS:
        raise ModelLoadError(f"must be one of {', '.join(DEVICE_MAPS)}, got {device_map!r}", field="device_map")
    root = cache_dir(cache)
    from promptcheck.models.memory import parse_memory

    budget = parse_memory(max_memory)  # checked before minutes of loading
    dev = _device("auto" if device_map is not None else device)
    torch_dtype = _torch_dtype(dtype, dev)
    name = (name_or_path or DEFAULT_ALIAS).strip()
    display = name
    alias = resolve_alias(name, aliases)
    if alias is not None:
        name, revision = alias.model, revision or alias.revision
    w_hash: str | None = None
    gguf_file: str | None = None
    if name == DEFAULT_ALIAS:
        from promptcheck.models.packaged import DISPLAY_NAME, converted_copy

        folder, w_hash = converted_copy(root)
        source, display = str(folder), DISPLAY_NAME
    else:
        path = Path(name).expanduser()
        if path.is_file() and path.suffix.lower() == ".gguf":
            source, gguf_file = str(path.parent), path.name
            w_hash = cached_sha256(path, root)
        elif path.is_dir():
            check_model_folder(path, trust_remote_code=trust_remote_code, allow_pickle=allow_pickle)
            source = str(path)
            w_hash = weights_hash(path, root)
        elif path.exists():
            raise ModelLoadError("not a model folder or .gguf file", file=path, field="model")
        elif name.startswith((".", "/", "~")) or os.sep in name.strip("/").replace("/", "", 1):
            raise ModelLoadError("no such file or folder", file=path, field="model")
        else:
            source = name  # a hub id
    if adapter is not None:
        check_adapter_folder(Path(adapter))
    model, tokenizer = _load_hf(
        source,
        gguf_file=gguf_file,
        revision=revision,
        dtype=torch_dtype,
        trust_remote_code=trust_remote_code,
        allow_pickle=allow_pickle,
        device_map=device_map,
    )
    if device_map is None:
        model.to(dev)
    else:
        dev = _placement(model)
    model.eval()
    a_hash = None
    if adapter is not None:
        model, a_hash = _attach_adapter(model, Path(adapter))
    if revision is None:
        revision = getattr(model.config, "_commit_hash", None) if w_hash is None else None
    identity = ModelIdentity(
        id=display,
        revision=revision,
        weights_hash=w_hash,
        dtype=str(torch_dtype).replace("torch.", ""),
        device=dev,
        adapter=str(adapter) if adapter is not None else None,
        adapter_hash=a_hash,
        architecture=type(model).__name__,
        is_seq2seq=bool(getattr(model.config, "is_encoder_decoder", False)),
    )
    from promptcheck.models.hf import HFScorer

    return HFScorer(
        model, tokenizer, identity, use_chat_template=chat_template, batch_size=batch_size, max_memory=budget
    )


def _placement(model: Any) -> str:
    """Where accelerate put a device-mapped model: ``cuda:0``, or ``map:cuda:0,cuda:1,cpu``."""
    placed = sorted(
        {
            str(d) if not isinstance(d, int) else f"cuda:{d}"
            for d in (getattr(model, "hf_device_map", None) or {}).values()
        }
    )
    if not placed:
        return str(next(model.parameters()).device)
    return placed[0] if len(placed) == 1 else "map:" + ",".join(placed)


def _load_served(
    spec: str,
    *,
    served_model: str | None,
    api_key_env: str | None,
    max_concurrency: int,
    tokenizer: str | None,
    chat_template: bool | None,
    aliases: Mapping[str, str] | None,
    cache: str | os.PathLike[str] | None,
    trust_remote_code: bool,
) -> Scorer:
    from promptcheck.models.served import ServedScorer, parse_endpoints
    from promptcheck.settings import api_key

    formatter = None
    if chat_template is not False and tokenizer is not None:
        formatter = _chat_formatter(
            tokenizer, aliases=aliases, cache=cache, trust_remote_code=trust_remote_code, required=bool(chat_template)
        )
    elif chat_template:
        raise ModelLoadError(
            "a served model's chat template comes from a local tokenizer: pass --tokenizer "
            "(a folder, a hub id or 'default')",
            field="chat_template",
        )
    return ServedScorer(
        parse_endpoints(spec),
        served_model=served_model,
        api_key=api_key(api_key_env),
        max_concurrency=max_concurrency,
        chat_template=formatter,
    )


def _chat_formatter(
    name: str,
    *,
    aliases: Mapping[str, str] | None,
    cache: str | os.PathLike[str] | None,
    trust_remote_code: bool,
    required: bool,
) -> Any:
    """The chat template of a local tokenizer, rendered as the in-process backend renders it."""
    from transformers import AutoTokenizer

    source, gguf_file = name, None
    alias = resolve_alias(name, aliases)
    if alias is not None:
        source = alias.model
    if source == DEFAULT_ALIAS:
        from promptcheck.models.packaged import converted_copy

        source = str(converted_copy(cache_dir(cache))[0])
    elif Path(source).expanduser().is_file() and source.lower().endswith(".gguf"):
        path = Path(source).expanduser()
        source, gguf_file = str(path.parent), path.name
    try:
        tok = AutoTokenizer.from_pretrained(source, gguf_file=gguf_file, trust_remote_code=trust_remote_code)
    except (OSError, ValueError, KeyError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelLoadError(f"cannot load tokenizer: {first}", file=name, field="tokenizer") from None
    if not getattr(tok, "chat_template", None):
        if required:
            raise ModelLoadError("this tokenizer has no chat template", file=name, field="tokenizer")
        return None

    def fmt(user_text: str, system: str | None = None) -> str:
        from promptcheck.prompts.rendering import chat_template_text

        return chat_template_text(tok, user_text, system)

    return fmt


def _attach_adapter(model: Any, folder: Path) -> tuple[Any, str]:
    check_adapter_folder(folder)
    from peft import PeftModel

    try:
        wrapped = PeftModel.from_pretrained(model, str(folder))
    except (OSError, ValueError, KeyError, TypeError, RuntimeError, _safetensors_error()) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelLoadError(f"cannot load adapter: {first}", file=folder, field="adapter") from None
    wrapped.eval()
    return wrapped, adapter_hash(folder)
