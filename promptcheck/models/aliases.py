"""Short model names (``--model llama-7b``) and the config files that extend them.

Built-in aliases point at hub ids. Users add or override aliases in ``[tool.promptcheck.aliases]``
of ``pyproject.toml``, in ``promptcheck.toml`` (``[aliases]``) in the working folder, or in
``~/.config/promptcheck/config.toml`` (``[aliases]``). A value is a hub id or a path, or a
table ``{model = "...", revision = "..."}``.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from promptcheck.errors import InputError
from promptcheck.settings import config_files

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEFAULT_ALIAS = "default"

#: name -> hub id. ``default`` is the packaged SmolLM2-135M-Instruct (no download).
BUILTIN_ALIASES: dict[str, str] = {
    "smollm2-135m": "HuggingFaceTB/SmolLM2-135M-Instruct",
    "smollm2-360m": "HuggingFaceTB/SmolLM2-360M-Instruct",
    "smollm2-1.7b": "HuggingFaceTB/SmolLM2-1.7B-Instruct",
    "qwen2.5-0.5b": "Qwen/Qwen2.5-0.5B-Instruct",
    "qwen2.5-1.5b": "Qwen/Qwen2.5-1.5B-Instruct",
    "qwen2.5-7b": "Qwen/Qwen2.5-7B-Instruct",
    "llama-7b": "meta-llama/Llama-2-7b-chat-hf",
    "llama-3-8b": "meta-llama/Meta-Llama-3-8B-Instruct",
    "llama-3.2-1b": "meta-llama/Llama-3.2-1B-Instruct",
    "mistral-7b": "mistralai/Mistral-7B-Instruct-v0.3",
    "vicuna-7b": "lmsys/vicuna-7b-v1.5",
    "flan-t5-small": "google/flan-t5-small",
    "flan-t5-base": "google/flan-t5-base",
    "flan-t5-large": "google/flan-t5-large",
    "flan-t5-xl": "google/flan-t5-xl",
}


@dataclass(frozen=True)
class AliasTarget:
    model: str
    revision: str | None = None
    source: str = "built-in"


def _toml_line(exc: Exception) -> int | None:
    import re

    found = re.search(r"at line (\d+)", str(exc))
    return int(found.group(1)) if found else None


def read_aliases(path: Path) -> dict[str, AliasTarget]:
    """The aliases one config file declares (none when it is missing); a malformed file is one line."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except OSError:
        return {}
    except UnicodeDecodeError:
        raise InputError("not valid UTF-8 text", file=path) from None
    except tomllib.TOMLDecodeError as exc:
        message = str(exc).split(" (at line")[0]
        raise InputError(f"invalid TOML: {message}", file=path, line=_toml_line(exc)) from None
    if path.name == "pyproject.toml":
        field = "tool.promptcheck.aliases"
        table: object = data
        for key in ("tool", "promptcheck"):
            table = table.get(key) if isinstance(table, Mapping) else None
            if table is None:
                return {}
            if not isinstance(table, Mapping):
                raise InputError(
                    "must be a table", file=path, field=field.rsplit(".", 1)[0] if key == "promptcheck" else "tool"
                )
        table = table.get("aliases") if isinstance(table, Mapping) else None
    else:
        field = "aliases"
        table = data.get("aliases")
    if table is None:
        return {}
    if not isinstance(table, Mapping):
        raise InputError("must be a table of name = model", file=path, field=field)
    out = {}
    for name, value in table.items():
        where = f"{field}.{name}"
        if name == DEFAULT_ALIAS:
            raise InputError(
                "'default' is the packaged model and cannot be redefined; choose another name", file=path, field=where
            )
        if isinstance(value, str) and value.strip():
            out[name] = AliasTarget(value.strip(), None, str(path))
        elif isinstance(value, Mapping) and isinstance(value.get("model"), str) and value["model"].strip():
            unknown = sorted(set(value) - {"model", "revision"})
            if unknown:
                raise InputError(
                    f"unknown key(s) {', '.join(unknown)}; expected model and revision", file=path, field=where
                )
            rev = value.get("revision")
            if rev is not None and (not isinstance(rev, str) or not rev.strip()):
                raise InputError("must be a branch, tag or commit (a string)", file=path, field=f"{where}.revision")
            out[name] = AliasTarget(value["model"].strip(), rev.strip() if rev else None, str(path))
        else:
            raise InputError("must be a model id/path or a table with 'model'", file=path, field=where)
    return out


def alias_table(extra: Mapping[str, str] | None = None) -> dict[str, AliasTarget]:
    """Built-in aliases, overridden by config files, overridden by ``extra``."""
    table = {k: AliasTarget(v) for k, v in BUILTIN_ALIASES.items()}
    for path in config_files():
        if path.is_file():
            table.update(read_aliases(path))
    for k, v in (extra or {}).items():
        table[k] = AliasTarget(v, None, "argument")
    return table


def resolve_alias(name: str, extra: Mapping[str, str] | None = None) -> AliasTarget | None:
    """The target of ``name`` if it is an alias (following chains), else None."""
    table = alias_table(extra)
    chain = [name]
    target = None
    while name in table and name != DEFAULT_ALIAS:
        target = table[name]
        name = target.model
        if name in chain:
            raise InputError(
                f"aliases form a loop: {' -> '.join(chain + [name])}",
                file=target.source if target.source not in ("built-in", "argument") else None,
                field="aliases",
            )
        chain.append(name)
    return target
