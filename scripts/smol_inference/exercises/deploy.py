"""Lesson 2, exercise 1: deploy a replica with TGI's limits and query it.

The learner starts `mine`, a course-server replica with TGI's launcher flags
`max_concurrent_requests=4`, `max_input_tokens=200`, `max_total_tokens=256`, and asks it "What is 7
plus 5?" through the chat route with temperature 0 (`reply`). The check talks to the replica itself:
`/info` reports the three limits, a prompt over `max_input_tokens` gets TGI's 422
(`{"error": "Input validation error: `inputs` must have less than 200 tokens. ...", "error_type":
"validation"}`, router/src/validation.rs), and the same greedy chat
request gives the learner's reply. text_generation_inference/tune_and_measure.md, "Launcher flags".
"""

from __future__ import annotations

from typing import Any, ClassVar

from .config import DEPLOY_LIMITS, HTTP_TIMEOUT_S, LONG_PROMPT_WORDS
from .core import Exercise, json_body

QUESTION = "What is 7 plus 5?"
MAX_TOKENS = 20

SOLUTION = '''
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
print(repr(reply))
'''


class Deploy(Exercise):
    """Check the replica `mine` (a handle with `.url`, or a URL) and the greedy `reply` it gave."""

    names: ClassVar[tuple[str, ...]] = ("mine", "reply")
    hints: ClassVar[dict[str, str]] = {
        "en": ("start_server(model_id=MODEL, max_concurrent_requests=..., max_input_tokens=..., "
               "max_total_tokens=...) takes TGI's launcher flags as keyword arguments and returns a handle with "
               ".url. TGIClient(mine.url).chat(messages, max_tokens=20, temperature=0) asks it greedily; "
               "the text is in .choices[0].message.content."),
        "zh": ("start_server(model_id=MODEL, max_concurrent_requests=..., max_input_tokens=..., "
               "max_total_tokens=...) 以关键字参数接受 TGI 启动器的参数，返回带 .url 的句柄。"
               "TGIClient(mine.url).chat(messages, max_tokens=20, temperature=0) 以贪心方式提问；"
               "文本在 .choices[0].message.content 中。"),
    }
    solution_code: ClassVar[str] = SOLUTION

    def _check(self) -> None:
        import httpx

        mine, reply = self.learner()
        url = mine if isinstance(mine, str) else getattr(mine, "url", None)
        self.expect(isinstance(url, str) and url.startswith("http"),
                    "`mine` should be the handle start_server() returns (or the replica's URL)",
                    "`mine` 应为 start_server() 返回的句柄（或副本的 URL）")
        with httpx.Client(base_url=url.rstrip("/"), timeout=HTTP_TIMEOUT_S) as http:
            try:
                info = http.get("/info").json()
            except httpx.TransportError:
                raise AssertionError(self._say(f"nothing answers at {url}: is the replica still running?",
                                               f"{url} 没有响应：副本还在运行吗？")) from None
            self._check_limits(info)
            self._check_too_long(http)
            self._check_reply(http, reply)

    def _check_limits(self, info: dict[str, Any]) -> None:
        for key, want in DEPLOY_LIMITS.items():
            got = info.get(key)
            self.expect(got == want,
                        f"the replica's /info reports {key}={got}, the exercise asks for {want}: pass {key}={want} "
                        "to start_server",
                        f"副本的 /info 显示 {key}={got}，练习要求 {want}：请向 start_server 传入 {key}={want}")

    def _check_too_long(self, http: Any) -> None:
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

