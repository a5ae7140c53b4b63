"""Where promptcheck keeps its files, resolved in one place.

No other module reads the environment: this is the single door for ``PROMPTCHECK_CACHE_DIR``
and ``XDG_CACHE_HOME``, so tests and the plugin can point everything elsewhere at once.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The cache root: ``override``, else ``$PROMPTCHECK_CACHE_DIR``, else ``$XDG_CACHE_HOME/promptcheck``."""
    if override:
        return Path(override).expanduser()
    env = os.environ.get("PROMPTCHECK_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "promptcheck"


def score_cache_path(cache_override: str | os.PathLike[str] | None = None) -> Path:
    """The score cache file: ``scores.sqlite`` in ``cache_override`` when one is named (the CLI's
    ``--cache-dir``, the plugin's ``--promptcheck-cache-dir``), else ``$PROMPTCHECK_SCORE_CACHE``,
    else ``scores.sqlite`` in the cache root."""
    if cache_override:
        return cache_dir(cache_override) / "scores.sqlite"
    env = os.environ.get("PROMPTCHECK_SCORE_CACHE")
    return Path(env).expanduser() if env else cache_dir() / "scores.sqlite"


def config_files() -> list[Path]:
    """Config files read for model aliases, lowest precedence first."""
    xdg = os.environ.get("XDG_CONFIG_HOME")
    user = (Path(xdg).expanduser() if xdg else Path.home() / ".config") / "promptcheck" / "config.toml"
    return [user, Path.cwd() / "pyproject.toml", Path.cwd() / "promptcheck.toml"]


#: Where a served model's API key is read from when no other variable is named.
DEFAULT_API_KEY_ENV = "PROMPTCHECK_API_KEY"


def api_key(env_name: str | None = None) -> str | None:
    """The API key for served models, from the environment only (never from a file in a repo).

    ``env_name`` names the variable (e.g. ``OPENAI_API_KEY``); by default ``PROMPTCHECK_API_KEY``.
    """
    value = os.environ.get(env_name or DEFAULT_API_KEY_ENV, "").strip()
    return value or None
