"""llama.cpp's llama-server replicas (the real SmolLM2-135M-Instruct GGUF) behind the SGLang Model Gateway:
the gateway's extra request fields are ignored there, so the openai client works through it unchanged."""

from __future__ import annotations

import pytest

from gateway_fixtures import CLIENT_TIMEOUT_S
from smol_inference.scale_out import GatewayFlags, ScaleOutConfig, gateway_installed
from smol_inference.scale_out.config import GATEWAY_INSTALL_HINT


@pytest.mark.timeout(240)
def test_llama_server_replicas_behind_the_gateway(tmp_path):
    from smol_inference.llamacpp.build import llama_server_binary

    if not gateway_installed():
        pytest.skip(f"sglang-router is not installed: {GATEWAY_INSTALL_HINT}")
    if llama_server_binary() is None:
        pytest.skip("llama-server is not built (smol-inference llama-server builds it once)")
    from openai import OpenAI

    from smol_inference.scale_out import start_cluster
    from smol_inference.scale_out.measure import scrape

    config = ScaleOutConfig(replicas=2, engine="llamacpp", gateway=GatewayFlags(policy="round_robin"),
                            replica_args=("-t", "1"), log_dir=str(tmp_path))
    with start_cluster(config) as cluster:
        oai = OpenAI(base_url=cluster.url + "/v1", api_key="-", timeout=CLIENT_TIMEOUT_S, max_retries=0)
        for _ in range(len(cluster.replicas)):                 # round-robin: each replica answers once
            reply = oai.chat.completions.create(model="smollm2", max_tokens=8, temperature=0,
                                                messages=[{"role": "user", "content": "What is 2 plus 2?"}])
            assert reply.choices[0].message.content and reply.choices[0].finish_reason in ("stop", "length")
        streamed = "".join(c.choices[0].delta.content or "" for c in oai.chat.completions.create(
            model="smollm2", max_tokens=8, temperature=0, stream=True,
            messages=[{"role": "user", "content": "What is 2 plus 2?"}]) if c.choices)
        assert streamed == reply.choices[0].message.content
        served = [scrape(f"{url}/metrics").value("llamacpp:tokens_predicted_total") for url in cluster.replica_urls]
        assert all(tokens > 0 for tokens in served), served
