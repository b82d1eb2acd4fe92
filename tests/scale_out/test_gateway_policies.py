"""Routing policies of the real SGLang Model Gateway on a seeded multi-tenant workload, and failures:
cache_aware keeps each shared system prompt on one replica (higher summed prefix-cache hit ratio than
round_robin), a replica SIGKILLed mid-run costs no request (the gateway retries elsewhere), and with
every replica down clients get a clear 503 at once. Hit ratios and counts only, never latency."""

from __future__ import annotations

import time
from dataclasses import replace

import httpx
import pytest

from gateway_fixtures import API_KEY, CLIENT_TIMEOUT_S, CONCURRENCY, FLAGS, WORKLOAD, cluster  # noqa: F401
from smol_inference.scale_out.compare import compare_policies, measure

MARGIN = 0.10


def test_cache_aware_beats_round_robin_on_shared_prompts(cluster):
    results = {r.policy: r for r in compare_policies(cluster, WORKLOAD, CONCURRENCY, ("round_robin", "cache_aware"),
                                                      FLAGS)}
    for result in results.values():
        assert result.lost == 0, (result.policy, result.errors)
        served = [row["requests"] for row in result.per_replica if row]
        assert len(served) == 3 and sum(served) == result.requests, (result.policy, served)
    rr, ca = results["round_robin"], results["cache_aware"]
    assert min(row["requests"] for row in rr.per_replica if row) > 0      # round-robin used every replica
    assert ca.prefix_cache_hit_ratio >= rr.prefix_cache_hit_ratio + MARGIN, (rr, ca)


def test_api_key_passes_through_the_gateway(cluster):
    body = {"model": "tgi", "messages": [{"role": "user", "content": "What is 7 plus 5?"}], "max_tokens": 4}
    url = cluster.url + "/v1/chat/completions"
    assert httpx.post(url, json=body, timeout=CLIENT_TIMEOUT_S).status_code == 401
    assert httpx.post(url, json=body, headers={"Authorization": "Bearer wrong"}, timeout=CLIENT_TIMEOUT_S).status_code == 401
    assert httpx.post(url, json=body, headers={"Authorization": f"Bearer {API_KEY}"},
                      timeout=CLIENT_TIMEOUT_S).status_code == 200


def test_a_replica_sigkilled_mid_run_loses_no_request(cluster):
    cluster.switch_gateway(replace(FLAGS, policy="cache_aware"))
    result = measure(cluster, replace(WORKLOAD, salt="kill"), CONCURRENCY, policy="cache_aware", kill=0, stream=False)
    assert result.per_replica[0] is None                      # the replica is really gone
    assert result.lost == 0, result.errors
    assert result.answered == result.requests == len(range(WORKLOAD.tenants * WORKLOAD.questions))


@pytest.mark.timeout(120)
def test_every_replica_down_gives_a_clear_error_not_a_hang(cluster):
    from openai import APIStatusError, OpenAI

    from smol_inference.client import TGIClient, TGIError

    for index in range(len(cluster.replicas)):
        cluster.kill_replica(index)
    oai = OpenAI(base_url=cluster.url + "/v1", api_key=API_KEY, timeout=CLIENT_TIMEOUT_S, max_retries=0)
    messages = [{"role": "user", "content": "What is 7 plus 5?"}]
    statuses = []
    for _ in range(3):                                          # the first may still try a dead replica (500)
        start = time.monotonic()
        with pytest.raises(APIStatusError) as caught:
            oai.chat.completions.create(model="tgi", messages=messages, max_tokens=4)
        assert time.monotonic() - start < CLIENT_TIMEOUT_S
        statuses.append(caught.value.status_code)
    assert statuses[-1] == 503 and "no_available_workers" in str(caught.value.body), caught.value.body
    with TGIClient(cluster.url, api_key=API_KEY, timeout=CLIENT_TIMEOUT_S) as client:
        with pytest.raises(TGIError) as typed:
            client.chat(messages, max_tokens=4)
    assert typed.value.status == 503 and "No available workers" in typed.value.message
