"""Real clients, unchanged, through the SGLang Model Gateway in front of course-server replicas: the
openai client (chat, streaming, tools, structured output), huggingface_hub's InferenceClient and
TGIClient's chat methods; TGI's own /generate does not pass through, and TGIClient says so by name."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel, Field

from gateway_fixtures import API_KEY, CLIENT_TIMEOUT_S, cluster  # noqa: F401

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
