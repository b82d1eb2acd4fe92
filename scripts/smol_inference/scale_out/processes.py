"""Child processes with a log file each: start, wait until an HTTP route answers 200, stop cleanly.

Stop is SIGTERM, then SIGKILL after a grace period (the course server drains on SIGTERM:
server/shutdown.py). Every loop is bounded in time. Lesson 2, "Operate and scale".
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from .config import POLL_S, STOP_GRACE_S


def free_port(host: str) -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def http_status(url: str, timeout_s: float = 2.0) -> int | None:
    """The status of GET `url`, or None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (urllib.error.URLError, OSError):
        return None


@dataclass
class Child:
    """One started process: its name, url, command line and log file."""

    name: str
    url: str
    argv: list[str]
    log_path: Path
    process: subprocess.Popen[bytes] = field(repr=False)

    @classmethod
    def start(cls, name: str, url: str, argv: list[str], log_path: Path, env: dict[str, str] | None = None) -> "Child":
        log = log_path.open("wb")
        try:
            process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       env=env, start_new_session=True)
        finally:
            log.close()
        return cls(name, url, argv, log_path, process)

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def wait_ok(self, path: str, timeout_s: float) -> None:
        """Poll GET url+path until 200; RuntimeError (with the log's tail) if the process exits or time runs out."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited with status {self.process.returncode} while starting; "
                                   f"its log ({self.log_path}) ends:\n{self.log_tail()}")
            if http_status(self.url + path) == 200:
                return
            time.sleep(POLL_S)
        raise RuntimeError(f"{self.name} did not answer GET {path} with 200 within {timeout_s:.0f} s; "
                           f"its log ({self.log_path}) ends:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL, as a crash would: no drain, connections cut."""
        if self.alive():
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(STOP_GRACE_S)

    def stop(self, grace_s: float = STOP_GRACE_S) -> None:
        """SIGTERM, wait up to `grace_s`, then SIGKILL. Safe to call twice."""
        if not self.alive():
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(grace_s)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(grace_s)
        except ProcessLookupError:
            pass
