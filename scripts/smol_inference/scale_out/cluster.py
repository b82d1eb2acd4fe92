"""Start replicas and the gateway as separate processes; stop them all, whatever happened.

    with start_cluster(ScaleOutConfig(replicas=3)) as cluster:
        OpenAI(base_url=cluster.url + "/v1", api_key="-").chat.completions.create(...)
        cluster.kill_replica(0)                    # SIGKILL one replica, as a crash would

Each replica is `smol-inference serve` (or llama.cpp's `llama-server`, `engine="llamacpp"`) on its own
free port; the gateway is `sglang_router.launch_router`
with `--worker-urls` naming them, on loopback, its Prometheus exporter on a free port of its own.
The gateway only routes: the OpenAI routes pass through it, TGI's /generate does not (client/errors.py).
Lesson 2, "Operate and scale".
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from .config import (GATEWAY_INSTALL_HINT, GATEWAY_MODULE, GATEWAY_START_TIMEOUT_S, REPLICA_START_TIMEOUT_S,
                     GatewayFlags, ScaleOutConfig)
from .processes import Child, free_port


class GatewayMissing(RuntimeError):
    """sglang-router is not installed."""


def gateway_installed() -> bool:
    return importlib.util.find_spec("sglang_router") is not None


@dataclass
class Cluster:
    """Running replicas and gateway: `url` (the gateway), `metrics_url`, `replicas` (Child each)."""

    config: ScaleOutConfig
    gateway: Child
    metrics_url: str
    replicas: list[Child] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.gateway.url

    @property
    def replica_urls(self) -> list[str]:
        return [replica.url for replica in self.replicas]

    def switch_gateway(self, flags: GatewayFlags) -> None:
        """Stop the gateway and start a fresh one with `flags` (another policy) in front of the same
        replicas; its routing state (cache_aware's prefix tree) starts empty. Replicas keep their caches."""
        self.gateway.stop()
        config = replace(self.config, gateway=flags)
        self.gateway, self.metrics_url = start_gateway(config, self.replica_urls, self.gateway.log_path.parent)
        self.config = config

    def kill_replica(self, index: int) -> None:
        """SIGKILL replica `index` (no drain): what a crashed machine looks like to the gateway."""
        self.replicas[index].kill()

    def stop(self) -> None:
        """The gateway first (no new requests), then every replica."""
        for child in [self.gateway, *self.replicas]:
            child.stop()


def replica_argv(config: ScaleOutConfig, port: int) -> list[str]:
    key = ["--api-key", config.api_key] if config.api_key else []
    if config.engine == "llamacpp":
        from ..llamacpp.build import llama_server_binary
        from ..llamacpp.llama_server import LlamaServerConfig

        binary = llama_server_binary()
        if binary is None:
            raise FileNotFoundError("llama-server is not built yet: run `smol-inference llama-server` once")
        return LlamaServerConfig(host=config.host, extra_args=[*config.replica_args, *key]).argv(binary, port)
    argv = [sys.executable, "-m", "smol_inference.cli", "serve", "--model-id", config.model_id,
            "--hostname", config.host, "--port", str(port), *config.replica_args]
    return argv + key


def gateway_argv(config: ScaleOutConfig, port: int, metrics_port: int, worker_urls: list[str]) -> list[str]:
    argv = [sys.executable, "-m", GATEWAY_MODULE, "--host", config.host, "--port", str(port),
            "--prometheus-host", config.host, "--prometheus-port", str(metrics_port),
            "--worker-urls", *worker_urls, *config.gateway.argv()]
    return argv + (["--api-key", config.api_key] if config.api_key else [])


def _url(host: str, port: int) -> str:
    return f"http://{host}:{port}"


def start_gateway(config: ScaleOutConfig, worker_urls: list[str], log_dir: Path) -> tuple[Child, str]:
    """The gateway in front of `worker_urls`, ready (GET /readiness answers 200); (child, metrics URL)."""
    port, metrics_port = free_port(config.host), free_port(config.host)
    gateway = Child.start("gateway", _url(config.host, port), gateway_argv(config, port, metrics_port, worker_urls),
                          log_dir / f"gateway-{config.gateway.policy}.log", {**os.environ})
    try:
        gateway.wait_ok("/readiness", GATEWAY_START_TIMEOUT_S)
    except BaseException:
        gateway.stop()
        raise
    return gateway, _url(config.host, metrics_port) + "/metrics"


@contextmanager
def start_cluster(config: ScaleOutConfig) -> Iterator[Cluster]:
    """Start the replicas, wait until each answers /health, put the gateway in front, yield the Cluster;
    stop everything on exit."""
    if not gateway_installed():
        raise GatewayMissing(f"the SGLang Model Gateway is not installed: {GATEWAY_INSTALL_HINT}")
    log_dir = Path(config.log_dir or tempfile.mkdtemp(prefix="smol-scale-out-"))
    log_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    replicas: list[Child] = []
    cluster: Cluster | None = None
    try:
        for index in range(config.replicas):
            port = free_port(config.host)
            replicas.append(Child.start(f"replica {index}", _url(config.host, port), replica_argv(config, port),
                                        log_dir / f"replica-{index}.log", env))
        for replica in replicas:
            replica.wait_ok("/health", REPLICA_START_TIMEOUT_S)
        gateway, metrics_url = start_gateway(config, [r.url for r in replicas], log_dir)
        cluster = Cluster(config, gateway, metrics_url, replicas)
        yield cluster
    finally:
        if cluster is not None:
            cluster.stop()
        for replica in replicas:
            replica.stop()
