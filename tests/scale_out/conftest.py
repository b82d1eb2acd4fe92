"""The gateway tests' cluster: 3 course-server replicas behind the SGLang Model Gateway (gateway_fixtures.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gateway_fixtures import API_KEY, FLAGS
from smol_inference import settings
from smol_inference.scale_out import ScaleOutConfig, gateway_installed
from smol_inference.scale_out.config import GATEWAY_INSTALL_HINT


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    if not gateway_installed():
        pytest.skip(f"sglang-router is not installed: {GATEWAY_INSTALL_HINT}")
    from smol_inference.scale_out import start_cluster

    config = ScaleOutConfig(replicas=3, model_id=settings.TINY_MODEL_ALIAS, gateway=FLAGS, api_key=API_KEY,
                            replica_args=("--torch-threads", "1"),
                            log_dir=str(tmp_path_factory.mktemp("scale-out-logs")))
    with start_cluster(config) as running:
        yield running
