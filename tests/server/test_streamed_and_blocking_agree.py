"""Streamed and non-streamed answers of one request agree on text, tool calls and finish reason.

A matrix of routes (TGI /generate, OpenAI completions, chat, chat with a JSON schema, chat with a
tool) x ways a generation ends (the model ends it, `max_tokens` cuts it, a stop string cuts it),
greedy, through the real clients (huggingface_hub, openai). A tool call cut by `max_tokens` answers
200 with finish_reason "length" and the partial call exactly as the streamed deltas concatenate (what
OpenAI and vLLM report); only a complete call ends with "tool_calls".
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from huggingface_hub import InferenceClient

from conftest import WAIT_S

QUESTION = "What is the weather in Paris?"
WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "The weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string", "maxLength": 24}},
                   "required": ["city"]}}}
CITY = {"type": "json_schema", "json_schema": {"name": "city", "schema": {
    "type": "object", "properties": {"name": {"type": "string", "maxLength": 16}}, "required": ["name"]}}}
#: max_tokens that cut each route's answer: tool calls are cut before the name, in it and in the arguments.
CUTS = {"generate": [3], "completions": [3], "chat": [3], "chat_json": [4], "chat_tool": [5, 34, 38]}
LONG = 120                                        # room for every route to end by itself


def oai(url: str) -> Any:
    from openai import OpenAI

    return OpenAI(base_url=url + "/v1", api_key="-", timeout=WAIT_S, max_retries=0)


def chat_kwargs(route: str, max_tokens: int, stop: list[str] | None) -> dict[str, Any]:
    kwargs: dict[str, Any] = dict(model="tgi", messages=[{"role": "user", "content": QUESTION}],
                                  max_tokens=max_tokens, temperature=0, stop=stop)
    if route == "chat_json":
        kwargs["response_format"] = CITY
    if route == "chat_tool":
        kwargs.update(tools=[WEATHER], tool_choice="required", extra_body={"tool_prompt": "Call a function."})
    return kwargs


def answer(url: str, route: str, max_tokens: int, stop: list[str] | None, stream: bool,
           prompt: str = QUESTION) -> dict[str, Any]:
    """{text, calls: [(name, arguments)], finish} of one request, streamed or not (`prompt`: the raw
    prompt of /generate and /v1/completions, the question rendered by the chat template)."""
    if route == "generate":
        client = InferenceClient(url, timeout=WAIT_S)
        kwargs = dict(max_new_tokens=max_tokens, stop=stop or [], details=True)
        if not stream:
            out = client.text_generation(prompt, **kwargs)
            return {"text": out.generated_text, "calls": [], "finish": out.details.finish_reason}
        events = list(client.text_generation(prompt, stream=True, **kwargs))
        text = "".join(e.token.text for e in events if not e.token.special)
        assert events[-1].generated_text == text
        return {"text": text, "calls": [], "finish": events[-1].details.finish_reason}
    client = oai(url)
    if route == "completions":
        kwargs = dict(model="tgi", prompt=prompt, max_tokens=max_tokens, temperature=0, stop=stop)
        if not stream:
            choice = client.completions.create(**kwargs).choices[0]
            return {"text": choice.text, "calls": [], "finish": choice.finish_reason}
        chunks = [c.choices[0] for c in client.completions.create(stream=True, **kwargs) if c.choices]
        return {"text": "".join(c.text for c in chunks), "calls": [],
                "finish": next(c.finish_reason for c in chunks if c.finish_reason)}
    kwargs = chat_kwargs(route, max_tokens, stop)
    if not stream:
        choice = client.chat.completions.create(**kwargs).choices[0]
        calls = [(c.function.name, c.function.arguments) for c in choice.message.tool_calls or []]
        return {"text": choice.message.content or "", "calls": calls, "finish": choice.finish_reason}
    text, names, arguments, finish = "", {}, {}, None
    for chunk in client.chat.completions.create(stream=True, **kwargs):
        for choice in chunk.choices:
            text += choice.delta.content or ""
            for call in choice.delta.tool_calls or []:
                if call.function.name:
                    names[call.index] = call.function.name
                arguments[call.index] = arguments.get(call.index, "") + (call.function.arguments or "")
            finish = choice.finish_reason or finish
    return {"text": text, "calls": [(names[i], arguments[i]) for i in sorted(names)], "finish": finish}


def stop_inside(whole: dict[str, Any]) -> str:
    """A word of the whole answer after its start (of the call's arguments for a tool): TGI's rule
    matches a stop string at the end of the text so far, so it must end where a token ends."""
    text = whole["calls"][0][1] if whole["calls"] else whole["text"]
    words = [word for word in text.split() if word.isalpha()]
    assert len(words) >= 2, text
    return words[len(words) // 2]


def agree(url: str, route: str, max_tokens: int, stop: list[str] | None, prompt: str) -> dict[str, Any]:
    blocking = answer(url, route, max_tokens, stop, False, prompt)
    streamed = answer(url, route, max_tokens, stop, True, prompt)
    assert blocking == streamed, f"{route} max_tokens={max_tokens} stop={stop}"
    return blocking


@pytest.mark.parametrize("route", list(CUTS))
def test_every_ending_is_reported_alike_streamed_and_not(server, chat_text, route):
    prompt = chat_text(QUESTION)
    whole = agree(server.url, route, LONG, None, prompt)
    assert whole["finish"] == ("tool_calls" if route == "chat_tool" else
                               "eos_token" if route == "generate" else "stop")
    for cut in CUTS[route]:
        out = agree(server.url, route, cut, None, prompt)
        assert out["finish"] == "length"
        if route == "chat_tool" and out["calls"]:
            name, arguments = out["calls"][0]
            assert name == "get_weather" and whole["calls"][0][1].startswith(arguments)
    stop = stop_inside(whole)
    out = agree(server.url, route, LONG, [stop], prompt)
    assert out["finish"] == ("stop_sequence" if route == "generate" else "stop")


def test_a_tool_call_cut_in_its_arguments_is_a_partial_call_not_an_error(server):
    whole = answer(server.url, "chat_tool", LONG, None, stream=False)
    full = whole["calls"][0][1]
    assert json.loads(full)["city"]
    seen = []
    for cut in CUTS["chat_tool"][1:]:
        out = answer(server.url, "chat_tool", cut, None, stream=False)
        assert out["finish"] == "length" and out["calls"], out
        seen.append(out["calls"][0][1])
    assert any(len(a) > 2 and full.startswith(a) and a != full for a in seen), seen
