"""pytest plugin (``pytest11`` entry point): options, settings, and the model fixture.

Thin by design, like pytest-benchmark's: options are resolved once in ``pytest_configure``
into a frozen :class:`PluginSettings` in ``config.stash``; fixtures read only that. Heavy
imports (torch, transformers) happen when a test first asks for a model, so ``pytest --help``
stays fast. Precedence: command line > ini (``[tool.pytest.ini_options]``) > default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from promptcheck.errors import PromptcheckError

_OPTIONS: list[tuple[str, str, str | None]] = [
    # (name, help, default)
    ("model", "model to test: 'default' (packaged SmolLM2-135M-Instruct), an alias, a folder, a .gguf or a hub id",
     None),
    ("adapter", "a peft adapter folder to load on the model", None),
    ("device", "cpu, cuda, cuda:N or auto", "cpu"),
    ("dtype", "float32, bfloat16, float16 or auto", "float32"),
    ("seed", "seed for paraphrases and hypothesis searches", "0"),
]


@dataclass(frozen=True)
class PluginSettings:
    """Every promptcheck setting of this pytest session, resolved once."""

    model: str | None
    adapter: str | None
    device: str
    dtype: str
    seed: int


SETTINGS_KEY = pytest.StashKey[PluginSettings]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("promptcheck", "promptcheck: robustness of language models to instruction paraphrases")
    for name, help_text, default in _OPTIONS:
        group.addoption(f"--promptcheck-{name}", dest=f"promptcheck_{name}", default=None,
                        help=f"{help_text} (ini: promptcheck_{name}; default: {default})")
        parser.addini(f"promptcheck_{name}", help=f"promptcheck: {help_text}", default=default)


def _resolve(config: pytest.Config) -> PluginSettings:
    def get(name: str) -> Any:
        cli = config.getoption(f"promptcheck_{name}")
        return cli if cli is not None else (config.getini(f"promptcheck_{name}") or None)

    seed_text = get("seed") or "0"
    try:
        seed = int(seed_text)
    except ValueError:
        raise pytest.UsageError(f"promptcheck: --promptcheck-seed must be an integer, got {seed_text!r}") from None
    return PluginSettings(model=get("model"), adapter=get("adapter"), device=get("device") or "cpu",
                          dtype=get("dtype") or "float32", seed=seed)


def pytest_configure(config: pytest.Config) -> None:
    config.stash[SETTINGS_KEY] = _resolve(config)


@pytest.fixture(scope="session")
def promptcheck_settings(pytestconfig: pytest.Config) -> PluginSettings:
    """The resolved promptcheck settings of this session."""
    return pytestconfig.stash[SETTINGS_KEY]


@pytest.fixture(scope="session")
def promptcheck_model(promptcheck_settings: PluginSettings) -> Any:
    """The model under test, loaded once per session (per xdist worker).

    Skips the test when no model was named: pytest never falls back to the default model on
    its own; ``--promptcheck-model=default`` asks for it.
    """
    s = promptcheck_settings
    if not s.model:
        pytest.skip("no model to test: pass --promptcheck-model=PATH_OR_ID (or 'default'), "
                    "or set promptcheck_model in the pytest ini")
    from promptcheck.models.loading import load_model

    try:
        return load_model(s.model, adapter=s.adapter, device=s.device, dtype=s.dtype)
    except PromptcheckError as exc:
        raise pytest.UsageError(f"promptcheck: {exc}") from None
