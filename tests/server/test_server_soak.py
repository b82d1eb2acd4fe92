"""The short soak: 150 mixed requests (blocking, streams, chat, dropped streams, invalid and non-JSON
bodies) from 16 clients against a server that admits 12 at once. Every request has one outcome, none
is lost, the server's tgi_request_* counters agree with the clients, and it ends idle. The long run
(2,000 requests, memory growth, p99) is benchmarks/soak_server.py (benchmarks/README.md, "Robustness")."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from conftest import WAIT_S, start_test_server

SOAK = Path(__file__).resolve().parents[2] / "benchmarks" / "soak_server.py"
REQUESTS, CLIENTS, MAX_CONCURRENT, MAX_NEW_TOKENS = 150, 16, 12, 8


def load_soak():
    spec = importlib.util.spec_from_file_location("soak_server", SOAK)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module                     # dataclasses look their module up there
    spec.loader.exec_module(module)  # type: ignore[union-attr]  # a .py path always has a loader
    return module


def test_short_soak_loses_nothing_and_metrics_agree(tiny_model):
    soak = load_soak()
    handle = start_test_server(tiny_model, max_concurrent_requests=MAX_CONCURRENT)
    try:
        summary = soak.run_soak(handle.url, None, REQUESTS, CLIENTS, MAX_NEW_TOKENS, warmup=30,
                                timeout_s=WAIT_S * 4)
    finally:
        handle.stop()
    assert summary["passed"], summary
    assert summary["sent"] == REQUESTS and summary["lost"] == 0
    assert summary["answered"] > 0 and summary["rejected_by_type"].get("validation", 0) > 0
    assert summary["server_metrics_delta"]["tgi_request_count"] == REQUESTS
    assert summary["latency_s"]["p99"] is not None
