"""The real SGLang Model Gateway in front of three course-server replicas (separate processes).

Clients, unchanged, through it: the openai client (chat, streaming, tools, structured output,
responses.create), huggingface_hub's InferenceClient and TGIClient's chat methods; TGI's own /generate does
not pass through, and TGIClient says so by name. Then the routing policies on a seeded multi-tenant
workload: cache_aware keeps each shared system prompt on one replica (a higher summed prefix-cache hit
ratio than round_robin), a replica SIGKILLed mid-run costs no request (the gateway retries elsewhere), and
with every replica down clients get a clear 503 at once. Hit ratios and counts only, never latency.
The tests run in file order on one cluster: the last ones kill its replicas.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace

import httpx
import pytest
from pydantic import BaseModel, Field

from gateway_fixtures import API_KEY, CLIENT_TIMEOUT_S, CONCURRENCY, FLAGS, WORKLOAD
from smol_inference.scale_out.compare import compare_policies, measure

QUESTION = [{"role": "user", "content": "What is 7 plus 5?"}]
ANSWER = "7 plus 5 is 12."
COUNTRY = [{"role": "user", "content": "What is the capital of France?"}]
GET_CAPITAL = {"type": "function", "function": {
    "name": "get_capital", "description": "The capital city of a country",
    "parameters": {"type": "object", "properties": {"country": {"type": "string", "enum": ["France", "Peru"]}},
                   "required": ["country"]}}}


class City(BaseModel):
    name: str = Field(pattern=r"^[A-Z][a-z]{1,11}$")
    sunny: bool


@pytest.fixture(scope="module")
def oai(cluster):
    from openai import OpenAI

    return OpenAI(base_url=cluster.url + "/v1", api_key=API_KEY, timeout=CLIENT_TIMEOUT_S, max_retries=0)


def test_openai_chat_and_stream(oai):
    reply = oai.chat.completions.create(model="tgi", messages=QUESTION, max_tokens=20, temperature=0)
    assert reply.choices[0].message.content == ANSWER
    pieces = [c.choices[0].delta.content or "" for c in oai.chat.completions.create(
        model="tgi", messages=QUESTION, max_tokens=20, temperature=0, stream=True) if c.choices]
    assert "".join(pieces) == ANSWER and len(pieces) > 1


def test_openai_tools_and_structured_output(oai):
    called = oai.chat.completions.create(model="tgi", messages=COUNTRY, tools=[GET_CAPITAL], tool_choice="required",
                                         max_tokens=80, seed=1)
    (call,) = called.choices[0].message.tool_calls
    assert call.function.name == "get_capital" and json.loads(call.function.arguments)["country"] in ("France", "Peru")
    parsed = oai.chat.completions.parse(model="tgi", messages=COUNTRY, response_format=City, max_tokens=60, seed=0)
    assert isinstance(parsed.choices[0].message.parsed, City), parsed.choices[0].message.content


def test_inference_client_chat_completion(cluster):
    from huggingface_hub import InferenceClient

    hub = InferenceClient(base_url=cluster.url, api_key=API_KEY, timeout=CLIENT_TIMEOUT_S)
    out = hub.chat_completion(QUESTION, max_tokens=20, temperature=0)
    assert out.choices[0].message.content == ANSWER
    streamed = "".join(c.choices[0].delta.content or "" for c in hub.chat_completion(
        QUESTION, max_tokens=20, temperature=0, stream=True))
    assert streamed == ANSWER


def test_tgi_client_chat_works_and_generate_names_the_gateway(cluster):
    from smol_inference.client import GatewayRouteError, TGIClient

    with TGIClient(cluster.url, api_key=API_KEY, timeout=CLIENT_TIMEOUT_S) as client:
        assert client.chat(QUESTION, max_tokens=20, temperature=0).choices[0].message.content == ANSWER
        assert "".join(client.chat_stream(QUESTION, max_tokens=20, temperature=0)) == ANSWER
        for call in (lambda: client.generate("What is 7 plus 5?", max_new_tokens=4),
                     lambda: list(client.stream("What is 7 plus 5?", max_new_tokens=4))):
            with pytest.raises(GatewayRouteError) as caught:
                call()
            assert "SGLang Model Gateway" in str(caught.value) and "client.chat(" in str(caught.value)
    with TGIClient(cluster.replica_urls[0], api_key=API_KEY, timeout=CLIENT_TIMEOUT_S) as replica:
        out = replica.generate("What is 7 plus 5?", max_new_tokens=4)     # a replica itself still speaks TGI
        assert out.details is not None and out.details.generated_tokens >= 1


def test_responses_create_through_the_gateway(oai):
    reply = oai.responses.create(model="tgi", input="What is 7 plus 5?", max_output_tokens=20, temperature=0)
    assert reply.status == "completed" and reply.output_text == ANSWER
    events = list(oai.responses.create(model="tgi", input="What is 7 plus 5?", max_output_tokens=20, temperature=0,
                                       stream=True))
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == ANSWER and events[-1].type == "response.completed"


# ---- routing policies and failures (these kill replicas: keep them last) ----

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
    wrong = {"Authorization": "Bearer wrong"}
    assert httpx.post(url, json=body, headers=wrong, timeout=CLIENT_TIMEOUT_S).status_code == 401
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
    with TGIClient(cluster.url, api_key=API_KEY, timeout=CLIENT_TIMEOUT_S) as client, \
            pytest.raises(TGIError) as typed:
        client.chat(messages, max_tokens=4)
    assert typed.value.status == 503 and "No available workers" in typed.value.message
