"""Lesson 2, exercise 1: deploy a replica with TGI's limits and query it.

The learner starts `mine`, a course-server replica with TGI's launcher flags
`max_concurrent_requests=4`, `max_input_tokens=200`, `max_total_tokens=256`, and asks it "What is 7
plus 5?" through the chat route with temperature 0 (`reply`). The check talks to the replica itself:
`/info` reports the three limits, a prompt over `max_input_tokens` gets TGI's 422
(`{"error": "Input validation error: `inputs` must have less than 200 tokens. ...", "error_type":
"validation"}`, router/src/validation.rs), the learner's `rejected` holds that error's status and the
limit its message names, and the same greedy chat request gives the learner's reply.
text_generation_inference/tune_and_measure.md, "Launcher flags".
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from .config import DEPLOY_LIMITS, HTTP_TIMEOUT_S, LONG_PROMPT_WORDS
from .core import Exercise, json_body

QUESTION = "What is 7 plus 5?"
MAX_TOKENS = 20

SOLUTION = '''
import re

from smol_inference.client import ValidationError

mine = start_server(model_id=MODEL, max_concurrent_requests=4, max_input_tokens=200, max_total_tokens=256)
with TGIClient(mine.url) as mine_client:
    mine_info = mine_client.info()
    print({key: mine_info[key] for key in ("max_concurrent_requests", "max_input_tokens", "max_total_tokens")})
    answer = mine_client.chat([{"role": "user", "content": "What is 7 plus 5?"}], max_tokens=20, temperature=0)
    reply = answer.choices[0].message.content
    try:
        mine_client.generate("word " * 400, max_new_tokens=8)  # far more than 200 input tokens
    except ValidationError as error:
        print("rejected:", error)
        rejected = {"status": error.status, "limit": int(re.search(r"less than (\\d+) tokens", str(error)).group(1))}
print(repr(reply), rejected)
'''


class Deploy(Exercise):
    """Check the replica `mine` (a handle with `.url`, or a URL) and the greedy `reply` it gave."""

    names: ClassVar[tuple[str, ...]] = ("mine", "reply", "rejected")
    hints: ClassVar[dict[str, str]] = {
        "en": ("start_server(model_id=MODEL, max_concurrent_requests=..., max_input_tokens=..., "
               "max_total_tokens=...) takes TGI's launcher flags as keyword arguments and returns a handle with "
               ".url. TGIClient(mine.url).chat(messages, max_tokens=20, temperature=0) asks it greedily; "
               "the text is in .choices[0].message.content. The client raises an exception for the over-long "
               "prompt: which of its attributes holds the HTTP status, and which number in its message is a "
               "launcher flag's value?"),
        "zh": ("start_server(model_id=MODEL, max_concurrent_requests=..., max_input_tokens=..., "
               "max_total_tokens=...) 以关键字参数接受 TGI 启动器的参数，返回带 .url 的句柄。"
               "TGIClient(mine.url).chat(messages, max_tokens=20, temperature=0) 以贪心方式提问；"
               "文本在 .choices[0].message.content 中。对过长的提示词，客户端会抛出异常：它的哪个属性保存 HTTP 状态码？"
               "消息中的哪个数字是某个启动参数的值？"),
    }
    solution_code: ClassVar[str] = SOLUTION

    def _check(self) -> None:
        import httpx

        mine, reply, rejected = self.learner()
        url = mine if isinstance(mine, str) else getattr(mine, "url", None)
        self.expect(isinstance(url, str) and url.startswith("http"),
                    "`mine` should be the handle start_server() returns (or the replica's URL)",
                    "`mine` 应为 start_server() 返回的句柄（或副本的 URL）")
        assert isinstance(url, str)  # expect() raised otherwise
        with httpx.Client(base_url=url.rstrip("/"), timeout=HTTP_TIMEOUT_S) as http:
            try:
                info = http.get("/info").json()
            except httpx.TransportError:
                raise AssertionError(self._say(f"nothing answers at {url}: is the replica still running?",
                                               f"{url} 没有响应：副本还在运行吗？")) from None
            self._check_limits(info)
            status, limit = self._check_too_long(http)
            self._check_reply(http, reply)
            self._check_rejected(rejected, status, limit)

    def _check_limits(self, info: dict[str, Any]) -> None:
        for key, want in DEPLOY_LIMITS.items():
            got = info.get(key)
            self.expect(got == want,
                        f"the replica's /info reports {key}={got}, the exercise asks for {want}: pass {key}={want} "
                        "to start_server",
                        f"副本的 /info 显示 {key}={got}，练习要求 {want}：请向 start_server 传入 {key}={want}")

    def _check_too_long(self, http: Any) -> tuple[int, int | None]:
        limit = DEPLOY_LIMITS["max_input_tokens"]
        response = http.post("/generate", json={"inputs": "word " * LONG_PROMPT_WORDS,
                                                "parameters": {"max_new_tokens": 8}})
        body = json_body(response)
        self.expect(response.status_code == 422 and body.get("error_type") == "validation"
                    and str(body.get("error", "")).startswith("Input validation error")
                    and f"{limit} tokens" in str(body.get("error", "")),
                    f"a prompt of {LONG_PROMPT_WORDS} words got {response.status_code} {response.text[:200]!r}; "
                    f"a replica with max_input_tokens={limit} answers 422 with TGI's validation error naming the limit",
                    f"{LONG_PROMPT_WORDS} 个词的提示词得到 {response.status_code} {response.text[:200]!r}；"
                    f"max_input_tokens={limit} 的副本应返回 422 和 TGI 的校验错误")
        named = re.search(r"less than (\d+) tokens", str(body.get("error", "")))
        return response.status_code, int(named.group(1)) if named else None

    def _check_rejected(self, rejected: Any, status: int, limit: int | None) -> None:
        self.expect(isinstance(rejected, dict) and set(rejected) >= {"status", "limit"},
                    f"`rejected` should be a dict with the error's 'status' and the 'limit' its message names, got "
                    f"{type(rejected).__name__}: read the exception's fields and message, do not store the exception",
                    f"`rejected` 应为包含错误的 'status' 和其消息所说的 'limit' 的 dict，"
                    f"实际是 {type(rejected).__name__}："
                    "请读出异常的字段和消息，而不是存下异常本身")
        self.expect(rejected["status"] == status,
                    f"`rejected['status']` is {rejected['status']!r}, but the replica answered the over-long prompt "
                    f"with HTTP {status}: take the status from the error you got, not from memory",
                    f"`rejected['status']` 是 {rejected['status']!r}，但副本对过长提示词返回的是 HTTP {status}："
                    "请从你得到的错误中取状态码，而不是凭记忆填写")
        self.expect(rejected["limit"] == limit,
                    f"`rejected['limit']` is {rejected['limit']!r}, but the error message names {limit} tokens: which "
                    "launcher flag does that number come from, and is it the prompt's length or the limit?",
                    f"`rejected['limit']` 是 {rejected['limit']!r}，但错误消息中写的是 {limit} 个词元：这个数字来自哪个"
                    "启动参数？它是提示词的长度还是上限？")

    def _check_reply(self, http: Any, reply: Any) -> None:
        self.expect(isinstance(reply, str) and reply.strip(),
                    f"`reply` should be the answer's text (a non-empty str), got {reply!r}: "
                    "take .choices[0].message.content",
                    f"`reply` 应为回答的文本（非空 str），实际是 {reply!r}：请取 .choices[0].message.content")
        response = http.post("/v1/chat/completions", json={
            "model": "tgi", "messages": [{"role": "user", "content": QUESTION}],
            "max_tokens": MAX_TOKENS, "temperature": 0})
        expected = json_body(response).get("choices", [{}])[0].get("message", {}).get("content", "")
        self.expect(reply.strip() == expected.strip(),
                    f"`reply` is {reply!r}, but the replica answers {QUESTION!r} with {expected!r} at temperature 0 "
                    f"and max_tokens={MAX_TOKENS}: ask `mine` through the chat route with those settings",
                    f"`reply` 是 {reply!r}，但副本在 temperature 0、max_tokens={MAX_TOKENS} 时对 {QUESTION!r} 的回答是 "
                    f"{expected!r}：请用这些设置通过对话路由询问 `mine`")

    def _say(self, en: str, zh: str) -> str:
        return zh if self.language == "zh" else en

