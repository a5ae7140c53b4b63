"""Start vLLM's OpenAI-compatible server on this machine, as a child process.

For the served-model tests, the throughput benchmark, and trying the served backend without
a cluster. A real deployment starts vLLM itself (docs/scaling.md); promptcheck only talks to it.
vLLM runs from its own Python (``.venv-vllm`` from install.sh), since it pins libraries
promptcheck's venv has newer versions of.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from promptcheck.errors import ModelLoadError


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalVLLM:
    """``python -m vllm.entrypoints.openai.api_server`` on 127.0.0.1, stoppable and restartable.

    ``--enforce-eager`` skips torch.compile: the server is up in ~45 s instead of ~3.5 min on
    2 cores, and scores are the same. ``url`` is what ``--model`` takes.

    >>> server = LocalVLLM(".venv-vllm/bin/python", model_dir, log=Path("vllm.log"))  # doctest: +SKIP
    >>> server.start(); scorer = load_model(server.url, tokenizer="default")  # doctest: +SKIP
    """

    def __init__(
        self,
        python: str | os.PathLike[str],
        model_dir: str | os.PathLike[str],
        *,
        log: Path,
        served_name: str = "smollm2",
        port: int | None = None,
        dtype: str = "float32",
        max_model_len: int = 2048,
        start_timeout: float = 600.0,
    ) -> None:
        self.python, self.model_dir, self.log_path = Path(python), Path(model_dir), Path(log)
        self.served_name, self.dtype, self.max_model_len = served_name, dtype, max_model_len
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.start_timeout = start_timeout
        self.proc: subprocess.Popen | None = None

    def command(self) -> list[str]:
        return [
            str(self.python),
            "-m",
            "vllm.entrypoints.openai.api_server",
            "--model",
            str(self.model_dir),
            "--served-model-name",
            self.served_name,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--dtype",
            self.dtype,
            "--max-model-len",
            str(self.max_model_len),
            "--enforce-eager",
        ]

    def start(self) -> float:
        """Start and wait until ``/v1/models`` answers; returns the seconds it took."""
        import httpx

        if not self.python.is_file():
            raise ModelLoadError(
                "vLLM's CPU build is not installed here: run install.sh", file=self.python, field="vllm"
            )
        env = {
            **os.environ,
            "VLLM_CPU_KVCACHE_SPACE": "1",
            "VLLM_NO_USAGE_STATS": "1",
            "DO_NOT_TRACK": "1",
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
        }
        env.pop("PYTHONPATH", None)  # the server runs its own venv's packages, not promptcheck's
        started = time.monotonic()
        with open(self.log_path, "ab") as log:
            # Its own process group: stop() ends the API server and the engine processes it forks.
            self.proc = subprocess.Popen(
                self.command(), stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        while time.monotonic() - started < self.start_timeout:
            if self.proc.poll() is not None:
                raise ModelLoadError(
                    f"vLLM exited with {self.proc.returncode} while starting: {self.tail(3)}",
                    file=self.log_path,
                    field="vllm",
                )
            try:
                if httpx.get(f"{self.url}/models", timeout=2.0, trust_env=False).status_code == 200:
                    return time.monotonic() - started
            except httpx.TransportError:
                pass
            time.sleep(1.0)
        self.stop()
        raise ModelLoadError(f"vLLM did not answer within {self.start_timeout:.0f} s", file=self.log_path, field="vllm")

    def kill(self) -> None:
        """SIGKILL, no waiting: a crash, as a test of what the client does then."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)
        # Engine processes of a killed server may outlive its leader; end the whole group.
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def tail(self, n: int = 30) -> str:
        try:
            return " | ".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no log)"

    def __enter__(self) -> LocalVLLM:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
