"""Start llama.cpp's `llama-server` on 127.0.0.1 with the real SmolLM2-135M-Instruct, and stop it.

    with start_llama_server() as server:          # builds nothing: run `make llama-server` first
        OpenAI(base_url=server.url + "/v1", api_key="-").chat.completions.create(...)

The flags are llama-server's own (tools/server/README.md in llama.cpp): `-m` the GGUF file, `-np` the
slots (sequences decoded together by continuous batching), `-c` the context of all slots together
(`LLAMA_SERVER_CTX_PER_SLOT` tokens each), `--metrics` the Prometheus `/metrics` route (`llamacpp:*`
names), `--alias` the model name `/v1/models` reports. `/health` answers 503 while the model loads,
then 200. Taught in text_generation_inference/local_engines.md, "Local engines: llama.cpp, Ollama and MLX".
"""

from __future__ import annotations

import atexit
import os
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from .. import settings
from ..ports import free_port
from ..real_model import real_model_gguf
from .build import BuildError, ensure_llama_server, llama_server_binary

#: The name llama-server reports in /v1/models (the GGUF's own name otherwise).
MODEL_ALIAS = settings.REAL_MODEL_ALIAS
HEALTH_POLL_S = 0.25


@dataclass
class LlamaServerConfig:
    """How to start llama-server. `port=0` picks a free port; `threads=None` lets llama.cpp choose."""

    model: Path | None = None  # None: real_model_gguf()
    host: str = settings.DEFAULT_HOST
    port: int = 0
    slots: int = settings.LLAMA_SERVER_SLOTS
    ctx_per_slot: int = settings.LLAMA_SERVER_CTX_PER_SLOT
    threads: int | None = None
    alias: str = MODEL_ALIAS
    extra_args: list[str] = field(default_factory=list)
    binary: Path | None = None  # None: the cached build (llama_server_binary())

    def __post_init__(self) -> None:
        if self.slots < 1 or self.ctx_per_slot < 16:
            raise ValueError(f"slots must be >= 1 and ctx_per_slot >= 16, got {self.slots}, {self.ctx_per_slot}")
        if not 0 <= self.port < 65536:
            raise ValueError(f"port must be 0 (free) or 1..65535, got {self.port}")
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"threads must be >= 1, got {self.threads}")
        self.model = Path(self.model) if self.model is not None else real_model_gguf()
        if not self.model.is_file():
            raise FileNotFoundError(f"GGUF model not found: {self.model}")

    def argv(self, binary: Path, port: int) -> list[str]:
        args = [str(binary), "-m", str(self.model), "--host", self.host, "--port", str(port),
                "-np", str(self.slots), "-c", str(self.slots * self.ctx_per_slot), "--metrics",
                "--alias", self.alias, "--no-webui"]
        if self.threads is not None:
            args += ["-t", str(self.threads)]
        return args + list(self.extra_args)


class LlamaServer:
    """A running llama-server subprocess: `url`, `pid`, `log_path`, `stop()`; a context manager."""

    def __init__(self, config: LlamaServerConfig, timeout_s: float = settings.LLAMA_SERVER_START_TIMEOUT_S) -> None:
        binary = config.binary or llama_server_binary()
        if binary is None:
            raise BuildError("llama-server is not built yet: run `make llama-server` "
                             "(or python -m smol_inference.llamacpp.build)")
        self.config = config
        self.port = config.port or free_port(config.host)
        self.url = f"http://{config.host}:{self.port}"
        log_dir = Path(tempfile.gettempdir())
        self.log_path = log_dir / f"llama-server-{self.port}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(config.argv(binary, self.port), stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        atexit.register(self.stop)  # a script that dies with an exception must not leave the server running
        try:
            self.waited_s = self._wait_healthy(timeout_s)
        except BaseException:
            self.stop()
            raise

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _wait_healthy(self, timeout_s: float) -> float:
        start = time.monotonic()
        while time.monotonic() - start < timeout_s:
            if self.proc.poll() is not None:
                raise RuntimeError(f"llama-server exited with {self.proc.returncode} before it was healthy:\n"
                                   + self.log_tail())
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=5) as response:
                    if response.status == 200:
                        return time.monotonic() - start
            except (urllib.error.URLError, OSError):
                pass  # still loading (503) or not listening yet
            time.sleep(HEALTH_POLL_S)
        raise TimeoutError(f"llama-server not healthy after {timeout_s:.0f} s (log: {self.log_path})")

    def log_tail(self, lines: int = 20) -> str:
        self._log.flush()
        return "".join(self.log_path.read_text(errors="replace").splitlines(True)[-lines:])

    def rss_bytes(self) -> int:
        """Resident memory of the server process now (0 once it has exited); needs psutil."""
        import psutil

        try:
            return int(psutil.Process(self.pid).memory_info().rss)
        except psutil.NoSuchProcess:
            return 0

    def stop(self, timeout_s: float = settings.LLAMA_SERVER_STOP_TIMEOUT_S) -> int | None:
        """SIGTERM (llama-server finishes and exits), SIGKILL after `timeout_s`; the exit status."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=timeout_s)
        if not self._log.closed:
            self._log.close()
        return self.proc.returncode

    def __enter__(self) -> LlamaServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"LlamaServer({self.url!r}, pid={self.pid})"


def start_llama_server(config: LlamaServerConfig | None = None, build: bool = False, **fields: object) -> LlamaServer:
    """Start llama-server (`LlamaServerConfig(**fields)` unless `config`); returns once /health is 200.

    `build=True` builds it first when the cache lacks it (minutes); otherwise a missing build raises
    BuildError naming `make llama-server`.
    """
    config = config or LlamaServerConfig(**fields)  # type: ignore[arg-type]  # __post_init__ checks them
    if build and config.binary is None:
        config.binary = ensure_llama_server()
    return LlamaServer(config)


def environment_with_url(url: str) -> dict[str, str]:
    """This process's environment with TGI_URL pointing at `url` (what `--run` hands its command)."""
    return dict(os.environ, **{settings.ENV_TGI_URL: url})
