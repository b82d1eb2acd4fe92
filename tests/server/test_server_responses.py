"""`POST /v1/responses` on the course server with the real `openai` client (`client.responses.create`, blocking
and streamed) over real HTTP with the bundled model, which answers "What is 7 plus 5?" with "7 plus 5 is 12.".

The text subset vLLM serves: input as a string or messages, instructions, max_output_tokens, sampling fields,
text.format, function tools, the Responses stream events; stateless: `store: true` is answered with
`"store": false`, previous_response_id and background are refused with a 422 that says why.
"""

from __future__ import annotations

import json

import httpx
import openai
import pytest
from conftest import WAIT_S, sse_events

QUESTION = "What is 7 plus 5?"
ANSWER = "7 plus 5 is 12."
WEATHER = [{"type": "function", "name": "get_weather", "description": "Weather in a city",
            "parameters": {"type": "object", "properties": {"city": {"enum": ["Paris", "Rome"]}},
                           "required": ["city"]}}]
#: What sglang-router 0.3.2 adds to every /v1/responses request it forwards (captured from the gateway).
GATEWAY = {"store": True, "stream": None, "temperature": 1.0, "top_p": 1.0, "priority": 0, "top_k": -1, "min_p": 0.0,
           "repetition_penalty": 1.0}
TEXT_EVENTS = ["response.created", "response.in_progress", "response.output_item.added",
               "response.content_part.added", "response.output_text.done", "response.content_part.done",
               "response.output_item.done", "response.completed"]


@pytest.fixture(scope="module")
def client(server):
    return openai.OpenAI(base_url=server.url + "/v1", api_key="-", timeout=WAIT_S, max_retries=0)


def test_a_string_input_answers_like_chat(client, server):
    response = client.responses.create(model="tiny", input=QUESTION, temperature=0)
    assert response.object == "response" and response.status == "completed" and response.output_text == ANSWER
    assert response.output[0].type == "message" and response.output[0].content[0].type == "output_text"
    assert response.usage.output_tokens == 7 and response.usage.total_tokens == response.usage.input_tokens + 7
    assert client.responses.create(model="tiny", input=QUESTION, max_output_tokens=1,
                                   extra_body={"request_id": "resp_lesson"}).id == "resp_lesson"
    chat = httpx.post(server.url + "/v1/chat/completions", timeout=WAIT_S,
                      json={"messages": [{"role": "user", "content": QUESTION}], "temperature": 0}).json()
    assert response.usage.input_tokens == chat["usage"]["prompt_tokens"]
    long = {"model": "tiny", "input": QUESTION, "instructions": "You answer sums. " * 12, "max_output_tokens": 2}
    first, again = client.responses.create(**long), client.responses.create(**long)
    assert again.usage.input_tokens_details.cached_tokens > first.usage.input_tokens_details.cached_tokens


def test_what_the_sglang_gateway_adds_passes(server):
    body = {"model": "tiny", "input": QUESTION, **GATEWAY, "temperature": 0.0}
    answer = httpx.post(server.url + "/v1/responses", json=body, timeout=WAIT_S).json()
    assert answer["output"][0]["content"][0]["text"] == ANSWER and answer["store"] is False
    sampled = httpx.post(server.url + "/v1/responses", json={**body, "temperature": 1.0, "max_output_tokens": 4},
                         timeout=WAIT_S)
    assert sampled.status_code == 200 and sampled.json()["object"] == "response"
    with httpx.stream("POST", server.url + "/v1/responses", json={**body, "stream": True}, timeout=WAIT_S) as events:
        kinds = [json.loads(data)["type"] for data in sse_events(events.iter_lines())]
    assert kinds[-1] == "response.completed"


def test_messages_instructions_and_max_output_tokens(client):
    plain = client.responses.create(model="tiny", input=[{"role": "user", "content": QUESTION}], temperature=0)
    told = client.responses.create(model="tiny", input=[{"role": "user", "content": [
        {"type": "input_text", "text": QUESTION}]}], instructions="Answer briefly.", temperature=0)
    assert plain.output_text == ANSWER and told.usage.input_tokens > plain.usage.input_tokens
    short = client.responses.create(model="tiny", input=QUESTION, temperature=0, max_output_tokens=3)
    assert short.status == "incomplete" and short.incomplete_details.reason == "max_output_tokens"
    assert short.usage.output_tokens == 3 and ANSWER.startswith(short.output_text)


def test_sampling_fields_and_extensions(client):
    drawn = {client.responses.create(model="tiny", input=QUESTION, temperature=5.0, top_p=0.99, max_output_tokens=8,
                                     extra_body={"seed": seed}).output_text for seed in range(3)}
    assert drawn != {ANSWER}
    greedy = {client.responses.create(model="tiny", input=QUESTION, temperature=5.0, max_output_tokens=8,
                                      extra_body={"seed": seed, "top_k": 1}).output_text for seed in range(3)}
    assert greedy == {ANSWER}
    with pytest.raises(openai.UnprocessableEntityError) as refused:
        client.responses.create(model="tiny", input=QUESTION, extra_body={"return_hidden_states": True})
    assert "`return_hidden_states`" in refused.value.response.json()["error"]


def test_streamed_events_add_up_to_the_answer(client):
    events = list(client.responses.create(model="tiny", input=QUESTION, temperature=0, stream=True))
    kinds = [e.type for e in events]
    assert [k for k in kinds if k != "response.output_text.delta"] == TEXT_EVENTS
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == ANSWER
    assert events[-1].response.output_text == ANSWER and events[-1].response.usage.output_tokens == 7
    cut = list(client.responses.create(model="tiny", input=QUESTION, temperature=0, max_output_tokens=3, stream=True))
    assert cut[-1].type == "response.incomplete" and cut[-1].response.incomplete_details.reason == "max_output_tokens"
    with client.responses.stream(model="tiny", input=QUESTION, temperature=0) as stream:   # the SDK's helper
        assert "".join(e.delta for e in stream if e.type == "response.output_text.delta") == ANSWER
        assert stream.get_final_response().output_text == ANSWER


def test_the_sse_body_names_each_event(server):
    with httpx.stream("POST", server.url + "/v1/responses", timeout=WAIT_S,
                      json={"input": QUESTION, "temperature": 0, "stream": True}) as response:
        lines = list(response.iter_lines())
    names = [line[len("event: "):] for line in lines if line.startswith("event: ")]
    payloads = [json.loads(data)["type"] for data in sse_events(lines)]
    assert names == payloads and names[-1] == "response.completed"


def test_text_format_json_schema(client):
    schema = {"type": "object", "properties": {"sum": {"enum": [11, 12, 13]}}, "required": ["sum"]}
    response = client.responses.create(model="tiny", input=QUESTION, temperature=0, text={
        "format": {"type": "json_schema", "name": "sum", "schema": schema, "strict": True}})
    assert json.loads(response.output_text)["sum"] in (11, 12, 13)


def test_function_tools_blocking_and_streamed(client):
    response = client.responses.create(model="tiny", input="What is the weather in Paris?", tools=WEATHER,
                                       tool_choice="required", temperature=0)
    call = response.output[0]
    assert call.type == "function_call" and call.name == "get_weather" and call.call_id
    assert json.loads(call.arguments)["city"] in ("Paris", "Rome")
    events = list(client.responses.create(model="tiny", input="What is the weather in Paris?", tools=WEATHER,
                                          tool_choice={"type": "function", "name": "get_weather"}, temperature=0,
                                          stream=True))
    kinds = [e.type for e in events]
    assert kinds[2:] == ["response.output_item.added", "response.function_call_arguments.delta",
                         "response.function_call_arguments.done", "response.output_item.done", "response.completed"]
    done = next(e for e in events if e.type == "response.function_call_arguments.done")
    assert json.loads(done.arguments)["city"] in ("Paris", "Rome")
    follow_up = client.responses.create(model="tiny", temperature=0, max_output_tokens=5, input=[
        {"role": "user", "content": "What is the weather in Paris?"},
        {"type": "function_call", "call_id": call.call_id, "name": call.name, "arguments": call.arguments},
        {"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}])
    assert follow_up.output[0].type == "message"


def test_stateless_store_is_reported_and_state_is_refused(client):
    assert client.responses.create(model="tiny", input=QUESTION, store=True, max_output_tokens=2).store is False
    for extra, words in (({"previous_response_id": "resp_123"}, "`previous_response_id` needs a stored response"),
                         ({"background": True}, "`background` needs a stored response")):
        with pytest.raises(openai.UnprocessableEntityError) as refused:
            client.responses.create(model="tiny", input=QUESTION, **extra)
        assert words in refused.value.response.json()["error"]


@pytest.mark.parametrize("extra, field", [
    ({"include": ["message.output_text.logprobs"]}, "include"), ({"truncation": "auto"}, "truncation"),
    ({"reasoning": {"effort": "high"}}, "reasoning"), ({"tools": [{"type": "web_search"}]}, "tools[0]"),
    ({"input": [{"role": "user", "content": [{"type": "input_image", "image_url": "x"}]}]}, "input[0].content"),
    ({"input": [{"type": "item_reference", "id": "msg_1"}]}, "input[0]"), ({"unknown_field": 1}, "unknown_field"),
])
def test_what_cannot_be_honoured_is_a_422_naming_it(server, extra, field):
    response = httpx.post(server.url + "/v1/responses", json={"input": QUESTION, **extra}, timeout=WAIT_S)
    assert response.status_code == 422 and field in response.json()["error"], response.text
