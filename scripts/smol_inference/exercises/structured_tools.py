"""Lesson 2, exercise 4: structured output and a tool-call round trip.

The learner writes a Pydantic model `CountryFacts`, gets `extracted` (an instance of it) from the
endpoint with constrained decoding (`client.chat_json`, greedy), then declares `get_capital_tool`
(OpenAI's function definition) with its Python `get_capital`, and builds `tool_messages`: the
question, the assistant's tool call and the `tool` message with the function's result. The check
sends the learner's schema and tool to the endpoint itself (greedy, so it gets the same answers),
validates what comes back with the learner's model and function, and asks for the final answer of
the learner's round trip. text_generation_inference/structured_output.md, "Structured output and tool calling".
"""

from __future__ import annotations

from typing import Any, ClassVar

from .config import HTTP_TIMEOUT_S
from .core import Exercise, json_body

QUESTION = "What is the capital of France?"
TOOL_PROMPT = "Call a function."
MAX_TOKENS = 80

SOLUTION = '''
import json

from pydantic import BaseModel, Field

from smol_inference.client.structured import tool_calls


class CountryFacts(BaseModel):
    country: str = Field(pattern=r"^[A-Z][a-z]{1,11}$")  # bounded: max_tokens cannot cut the JSON
    capital: str = Field(pattern=r"^[A-Z][a-z]{1,11}$")


extracted = client.chat_json([{"role": "user", "content": EX4_QUESTION}], CountryFacts, max_tokens=80, temperature=0)
print(repr(extracted))


def get_capital(country: str) -> str:
    return {"France": "Paris", "Japan": "Tokyo", "Peru": "Lima"}[country]


get_capital_tool = {"type": "function", "function": {
    "name": "get_capital", "description": "The capital city of a country",
    "parameters": {"type": "object", "properties": {"country": {"type": "string", "enum": ["France", "Japan", "Peru"]}},
                   "required": ["country"]}}}
question = [{"role": "user", "content": "What is the capital of France?"}]
first = client.chat(question, tools=[get_capital_tool], tool_choice="required", tool_prompt="Call a function.",
                    max_tokens=80, temperature=0)
call = tool_calls(first.choices[0].message)[0]
tool_messages = question + [
    {"role": "assistant", "tool_calls": [{"id": call.id, "type": "function",
                                          "function": {"name": call.name, "arguments": json.dumps(call.arguments)}}]},
    {"role": "tool", "tool_call_id": call.id, "content": get_capital(**call.arguments)}]
final = client.chat(tool_messages, max_tokens=30, temperature=0)
print(call.name, call.arguments, "->", tool_messages[-1]["content"], "| final:", final.choices[0].message.content)
'''


class StructuredTools(Exercise):
    """Check `CountryFacts`, `extracted`, `get_capital`, `get_capital_tool`, `tool_messages` at ENDPOINT."""

    names: ClassVar[tuple[str, ...]] = ("CountryFacts", "extracted", "get_capital", "get_capital_tool",
                                        "tool_messages")
    hints: ClassVar[dict[str, str]] = {
        "en": ("client.chat_json(messages, CountryFacts, max_tokens=80, temperature=0) sends your model as "
               "response_format and parses the answer into it; bound every string (pattern, maxLength or an enum) "
               "or max_tokens may cut the JSON. For the tool, give `country` an enum of the countries get_capital "
               "knows; client.chat(..., tools=[get_capital_tool], tool_choice='required', "
               "tool_prompt='Call a function.') returns the call (smol_inference.client.structured.tool_calls "
               "reads it); send back the assistant message with its tool_calls and a 'tool' message with the result."),
        "zh": ("client.chat_json(messages, CountryFacts, max_tokens=80, temperature=0) 把你的模型作为 response_format "
               "发送，并把回答解析成它；每个字符串都要有界（pattern、maxLength 或 enum），"
               "否则 max_tokens 可能截断 JSON。"
               "对于工具，给 `country` 设一个 enum，只列出 get_capital 认识的国家；client.chat(..., "
               "tools=[get_capital_tool], tool_choice='required', tool_prompt='Call a function.') 会返回调用"
               "（可用 smol_inference.client.structured.tool_calls 读取）；"
               "再把带 tool_calls 的 assistant 消息和一条装着"
               "结果的 'tool' 消息发回去。"),
    }
    solution_code: ClassVar[str] = SOLUTION

    def _check(self) -> None:
        import httpx

        facts, extracted, get_capital, tool, messages = self.learner()
        from pydantic import BaseModel

        self.expect(isinstance(facts, type) and issubclass(facts, BaseModel),
                    "`CountryFacts` should be a Pydantic model: class CountryFacts(BaseModel): ...",
                    "`CountryFacts` 应为 Pydantic 模型：class CountryFacts(BaseModel): ...")
        self.expect(isinstance(extracted, facts),
                    f"`extracted` is a {type(extracted).__name__}, not a CountryFacts: let client.chat_json(..., "
                    "CountryFacts, ...) parse the answer",
                    f"`extracted` 是 {type(extracted).__name__}，不是 CountryFacts：请让 client.chat_json(..., "
                    "CountryFacts, ...) 解析回答")
        with httpx.Client(base_url=self.given("ENDPOINT").rstrip("/"), timeout=HTTP_TIMEOUT_S) as http:
            self._check_extracted(http, facts, extracted)
            call = self._check_tool(http, tool, get_capital)
            self._check_round_trip(http, messages, get_capital, call)

    def _chat(self, http: Any, messages: list, **params: Any) -> dict:
        response = http.post("/v1/chat/completions", json={"model": "tgi", "messages": messages,
                                                           "temperature": 0, **params})
        self.expect(response.status_code == 200,
                    f"the endpoint refused the request: {response.status_code} {response.text[:300]}",
                    f"端点拒绝了请求：{response.status_code} {response.text[:300]}")
        return json_body(response)["choices"][0]["message"]

    def _check_extracted(self, http: Any, facts: Any, extracted: Any) -> None:
        from pydantic import ValidationError

        schema = {"name": facts.__name__, "schema": facts.model_json_schema(), "strict": True}
        message = self._chat(http, [{"role": "user", "content": self.given("EX4_QUESTION")}], max_tokens=MAX_TOKENS,
                             response_format={"type": "json_schema", "json_schema": schema})
        try:
            expected = facts.model_validate_json(message.get("content") or "")
        except ValidationError as error:
            raise AssertionError(self._say(
                f"the constrained answer {message.get('content')!r} does not validate ({error.error_count()} "
                "error(s)): bound every string (pattern, maxLength or an enum) so that max_tokens cannot cut it",
                f"受约束的回答 {message.get('content')!r} 未通过校验（{error.error_count()} 个错误）："
                "请给每个字符串加上界限（pattern、maxLength 或 enum），避免被 max_tokens 截断")) from None
        self.expect(extracted == expected,
                    f"`extracted` is {extracted!r}, the endpoint answers EX4_QUESTION with {expected!r} at "
                    f"temperature 0: ask with client.chat_json(..., max_tokens={MAX_TOKENS}, temperature=0)",
                    f"`extracted` 是 {extracted!r}，而端点在 temperature 0 时对 EX4_QUESTION 的回答是 {expected!r}："
                    f"请用 client.chat_json(..., max_tokens={MAX_TOKENS}, temperature=0) 提问")

    def _check_tool(self, http: Any, tool: Any, get_capital: Any) -> Any:
        from ..client.structured import tool_calls

        name = tool.get("function", {}).get("name") if isinstance(tool, dict) else None
        self.expect(name == "get_capital" and tool.get("type") == "function",
                    "`get_capital_tool` should be {'type': 'function', 'function': {'name': 'get_capital', "
                    "'description': ..., 'parameters': <JSON Schema>}}",
                    "`get_capital_tool` 应为 {'type': 'function', 'function': {'name': 'get_capital', "
                    "'description': ..., 'parameters': <JSON Schema>}}")
        message = self._chat(http, [{"role": "user", "content": QUESTION}], tools=[tool], tool_choice="required",
                             tool_prompt=TOOL_PROMPT, max_tokens=MAX_TOKENS)
        calls = tool_calls(message)
        self.expect(calls and calls[0].name == "get_capital", f"no get_capital call came back: {message}",
                    f"没有返回 get_capital 调用：{message}")
        try:
            result = get_capital(**calls[0].arguments)
        except Exception as error:  # noqa: BLE001 - reported to the learner
            raise AssertionError(self._say(
                f"get_capital(**{calls[0].arguments}) raised {type(error).__name__}: {error}; the model may pick any "
                "value the schema allows, so give `country` an enum of the countries your function knows",
                f"get_capital(**{calls[0].arguments}) 抛出 {type(error).__name__}：{error}；模型可以选择 schema "
                "允许的任何值，所以请给 `country` 设一个 enum，只列出你的函数认识的国家")) from None
        self.expect(isinstance(result, str) and result,
                    f"get_capital(**{calls[0].arguments}) returned {result!r}: a tool message carries text",
                    f"get_capital(**{calls[0].arguments}) 返回 {result!r}：tool 消息的内容应为文本")
        return calls[0]

    def _check_round_trip(self, http: Any, messages: Any, get_capital: Any, call: Any) -> None:
        from ..client.structured import tool_calls

        ok = isinstance(messages, list) and len(messages) >= 3 and all(isinstance(m, dict) for m in messages)
        self.expect(ok and messages[-1].get("role") == "tool" and tool_calls(messages[-2]),
                    "`tool_messages` should end with the assistant's message carrying tool_calls, then "
                    "{'role': 'tool', 'tool_call_id': ..., 'content': <result>}",
                    "`tool_messages` 的结尾应为带 tool_calls 的 assistant 消息，然后是 "
                    "{'role': 'tool', 'tool_call_id': ..., 'content': <结果>}")
        sent = tool_calls(messages[-2])[0]
        self.expect(sent.name == call.name and sent.arguments == call.arguments,
                    f"the call in `tool_messages` is {sent.name}({sent.arguments}), the endpoint calls "
                    f"{call.name}({call.arguments}) for {QUESTION!r}: send back the call the model made",
                    f"`tool_messages` 中的调用是 {sent.name}({sent.arguments})，而端点对 {QUESTION!r} 的调用是 "
                    f"{call.name}({call.arguments})：请发回模型实际做出的调用")
        expected = get_capital(**sent.arguments)
        self.expect(messages[-1].get("tool_call_id") == sent.id and messages[-1].get("content") == expected,
                    f"the tool message should answer call {sent.id!r} with {expected!r}, got {messages[-1]}",
                    f"tool 消息应以 {expected!r} 回答调用 {sent.id!r}，实际是 {messages[-1]}")
        final = self._chat(http, messages, max_tokens=MAX_TOKENS)
        self.expect(isinstance(final.get("content"), str), f"no final answer came back: {final}",
                    f"没有得到最终回答：{final}")

    def _say(self, en: str, zh: str) -> str:
        return zh if self.language == "zh" else en

