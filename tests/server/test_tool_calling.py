"""The openai client, unchanged, against the course server: `parse()` with a Pydantic model, `tools`
(blocking and streamed), a tool-call round trip, and TGI's tool errors."""

from __future__ import annotations

import json

import httpx
import pytest
from pydantic import BaseModel, Field

from conftest import WAIT_S

COUNTRIES = ["France", "Japan", "Peru"]
CAPITALS = {"France": "Paris", "Japan": "Tokyo", "Peru": "Lima"}
GET_CAPITAL = {"type": "function", "function": {
    "name": "get_capital", "description": "The capital city of a country",
    "parameters": {"type": "object", "properties": {"country": {"type": "string", "enum": COUNTRIES}},
                   "required": ["country"]}}}
#: The bundled model has a 512-token context: a short tool prompt leaves room for the tools.
SHORT_TOOL_PROMPT = "Call a function."
QUESTION = [{"role": "user", "content": "What is the capital of France?"}]


class City(BaseModel):
    name: str = Field(pattern=r"^[A-Z][a-z]{1,11}$")      # bounded, so it always fits in max_tokens
    sunny: bool


@pytest.fixture(scope="module")
def oai(server):
    from openai import OpenAI

    return OpenAI(base_url=server.url + "/v1", api_key="-", timeout=WAIT_S, max_retries=0)


def test_parse_with_a_pydantic_model(oai):
    for seed in range(3):
        completion = oai.chat.completions.parse(model="tgi", messages=QUESTION, response_format=City,
                                                max_tokens=60, seed=seed)
        city = completion.choices[0].message.parsed
        assert isinstance(city, City), completion.choices[0].message.content


@pytest.mark.parametrize("choice", ["required", {"type": "function", "function": {"name": "get_capital"}}])
def test_tools_answer_with_tool_calls(oai, choice):
    completion = oai.chat.completions.create(model="tgi", messages=QUESTION, tools=[GET_CAPITAL], tool_choice=choice,
                                             max_tokens=80, seed=1, extra_body={"tool_prompt": SHORT_TOOL_PROMPT})
    message = completion.choices[0].message
    assert completion.choices[0].finish_reason == "tool_calls" and message.content is None
    (call,) = message.tool_calls
    assert call.type == "function" and call.function.name == "get_capital" and call.id
    assert json.loads(call.function.arguments)["country"] in COUNTRIES


def test_streamed_tool_call_deltas_reassemble(oai):
    kwargs = dict(model="tgi", messages=QUESTION, tools=[GET_CAPITAL], tool_choice="required", max_tokens=80, seed=1,
                  extra_body={"tool_prompt": SHORT_TOOL_PROMPT})
    whole = oai.chat.completions.create(**kwargs).choices[0].message.tool_calls[0].function
    name, arguments, finish = None, "", None
    for chunk in oai.chat.completions.create(stream=True, **kwargs):
        for delta in chunk.choices[0].delta.tool_calls or []:
            name = name or delta.function.name
            arguments += delta.function.arguments or ""
        finish = chunk.choices[0].finish_reason or finish
    assert name == whole.name and json.loads(arguments) == json.loads(whole.arguments) and finish == "tool_calls"


def test_tool_call_round_trip(oai):
    """The model calls get_capital, we run it and send the result back; the model then answers in text."""
    messages = list(QUESTION)
    first = oai.chat.completions.create(model="tgi", messages=messages, tools=[GET_CAPITAL], tool_choice="required",
                                        max_tokens=80, seed=1, extra_body={"tool_prompt": SHORT_TOOL_PROMPT})
    call = first.choices[0].message.tool_calls[0]
    result = CAPITALS[json.loads(call.function.arguments)["country"]]
    messages += [first.choices[0].message.model_dump(exclude_none=True),
                 {"role": "tool", "tool_call_id": call.id, "content": result}]
    final = oai.chat.completions.create(model="tgi", messages=messages, max_tokens=20, seed=1)
    assert final.choices[0].message.content and not final.choices[0].message.tool_calls


def test_tool_choice_none_and_auto(server):
    with httpx.Client(base_url=server.url, timeout=WAIT_S) as http:
        none = http.post("/v1/chat/completions", json={"messages": QUESTION, "tools": [GET_CAPITAL],
                                                       "tool_choice": "none", "max_tokens": 10})
        assert none.status_code == 200 and none.json()["choices"][0]["message"]["content"] is not None
        auto = http.post("/v1/chat/completions", json={"messages": QUESTION, "tools": [GET_CAPITAL], "max_tokens": 80,
                                                       "tool_choice": "auto", "tool_prompt": SHORT_TOOL_PROMPT})
        message = auto.json()["choices"][0]["message"]
        assert auto.status_code == 200 and (message.get("tool_calls") or message["content"] is not None)


def test_tool_errors_in_tgi_wording(server):
    with httpx.Client(base_url=server.url, timeout=WAIT_S) as http:
        unknown = http.post("/v1/chat/completions", json={"messages": QUESTION, "tools": [GET_CAPITAL],
                                                          "tool_choice": {"type": "function",
                                                                          "function": {"name": "get_weather"}}})
        assert unknown.status_code == 422
        assert unknown.json() == {"error": "Tool error: Tool with name get_weather not found",
                                   "error_type": "tool_error"}
        bad_args = {"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {
            "a": {"type": "object", "if": {"required": ["b"]}, "then": {}}}}}}
        refused = http.post("/v1/chat/completions", json={"messages": QUESTION, "tools": [bad_args],
                                                          "tool_choice": "required", "max_tokens": 5})
        assert refused.status_code == 422 and "Unimplemented keys" in refused.json()["error"]


def test_course_clients_take_a_grammar_a_response_format_and_tools(server):
    import asyncio

    from smol_inference.client import AsyncTGIClient, TGIClient, structured

    with TGIClient(server.url) as client:
        city = client.generate_json("<|im_start|>user\nA city?<|im_end|>\n<|im_start|>assistant\n", City,
                                    max_new_tokens=60, seed=2)
        assert isinstance(city, City)
        answer = client.generate("Yes?", grammar=structured.grammar(regex="(yes|no)"), max_new_tokens=5)
        assert answer.generated_text in ("yes", "no")
        assert isinstance(client.chat_json(QUESTION, City, max_tokens=60, seed=3), City)
        out = client.chat(QUESTION, tools=[GET_CAPITAL], tool_choice="required", tool_prompt=SHORT_TOOL_PROMPT,
                          max_tokens=80, seed=1)
        (call,) = structured.tool_calls(out.choices[0].message)
        assert call.name == "get_capital" and call.arguments["country"] in COUNTRIES

    async def run() -> object:
        async with AsyncTGIClient(server.url) as client:
            return await client.chat_json(QUESTION, City, max_tokens=60, seed=4)

    assert isinstance(asyncio.run(run()), City)


def test_tool_call_answer_matches_tgi_schema(server, check_schema):
    with httpx.Client(base_url=server.url, timeout=WAIT_S) as http:
        body = http.post("/v1/chat/completions", json={"messages": QUESTION, "tools": [GET_CAPITAL], "max_tokens": 80,
                                                       "tool_choice": "required", "tool_prompt": SHORT_TOOL_PROMPT})
    check_schema(body.json(), "ChatCompletion")
    assert body.json()["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "get_capital"


HOSTILE = [
    {"tools": [{"type": "function", "function": {"name": "f", "parameters": {"properties": 5}}}]},
    {"tools": [{"type": "function", "function": {"name": "f", "parameters": {"required": 5}}}]},
    {"tools": [{"type": "function", "function": {"name": "f", "parameters": []}}]},
    {"tools": [{"type": "function", "function": {"name": ""}}]},
    {"tools": [5]},
    {"tools": [GET_CAPITAL], "tool_choice": {"function": "get_capital"}},
    {"tools": [GET_CAPITAL], "tool_choice": "get_weather"},
    {"response_format": {"type": "json_schema", "json_schema": {"schema": {"type": 5}}}},
    {"response_format": {"type": "json_schema"}},
    {"response_format": {"type": "xml"}},
    {"response_format": {"type": "regex", "value": 5}},
    {"response_format": {"type": "json", "value": [1]}},
]


@pytest.mark.parametrize("extra", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_tool_and_format_fields_get_422_not_500(server, extra):
    with httpx.Client(base_url=server.url, timeout=WAIT_S) as http:
        response = http.post("/v1/chat/completions", json={"messages": QUESTION, "max_tokens": 5, **extra})
    assert response.status_code == 422, response.text
    assert response.json()["error_type"] in ("validation", "tool_error")
