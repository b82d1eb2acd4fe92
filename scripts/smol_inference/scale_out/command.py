"""`smol-inference scale-out`: N course-server replicas behind the SGLang Model Gateway, until Ctrl-C.

    smol-inference scale-out --replicas 3 --policy cache_aware
    # then: OpenAI(base_url="http://127.0.0.1:PORT/v1", api_key="-")   (the URL is printed)

Everything binds loopback on free ports (the gateway's metrics too); Ctrl-C or SIGTERM stops the gateway,
then every replica. Lesson 2, "Operate and scale".
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from .. import settings
from .config import ALL_POLICIES, ENGINES, GatewayFlags, ScaleOutConfig


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--replicas", type=int, default=3, help="course-server replicas to start (default: 3)")
    add("--policy", choices=ALL_POLICIES, default="cache_aware", help="the gateway's routing policy")
    add("--model-id", default=settings.TINY_MODEL_ALIAS, help="model every course replica serves (default: bundled)")
    add("--engine", choices=ENGINES, default="course",
        help="replicas: the course server, or llama.cpp's llama-server on the real SmolLM2 "
             "(build: smol-inference llama-server)")
    add("--api-key", default=None,
        help="replicas require 'Authorization: Bearer KEY'; the gateway gets the same --api-key")
    add("--balance-abs-threshold", type=int, default=None, help="gateway flag (cache_aware; its default: 64)")
    add("--balance-rel-threshold", type=float, default=None, help="gateway flag (cache_aware; its default: 1.5)")
    add("--log-dir", default=None, help="folder for each process's log (default: a temporary folder)")
    add("--replica-arg", action="append", default=[], metavar="FLAG",
        help="extra flag for every replica (serve's or llama-server's), e.g. --replica-arg=--torch-threads=1")


def config_from_args(args: argparse.Namespace) -> ScaleOutConfig:
    gateway = GatewayFlags(policy=args.policy, balance_abs_threshold=args.balance_abs_threshold,
                           balance_rel_threshold=args.balance_rel_threshold)
    return ScaleOutConfig(replicas=args.replicas, model_id=args.model_id, engine=args.engine, gateway=gateway,
                          api_key=args.api_key,
                          replica_args=tuple(args.replica_arg), log_dir=args.log_dir)


def run(args: argparse.Namespace) -> int:
    from .cluster import GatewayMissing, start_cluster

    config = config_from_args(args)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        with start_cluster(config) as cluster:
            for replica in cluster.replicas:
                print(f"[scale-out] {replica.name}: {replica.url}  (log: {replica.log_path})", file=sys.stderr)
            print(f"[scale-out] gateway ({config.gateway.policy}): {cluster.url}  metrics: {cluster.metrics_url}  "
                  f"(log: {cluster.gateway.log_path})", file=sys.stderr)
            print(f"[scale-out] OpenAI base_url: {cluster.url}/v1  - Ctrl-C stops everything", file=sys.stderr,
                  flush=True)
            while not stop.wait(1.0):
                dead = [child.name for child in [cluster.gateway, *cluster.replicas] if not child.alive()]
                if cluster.gateway.name in dead:
                    print("[scale-out] the gateway exited; stopping the replicas", file=sys.stderr)
                    return 1
    except GatewayMissing as exc:
        print(f"smol-inference scale-out: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    print("[scale-out] stopped", file=sys.stderr)
    return 0
