"""Settings of the gateway tests: 3 course-server replicas (bundled model) behind the SGLang
Model Gateway, all on 127.0.0.1 free ports, with an API key the gateway passes through.

The load-balance thresholds are set above the workload's concurrency, so cache_aware never switches to
balancing mode during a test and its routing depends only on the prompts (scale_out/config.py).
The `cluster` fixture (below; a plugin of tests/conftest.py) starts one cluster per test module.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from smol_inference import settings
from smol_inference.scale_out import GatewayFlags, ScaleOutConfig, gateway_installed
from smol_inference.scale_out.config import GATEWAY_INSTALL_HINT
from smol_inference.scale_out.workload import WorkloadConfig

API_KEY = "gateway-test-key"
CONCURRENCY = 4
#: cache_aware balances only when max_load - min_load > abs and max_load > min_load * rel: never at CONCURRENCY.
FLAGS = GatewayFlags(policy="cache_aware", balance_abs_threshold=4 * CONCURRENCY, balance_rel_threshold=4.0,
                     health_check_interval_secs=1, cb_failure_threshold=3, retry_max_retries=5)
WORKLOAD = WorkloadConfig(tenants=4, questions=8, system_words=60, max_tokens=4, seed=0)
#: Every client call in these tests ends by this many seconds.
CLIENT_TIMEOUT_S = 30.0


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """3 course-server replicas behind the gateway, one cluster per test module."""
    if not gateway_installed():
        pytest.skip(f"sglang-router is not installed: {GATEWAY_INSTALL_HINT}")
    from smol_inference.scale_out import start_cluster

    config = ScaleOutConfig(replicas=3, model_id=settings.TINY_MODEL_ALIAS, gateway=FLAGS, api_key=API_KEY,
                            replica_args=("--torch-threads", "1"),
                            log_dir=str(tmp_path_factory.mktemp("scale-out-logs")))
    with start_cluster(config) as running:
        yield running
