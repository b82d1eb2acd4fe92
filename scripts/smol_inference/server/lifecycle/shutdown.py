"""Graceful shutdown: on SIGTERM stop admitting, let admitted requests finish, then exit 0.

TGI's router shuts down the same way (router/src/server.rs: axum `with_graceful_shutdown` on
SIGTERM/SIGINT, in-flight requests run to completion). The course server keeps its port open while
it drains, so that a client or a load balancer is told why: new generation requests get 503
`shutting_down` in TGI's error shape and `/health` answers 503. Once no admitted request is left, or
after `--shutdown-grace-seconds`, the remaining requests are failed (a stream gets an error event)
and uvicorn stops. A second SIGTERM, or SIGINT (Ctrl+C), stops at once. uvicorn re-raises the
signals it caught after it stops; a drained SIGTERM is not re-raised, so the process exits 0.
text_generation_inference/serve_and_query.md, "Setup".
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from types import FrameType
from typing import Any

import uvicorn

from ..config import DRAIN_POLL_S, ENGINE_STOP_S

log = logging.getLogger("smol_inference.server")


class DrainingServer(uvicorn.Server):
    """uvicorn.Server whose first SIGTERM drains the course server instead of closing the port."""

    def __init__(self, config: uvicorn.Config, grace_s: float) -> None:
        if grace_s < 0:
            raise ValueError(f"grace_s must be >= 0, got {grace_s}")
        super().__init__(config)
        self.grace_s = grace_s
        self._drainer: threading.Thread | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if sig == signal.SIGTERM and self._drainer is None:
            self._drainer = threading.Thread(target=self.drain, name="smol-drain", daemon=True)
            self._drainer.start()
            return
        super().handle_exit(sig, frame)           # SIGINT or a second SIGTERM: uvicorn's own behaviour

    def drain(self) -> None:
        """Stop admitting, wait for in-flight requests (at most `grace_s`), fail the rest, exit."""
        service = _service(self.config.app)
        if service is not None:
            service.draining = True
            log.info("SIGTERM: draining %d request(s), grace period %.1fs", service.in_flight, self.grace_s)
            deadline = time.monotonic() + self.grace_s
            while service.in_flight and time.monotonic() < deadline:
                time.sleep(DRAIN_POLL_S)
            if service.in_flight:
                log.warning("grace period over: failing %d request(s)", service.in_flight)
                service.engine.stop(ENGINE_STOP_S)    # queued and running sequences get an error event
            else:
                log.info("drained: every admitted request was answered")
        self.should_exit = True


def _service(app: Any) -> Any:
    """The app's Service (None before the model is loaded); `app` is the guard around FastAPI."""
    while app is not None and not hasattr(app, "state"):
        app = getattr(app, "app", None)
    return getattr(getattr(app, "state", None), "service", None)
