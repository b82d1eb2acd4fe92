"""Start-up of the course server: load the model, size the KV cache, start the engine, warm it up.

Runs on a loader thread so the port opens at once; until the engine has answered one warm-up request,
`/health` answers 503, as TGI's launcher waits for its shards' warm-up before the router reports
healthy (launcher/src/main.rs; router/src/server.rs, `health`). The KV cache takes what memory allows
unless `--max-batch-total-tokens` is given (engine/kv_cache.py). text_generation_inference/serve_and_query.md, "Setup".
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable

from fastapi import FastAPI

from ... import settings
from ..config import ServerConfig
from ..engine import Engine, SamplingParams, Sequence, StoppingParams
from ..metrics import ServerMetrics
from ..service import Service
from . import loading

log = logging.getLogger("smol_inference.server")


def start(app: FastAPI, config: ServerConfig, preloaded: tuple[Any, Any, int | None] | None,
          on_fatal: Callable[[str], None] | None) -> None:
    """Load the model, start the engine, answer one warm-up request, then mark the server ready."""
    try:
        model, tokenizer, context = preloaded or loading.load(config)
        import torch

        from ..engine.kv_cache import kv_capacity

        if config.torch_threads and str(getattr(model, "device", "cpu")).startswith("cpu"):
            torch.set_num_threads(config.torch_threads)            # default: torch's, one per physical core
        capacity = None
        if config.max_batch_total_tokens is None:                  # the flag wins; else what memory allows
            draft = config.resolve(context).engine_config()
            capacity = kv_capacity(model, draft.max_total_tokens, draft.max_batch_prefill_tokens)
        resolved = config.resolve(context, kv_capacity=capacity)
        engine_config = resolved.engine_config()
        metrics: ServerMetrics = app.state.metrics
        metrics.batch_max_total_tokens.set(engine_config.max_batch_total_tokens)
        engine = Engine(model, tokenizer, engine_config, metrics)
        engine.start()
        service = Service(engine, resolved, metrics)
        warm_up(engine, tokenizer)
        app.state.service, app.state.config = service, resolved
        service.ready = True
        log.info("model ready: %s", app.state.model_name)
    except Exception as exc:  # noqa: BLE001 - reported by /health and the log, never as a traceback
        app.state.load_error = f"{type(exc).__name__}: {exc}"
        log.error("model failed to load: %s", app.state.load_error)
        if on_fatal is not None:
            on_fatal(app.state.load_error)


def warm_up(engine: Engine, tokenizer: Any) -> None:
    """One greedy token through the whole engine (TGI's health check generates one token too)."""
    done = threading.Event()
    outcome: list[str] = []

    def emit(kind: str, payload: Any) -> None:
        outcome.append(kind)
        done.set()

    ids = list(tokenizer("Hello")["input_ids"]) or [tokenizer.eos_token_id or 0]
    engine.submit(Sequence(ids, SamplingParams(), StoppingParams(1), emit))
    if not done.wait(settings.SERVER_START_TIMEOUT_S) or outcome[0] != "token":
        raise RuntimeError("the model did not answer the warm-up request")
