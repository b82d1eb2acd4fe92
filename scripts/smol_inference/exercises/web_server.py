"""Lesson 1, exercise 3: a small web server around the pipeline.

The learner writes `make_app(generator)`: a FastAPI app with `GET /health` and `POST /ask`
(`{"question": str, "max_new_tokens": int}` -> `{"answer": str}`). The check serves it on a free
port and talks HTTP to it: `/health` answers; bad bodies (empty or missing question, max_new_tokens
0 or huge) get 422; a valid question gets an answer; and while generations are in flight -- held at
the model's forward pass, so nothing depends on timing -- `/health` still answers, which it cannot
when the model runs on the event loop, and the second request never reaches the model while the
first one's pass is held (a lock around the model). inference_pipeline.md, "A simple web server".
"""

from __future__ import annotations

import threading
from typing import Any, ClassVar

from .config import (FORWARD_LIMIT, HEALTH_PROBE_S, HELD_REQUESTS, HTTP_TIMEOUT_S, HUGE_MAX_NEW_TOKENS, LOCK_PROBE_S,
                     WAIT_S)
from .core import Exercise, json_body
from .hold import ModelHold

SOLUTION = '''
import asyncio

import anyio
import httpx
from fastapi import FastAPI
from pydantic import BaseModel, Field

from smol_inference.webapp import BackgroundServer


class AskBody(BaseModel):
    question: str = Field(min_length=1)
    max_new_tokens: int = Field(32, ge=1, le=64)  # an upper bound: no request can hog the model


def make_app(generator) -> FastAPI:
    app = FastAPI()
    lock = asyncio.Lock()  # one generation at a time on the shared model

    @app.get("/health")
    async def health() -> dict:
        return {"status": "ok"}

    @app.post("/ask")
    async def ask(body: AskBody) -> dict:
        async with lock:  # the blocking model call runs in a worker thread, off the event loop
            result = await anyio.to_thread.run_sync(
                lambda: chat(generator, body.question, max_new_tokens=body.max_new_tokens))
        return {"answer": result.text}

    return app


with BackgroundServer(make_app(generator)) as mine:
    print(httpx.post(f"{mine.url}/ask", json={"question": "What colour is the sky?"}, timeout=60).json())
    print(httpx.post(f"{mine.url}/ask", json={"question": ""}, timeout=60).status_code)
'''

#: (body, what is wrong with it) for the 422 probes.
BAD_BODIES: tuple[tuple[dict[str, Any], str], ...] = (
    ({"question": ""}, "an empty question"),
    ({}, "a body without a question"),
    ({"question": "Hi", "max_new_tokens": 0}, "max_new_tokens=0"),
    ({"question": "Hi", "max_new_tokens": HUGE_MAX_NEW_TOKENS}, f"max_new_tokens={HUGE_MAX_NEW_TOKENS}"),
)
BAD_BODIES_ZH = ("空问题", "没有 question 的请求体", "max_new_tokens=0", f"max_new_tokens={HUGE_MAX_NEW_TOKENS}")


class WebServer(Exercise):
    """Check `make_app(generator)` over HTTP: /health, 422s, an answer, and a free event loop."""

    names: ClassVar[tuple[str, ...]] = ("make_app",)
    hints: ClassVar[dict[str, str]] = {
        "en": ("Three questions. Which bodies should never reach the model, and can pydantic refuse them for you "
               "(what is the largest reply you are willing to generate)? The model call blocks for seconds: "
               "where must it run so that the event loop still answers /health? Two requests arrive at once "
               "and there is one model: what makes the second wait for the first?"),
        "zh": ("三个问题。哪些请求体绝不应到达模型？pydantic 能否替你拒绝它们（你愿意生成的回复最长是多少）？"
               "模型调用会阻塞数秒：它必须在哪里运行，事件循环才能继续响应 /health？两个请求同时到来而模型只有一个："
               "什么能让第二个等第一个完成？"),
    }
    solution_code: ClassVar[str] = SOLUTION

    def _check(self) -> None:
        import httpx

        from ..webapp import BackgroundServer

        (make_app,) = self.learner()
        self.expect(callable(make_app), "`make_app` should be a function: def make_app(generator): ...",
                    "`make_app` 应为函数：def make_app(generator): ...")
        generator = self.given("generator")
        app = make_app(generator)
        self.expect(callable(app), "make_app(generator) should return the FastAPI app",
                    "make_app(generator) 应返回 FastAPI 应用")
        with BackgroundServer(app) as server, httpx.Client(base_url=server.url, timeout=HTTP_TIMEOUT_S) as http:
            health = http.get("/health")
            self.expect(health.status_code == 200, f"GET /health answered {health.status_code}: add the route",
                        f"GET /health 返回 {health.status_code}：请添加这个路由")
            self._check_bad_bodies(http, generator.model)
            answer = http.post("/ask", json={"question": "What colour is the sky?", "max_new_tokens": 8})
            self.expect(answer.status_code == 200 and isinstance(json_body(answer).get("answer"), str)
                        and json_body(answer)["answer"].strip(),
                        f"POST /ask answered {answer.status_code} {answer.text[:200]!r}: return {{'answer': text}}",
                        f"POST /ask 返回 {answer.status_code} {answer.text[:200]!r}：请返回 {{'answer': text}}")
            self._check_event_loop(http, server.url, generator.model)

    def _check_bad_bodies(self, http: Any, model: Any) -> None:
        with ModelHold(model, limit=FORWARD_LIMIT, held=False):  # an unbounded request cannot run for ever
            for (body, en), zh in zip(BAD_BODIES, BAD_BODIES_ZH, strict=True):
                status = http.post("/ask", json=body).status_code
                self.expect(status == 422,
                            f"POST /ask with {en} answered {status}, expected 422: validate the body "
                            "(a pydantic model with Field bounds)",
                            f"POST /ask 在{zh}时返回 {status}，应为 422：请校验请求体（带 Field 约束的 pydantic 模型）")

    def _check_event_loop(self, http: Any, url: str, model: Any) -> None:
        import httpx

        statuses: list[int] = []

        def ask() -> None:
            with httpx.Client(timeout=HTTP_TIMEOUT_S) as own:
                reply = own.post(f"{url}/ask", json={"question": "Who are you?", "max_new_tokens": 8})
                statuses.append(reply.status_code)

        with ModelHold(model) as hold:
            workers = [threading.Thread(target=ask, daemon=True) for _ in range(HELD_REQUESTS)]
            for worker in workers:
                worker.start()
            reached = hold.wait_entered(WAIT_S)
            try:
                probe = http.get("/health", timeout=HEALTH_PROBE_S).status_code if reached else None
            except httpx.TimeoutException:
                probe = None
            overlapped = reached and hold.wait_overlap(LOCK_PROBE_S)
            hold.open()
            for worker in workers:
                worker.join(HTTP_TIMEOUT_S)
        self.expect(reached, "POST /ask never reached the model: call chat(generator, ...) in the endpoint",
                    "POST /ask 从未调用模型：请在端点中调用 chat(generator, ...)")
        self.expect(probe == 200,
                    f"while a generation ran, GET /health did not answer within {HEALTH_PROBE_S:.0f} s: the model "
                    "call blocks the event loop; run it in a worker thread (anyio.to_thread.run_sync) or make "
                    "the endpoint a plain def",
                    f"生成进行时，GET /health 在 {HEALTH_PROBE_S:.0f} 秒内没有响应：模型调用阻塞了事件循环；"
                    "请在工作线程中运行（anyio.to_thread.run_sync），或把端点写成普通的 def")
        self.expect(not overlapped,
                    "two /ask requests ran the model's forward passes at the same time: the pipeline and its "
                    "model are shared, so one generation must finish before the next starts; guard the model "
                    "call with a lock that every request goes through",
                    "两个 /ask 请求同时执行了模型的前向计算："
                    "pipeline 和模型是共享的，一次生成必须结束后下一次才能开始；"
                    "请用一把所有请求都要经过的锁保护模型调用")
        self.expect(statuses == [200] * HELD_REQUESTS,
                    f"concurrent POST /ask answered {statuses}: every request should get 200",
                    f"并发的 POST /ask 返回 {statuses}：每个请求都应得到 200")

