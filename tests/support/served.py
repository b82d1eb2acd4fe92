"""The endpoint the client, bench and docker tests talk to: $TGI_URL when set, else a course server.

The course server is started once per test process with `smol-inference serve` on a free loopback
port (the bundled model) and stopped at exit, so three test files share one model load.
"""

from __future__ import annotations

import atexit
import os
import subprocess
import sys
import time
from importlib.util import find_spec

import pytest
from smol_inference import settings
from processes import stop_process
from smol_inference.ports import free_port

_PROCESS: subprocess.Popen | None = None
_URL: str | None = None
_FAILURE: str | None = None


def external_url() -> str | None:
    return os.environ.get(settings.ENV_TGI_URL) or None


def _stop() -> None:
    if _PROCESS is not None:
        stop_process(_PROCESS)


def endpoint() -> str:
    """The URL to test against; skips the test when no server can be had (with the reason)."""
    global _PROCESS, _URL, _FAILURE
    if external_url():
        return external_url()  # type: ignore[return-value]  # not None: checked on the line above
    if _URL:
        return _URL
    if _FAILURE:
        pytest.fail(_FAILURE)
    if find_spec("smol_inference.server.lifecycle.launcher") is None:
        pytest.skip("course server not built yet (smol_inference.server.lifecycle.launcher missing) and TGI_URL unset")
    from smol_inference.client import TGIClient, UnavailableError

    port = free_port()
    cmd = [sys.executable, "-m", "smol_inference.cli", "serve", "--hostname", settings.DEFAULT_HOST,
           "--port", str(port), "--model-id", settings.TINY_MODEL_ALIAS]
    log = open(os.path.join(os.environ.get("TMPDIR", "/tmp"), f"course-server-{port}.log"), "wb")  # noqa: SIM115 - the log outlives this call
    _PROCESS = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    atexit.register(_stop)
    url = f"http://{settings.DEFAULT_HOST}:{port}"
    start = time.monotonic()
    try:
        with TGIClient(url) as client:
            client.wait_until_ready(timeout=settings.SERVER_START_TIMEOUT_S * 2)
    except UnavailableError as exc:
        _stop()
        _FAILURE = f"course server did not start ({exc}); log: {log.name}"
        pytest.fail(_FAILURE)
    _URL = url
    print(f"course server ready on {url} in {time.monotonic() - start:.1f} s")
    return url


def is_course_server() -> bool:
    return external_url() is None
