"""`smol-inference scale-out` as a learner runs it: it prints the gateway's URL, the URL answers an OpenAI
chat request through the gateway, and SIGTERM stops the gateway and every replica (no process left)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import httpx
import psutil
import pytest

from gateway_fixtures import CLIENT_TIMEOUT_S
from smol_inference.scale_out import gateway_installed
from smol_inference.scale_out.config import GATEWAY_INSTALL_HINT

START_TIMEOUT_S = 120.0
URL_LINE = re.compile(r"gateway \(round_robin\): (http://127\.0\.0\.1:\d+)")


@pytest.mark.timeout(240)
def test_scale_out_serves_through_the_gateway_and_stops_everything(tmp_path):
    if not gateway_installed():
        pytest.skip(f"sglang-router is not installed: {GATEWAY_INSTALL_HINT}")
    log = tmp_path / "scale-out.log"
    with log.open("wb") as out:
        command = subprocess.Popen(
            [sys.executable, "-m", "smol_inference.cli", "scale-out", "--replicas", "1", "--policy", "round_robin",
             "--replica-arg=--torch-threads=1", "--log-dir", str(tmp_path / "logs")],
            stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        url, deadline = None, time.monotonic() + START_TIMEOUT_S
        while url is None and time.monotonic() < deadline and command.poll() is None:
            found = URL_LINE.search(log.read_text())
            url = found.group(1) if found else None
            time.sleep(0.2)
        assert url, log.read_text()[-2000:]
        children = psutil.Process(command.pid).children(recursive=True)
        assert len(children) >= 2, children                               # the replica and the gateway
        body = {"model": "tgi", "messages": [{"role": "user", "content": "What is 7 plus 5?"}], "max_tokens": 20,
                "temperature": 0}
        reply = httpx.post(f"{url}/v1/chat/completions", json=body, timeout=CLIENT_TIMEOUT_S)
        assert reply.status_code == 200 and reply.json()["choices"][0]["message"]["content"] == "7 plus 5 is 12."
    finally:
        command.send_signal(signal.SIGTERM)
        status = command.wait(60)
    assert status == 0 and "[scale-out] stopped" in log.read_text(), log.read_text()[-2000:]
    _, alive = psutil.wait_procs(children, timeout=10)
    assert not alive, alive
