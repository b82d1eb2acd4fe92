"""A free TCP port, for every server the course starts on `--port 0` or in its tests: the lesson-1 chat
UI, the course server's background start, llama.cpp's server, the test suites and the benchmarks."""

from __future__ import annotations

import socket

from . import settings


def free_port(host: str = settings.DEFAULT_HOST) -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
