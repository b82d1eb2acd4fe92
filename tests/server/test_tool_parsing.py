"""chat/tool_calls.py / chat/tools.py without a model: TGI's tool grammar, parsing, and streamed deltas."""

from __future__ import annotations

import json

import pytest


def pieces(text: str, size: int) -> list[str]:
    return [text[i:i + size] for i in range(0, len(text), size)]


@pytest.mark.parametrize("size", [1, 2, 3, 7])
def test_streamed_deltas_rebuild_the_arguments(size):
    from smol_inference.server.chat.tools import ToolDeltas

    text = '{"function": {"_name": "get_capital", "country": "Fr}nce", "n": {"a": 1}}}'
    state, deltas = ToolDeltas(), []
    chunks = pieces(text, size)
    for i, chunk in enumerate(chunks):
        deltas += state.push(chunk, i == len(chunks) - 1)
    assert deltas[0]["function"] == {"name": "get_capital", "arguments": ""} and deltas[0]["id"].startswith("call_")
    arguments = "".join(d["function"]["arguments"] for d in deltas[1:])
    assert json.loads(arguments) == {"country": "Fr}nce", "n": {"a": 1}} and not state.declined


def test_no_tool_is_noticed_before_any_delta():
    from smol_inference.server.chat.tools import ToolDeltas

    state = ToolDeltas()
    sent = [state.push(chunk, False) for chunk in pieces('{"function": {"_name": "no_tool"}}', 4)]
    assert state.declined and not any(sent)


def test_tool_plan_follows_tgi():
    from smol_inference.server.errors import ApiError
    from smol_inference.server.chat.tool_calls import NO_TOOL, parse_call, plan_tools

    tool = {"type": "function", "function": {"name": "f", "parameters": {
        "type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]}}}
    auto = plan_tools([tool], None, None)
    assert [f.name for f in auto.functions] == ["f", NO_TOOL] and auto.may_decline
    assert "Given the functions available" in auto.prompt
    assert plan_tools([tool], "none", None) is None and plan_tools(None, "auto", None) is None
    required = plan_tools([tool], "required", "Call it.")
    schema = json.loads(required.grammar().value)
    assert schema["$defs"]["f"]["required"] == ["_name", "x"] and required.prompt == "Call it."
    assert schema["$defs"]["f"]["properties"]["_name"] == {"type": "string", "const": "f"}
    with pytest.raises(ApiError, match="Tool with name g not found"):
        plan_tools([tool], {"type": "function", "function": {"name": "g"}}, None)
    call = parse_call('{"function": {"_name": "f", "x": 3}}')
    assert (call.name, call.arguments) == ("f", {"x": 3})
    assert json.loads(call.openai("call_1")["function"]["arguments"]) == {"x": 3}
    with pytest.raises(ApiError, match="Failed to parse generated text"):
        parse_call('{"function": {"_name": "f", "x": ')
