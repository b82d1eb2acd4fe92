"""What `smol-inference scale-out` starts: N course-server replicas and the SGLang Model Gateway in front.

The gateway is PyPI's `sglang-router` (pinned in pyproject.toml's `gateway` extra), a Rust binary with a
Python launcher (`python -m sglang_router.launch_router`). Flag names and defaults below are that
launcher's own (`--help` of sglang-router 0.3.2): `--host`/`--prometheus-host` default to 0.0.0.0 and
`--prometheus-port` to 29000, so the course always passes loopback and free ports; workers are probed
every `--worker-startup-check-interval` seconds (30 by default) and health-checked every
`--health-check-interval-secs` (60 by default), both far too slow for a demo. cache_aware balances load
only when `max_load - min_load > --balance-abs-threshold` and `max_load > min_load *
--balance-rel-threshold` (64 and 1.5 by default). Taught in lesson 2, "Operate and scale".
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import settings

#: The gateway's routing policies (`--policy`) the course compares; `random` and `manual` exist too.
POLICIES = ("round_robin", "power_of_two", "cache_aware")
ALL_POLICIES = ("random", "round_robin", "cache_aware", "power_of_two", "manual")
#: What each replica runs: the course server (`smol-inference serve`) or llama.cpp's `llama-server` on the
#: real SmolLM2-135M-Instruct GGUF (built once by `smol-inference llama-server`; llamacpp/llama_server.py).
ENGINES = ("course", "llamacpp")
#: The module that starts the gateway (the wheel's launcher; `smg launch` is the same binary).
GATEWAY_MODULE = "sglang_router.launch_router"
GATEWAY_DISTRIBUTION = "sglang-router"
GATEWAY_INSTALL_HINT = 'pip install -e ".[gateway]"  (or: pip install sglang-router==0.3.2)'

#: Demo-friendly timings (seconds): the gateway's defaults are 30 s and 60 s.
STARTUP_CHECK_INTERVAL_S = 1
HEALTH_CHECK_INTERVAL_S = 2
HEALTH_CHECK_TIMEOUT_S = 2
#: How long replicas (model load and warm-up) and the gateway may take to answer /health.
REPLICA_START_TIMEOUT_S = 120.0
GATEWAY_START_TIMEOUT_S = 60.0
#: SIGTERM, then this long, then SIGKILL.
STOP_GRACE_S = 10.0
POLL_S = 0.1


@dataclass(frozen=True)
class GatewayFlags:
    """The gateway flags the course sets; None keeps the gateway's own default."""

    policy: str = "cache_aware"
    balance_abs_threshold: int | None = None
    balance_rel_threshold: float | None = None
    cache_threshold: float | None = None
    retry_max_retries: int | None = None
    cb_failure_threshold: int | None = None
    cb_timeout_duration_secs: int | None = None
    health_check_interval_secs: int = HEALTH_CHECK_INTERVAL_S
    health_check_timeout_secs: int = HEALTH_CHECK_TIMEOUT_S
    request_timeout_secs: int | None = None
    log_level: str = "warn"

    def __post_init__(self) -> None:
        if self.policy not in ALL_POLICIES:
            raise ValueError(f"policy must be one of {', '.join(ALL_POLICIES)}, got {self.policy!r}")
        if self.balance_rel_threshold is not None and self.balance_rel_threshold < 1.0:
            raise ValueError(f"balance_rel_threshold must be >= 1.0, got {self.balance_rel_threshold}")
        if self.cache_threshold is not None and not 0.0 <= self.cache_threshold <= 1.0:
            raise ValueError(f"cache_threshold must be in [0, 1], got {self.cache_threshold}")
        if self.health_check_interval_secs < 1 or self.health_check_timeout_secs < 1:
            raise ValueError("health-check interval and timeout must be >= 1 s")

    def argv(self) -> list[str]:
        """These flags as the gateway's command line (`--policy cache_aware ...`)."""
        args = ["--policy", self.policy, "--log-level", self.log_level,
                "--worker-startup-check-interval", str(STARTUP_CHECK_INTERVAL_S)]
        for name in ("balance_abs_threshold", "balance_rel_threshold", "cache_threshold", "retry_max_retries",
                     "cb_failure_threshold", "cb_timeout_duration_secs", "health_check_interval_secs",
                     "health_check_timeout_secs", "request_timeout_secs"):
            value = getattr(self, name)
            if value is not None:
                args += ["--" + name.replace("_", "-"), str(value)]
        return args


@dataclass(frozen=True)
class ScaleOutConfig:
    """N replicas of `model_id` behind the gateway, everything on `host` and free ports."""

    replicas: int = 3
    model_id: str = settings.TINY_MODEL_ALIAS   # course replicas only: llama.cpp serves the real model's GGUF
    engine: str = "course"
    gateway: GatewayFlags = field(default_factory=GatewayFlags)
    host: str = settings.DEFAULT_HOST
    api_key: str | None = field(default=None, repr=False)
    #: Extra `smol-inference serve` flags for every replica, e.g. ("--torch-threads", "1").
    replica_args: tuple[str, ...] = ()
    #: Folder for each process's log (None: a temporary folder).
    log_dir: str | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.replicas <= 64:
            raise ValueError(f"replicas must be 1..64, got {self.replicas}")
        if self.api_key is not None and not self.api_key:
            raise ValueError("api_key must not be empty when given")
        if not self.host:
            raise ValueError("host must not be empty")
        if self.engine not in ENGINES:
            raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {self.engine!r}")
