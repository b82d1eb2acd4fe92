"""A scripted TGI stand-in on 127.0.0.1 for the client and bench tests.

It answers TGI's routes with fixed shapes (TGI's docs/openapi.json) and can be told to fail
the next N requests with a given status and error body, to test error mapping and retries without a
model. The real course server is tested in the same files; this stub only covers what a healthy server
never does on demand (429, 503, 424, connection drops).
"""

from __future__ import annotations

import json
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

METRICS_TEXT = """# TYPE tgi_request_count counter
tgi_request_count 12
# TYPE tgi_request_failure counter
tgi_request_failure{err="validation"} 2
tgi_request_failure{err="overloaded"} 1
# TYPE tgi_queue_size gauge
tgi_queue_size 3
# TYPE tgi_request_queue_duration histogram
tgi_request_queue_duration_bucket{le="0.1"} 5
tgi_request_queue_duration_bucket{le="0.2"} 8
tgi_request_queue_duration_bucket{le="+Inf"} 10
tgi_request_queue_duration_sum 1.5
tgi_request_queue_duration_count 10
# TYPE tgi_batch_inference_duration histogram
tgi_batch_inference_duration_bucket{method="prefill",le="0.5"} 4
tgi_batch_inference_duration_bucket{method="prefill",le="1"} 4
tgi_batch_inference_duration_bucket{method="prefill",le="+Inf"} 4
tgi_batch_inference_duration_sum{method="prefill"} 1
tgi_batch_inference_duration_count{method="prefill"} 4
tgi_batch_inference_duration_bucket{method="decode",le="0.5"} 9
tgi_batch_inference_duration_bucket{method="decode",le="1"} 9
tgi_batch_inference_duration_bucket{method="decode",le="+Inf"} 9
tgi_batch_inference_duration_sum{method="decode"} 1
tgi_batch_inference_duration_count{method="decode"} 9
"""


class StubState:
    def __init__(self) -> None:
        self.failures: deque[tuple[int, dict[str, Any]]] = deque()
        self.requests: list[tuple[str, str, dict[str, Any]]] = []
        self.lock = threading.Lock()
        self.api_key: str | None = None  # when set, POST routes need `Authorization: Bearer <key>`

    def fail_next(self, count: int, status: int, error: str, error_type: str) -> None:
        with self.lock:
            self.failures.extend([(status, {"error": error, "error_type": error_type})] * count)

    def next_failure(self) -> tuple[int, dict[str, Any]] | None:
        with self.lock:
            return self.failures.popleft() if self.failures else None


def _tokens(params: dict[str, Any]) -> list[dict[str, Any]]:
    count = int(params.get("max_new_tokens") or 5)
    return [{"id": 100 + i, "text": f" w{i}", "logprob": -0.5, "special": False} for i in range(count)]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    state: StubState

    def log_message(self, *args: Any) -> None:  # keep test output clean
        pass

    def _json(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _sse(self, events: list[Any], done: bool) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for index, event in enumerate(events):
            sep = "data:" if index == 0 else "data: "  # TGI clients must accept both forms
            self.wfile.write(f"{sep}{json.dumps(event)}\n\n".encode())
            self.wfile.flush()
        if done:
            self.wfile.write(b"data: [DONE]\n\n")

    def do_GET(self) -> None:
        self.state.requests.append(("GET", self.path, {}))
        if self.path == "/health" and (failure := self.state.next_failure()):
            return self._json(*failure)
        if self.path == "/health":
            return self._json(200, {})
        if self.path == "/info":
            return self._json(200, {"model_id": "stub-model", "max_total_tokens": 2048, "max_input_tokens": 2047,
                                    "max_concurrent_requests": 128, "router": "text-generation-router"})
        if self.path == "/v1/models":
            return self._json(200, {"object": "list", "data": [{"id": "stub-model", "object": "model"}]})
        if self.path == "/metrics":
            data = METRICS_TEXT.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return None
        return self._json(404, {"error": "not found", "error_type": "not_found"})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        self.state.requests.append(("POST", self.path, body))
        key = self.state.api_key
        if key and self.headers.get("Authorization") != f"Bearer {key}":
            return self._json(401, {"error": "Unauthorized", "error_type": "authentication"})
        if failure := self.state.next_failure():
            return self._json(*failure)
        params = body.get("parameters") or {}
        if self.path in ("/", "/generate", "/generate_stream"):
            tokens = _tokens(params)
            text = "".join(t["text"] for t in tokens)
            details = {"finish_reason": "length", "generated_tokens": len(tokens), "seed": None,
                       "prefill": [], "tokens": tokens}
            if self.path == "/generate_stream" or body.get("stream"):
                events = [{"index": i + 1, "token": t, "generated_text": None, "details": None}
                          for i, t in enumerate(tokens)]
                events[-1]["generated_text"] = text
                events[-1]["details"] = {"finish_reason": "length", "generated_tokens": len(tokens),
                                         "seed": None, "input_length": 3}
                return self._sse(events, done=False)
            answer = {"generated_text": text, "details": details}
            return self._json(200, [answer] if self.path == "/" else answer)
        if self.path == "/v1/chat/completions":
            tokens = _tokens({"max_new_tokens": body.get("max_tokens")})
            base = {"id": "c1", "created": 0, "model": body.get("model"), "system_fingerprint": "stub"}
            if body.get("stream"):
                chunks = [{**base, "object": "chat.completion.chunk",
                           "choices": [{"index": 0, "delta": {"role": "assistant", "content": t["text"]},
                                        "logprobs": None, "finish_reason": None}]} for t in tokens]
                chunks[-1]["choices"][0]["finish_reason"] = "length"
                return self._sse(chunks, done=True)
            text = "".join(t["text"] for t in tokens)
            return self._json(200, {**base, "object": "chat.completion",
                                    "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                                 "logprobs": None, "finish_reason": "length"}],
                                    "usage": {"prompt_tokens": 3, "completion_tokens": len(tokens),
                                              "total_tokens": 3 + len(tokens)}})
        return self._json(404, {"error": "not found", "error_type": "not_found"})


class StubServer:
    """`with StubServer() as stub: TGIClient(stub.url)`; `stub.state.fail_next(2, 429, ...)`."""

    def __init__(self) -> None:
        self.state = StubState()
        handler = type("Handler", (_Handler,), {"state": self.state})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    def __enter__(self) -> StubServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)
