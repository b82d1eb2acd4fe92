"""Stopping a subprocess the tests started: terminate, wait a bounded time, then kill."""

from __future__ import annotations

import subprocess

#: Seconds a process gets to exit after SIGTERM, then after SIGKILL.
TERMINATE_GRACE_S = 15.0
KILL_WAIT_S = 5.0


def stop_process(proc: subprocess.Popen, grace_s: float = TERMINATE_GRACE_S) -> None:
    """Terminate `proc` if it still runs; kill it if it has not exited within `grace_s` seconds."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=KILL_WAIT_S)
