"""smol_inference.exercises, lesson 1 and the toolkit: every check says "not done yet" without the
learner's objects, "correct" for the worked solution, and fails on plausible wrong answers.

The lesson-2 checks are in test_exercises_serving.py. The notebooks run every worked solution in CI
(COURSE_SOLUTIONS=1), so these tests dwell on the wrong answers.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from smol_inference import TINY_MODEL
from smol_inference.exercises import exercises, solutions_enabled
from smol_inference.exercises.core import run_code


@pytest.fixture(scope="module")
def generator() -> Any:
    from smol_inference import load_generator

    return load_generator(TINY_MODEL, quiet=True)


def lesson1(generator: Any, language: str = "en", **objects: Any) -> tuple[Any, ...]:
    """The notebook's globals up to the exercises (as its earlier cells define them) plus `objects`."""
    import torch

    from smol_inference import chat

    namespace = {"MODEL": TINY_MODEL, "generator": generator, "chat": chat, "torch": torch,
                 "EX1_QUESTION": "What is the capital of France?", "EX1_DEVICE": generator.device,
                 "EX1_DTYPE": torch.bfloat16, **objects}
    return exercises("basic_pipeline_inference", namespace, language=language)


def filled(exercise: Any) -> dict:
    """Run the exercise's worked solution in its namespace, as `fill()` does with COURSE_SOLUTIONS=1."""
    run_code(exercise.solution_code, exercise.namespace)
    return exercise.namespace


def test_not_done_yet_in_both_languages(generator: Any, capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COURSE_SOLUTIONS", raising=False)
    for language, needle in (("en", "not done yet"), ("zh", "尚未完成")):
        for exercise in lesson1(generator, language):
            assert exercise.check() is False
            assert needle in capsys.readouterr().out


def test_missing_objects_fail_when_solutions_were_asked_for(generator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COURSE_SOLUTIONS", "1")
    assert solutions_enabled()
    ex1 = lesson1(generator)[0]
    with pytest.raises(AssertionError, match="COURSE_SOLUTIONS=1 but .*my_pipe"):
        ex1.check()


def test_fill_only_with_the_switch(generator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    ex2 = lesson1(generator)[1]
    monkeypatch.delenv("COURSE_SOLUTIONS", raising=False)
    ex2.fill()
    assert "deterministic" not in ex2.namespace
    monkeypatch.setenv("COURSE_SOLUTIONS", "1")
    ex2.namespace["chat"] = lambda *args, **kwargs: type("R", (), {"text": "stub"})()  # the demo lines only
    ex2.fill()
    assert ex2.namespace["short"] == {"max_new_tokens": 6}


def test_fill_runs_top_level_await() -> None:
    namespace: dict = {}
    run_code("import asyncio\nawait asyncio.sleep(0)\nvalue = 41 + 1", namespace)
    assert namespace["value"] == 42


def test_hint_and_solution_print(generator: Any, capsys: pytest.CaptureFixture[str]) -> None:
    ex1 = lesson1(generator, "zh")[0]
    ex1.hint()
    ex1.solution()
    out = capsys.readouterr().out
    assert out.startswith("提示：") and "参考答案" in out and "my_pipe = pipeline(" in out


def test_pipeline_correct_and_wrong(generator: Any, capsys: pytest.CaptureFixture[str]) -> None:
    import torch

    ex1 = lesson1(generator, "zh")[0]
    namespace = filled(ex1)
    assert ex1.check() is True and "正确" in capsys.readouterr().out
    right = {name: namespace[name] for name in ex1.names}
    pipe, logits = right["my_pipe"], right["my_logits"]
    from transformers import pipeline

    wrong_answers = {
        "精度": {"my_pipe": pipeline("text-generation", model=TINY_MODEL, device=generator.device)},  # float32
        "聊天模板": {"my_input_ids": pipe.tokenizer("What is the capital of France?",
                                                    return_tensors="pt")["input_ids"]},
        "所有位置": {"my_logits": logits[:, -1]},                                      # only the last position
        "最后一个": {"my_next_token": pipe.tokenizer.decode(int(logits[0, 0].argmax()))
                   if pipe.tokenizer.decode(int(logits[0, 0].argmax())) != right["my_next_token"] else "?"},
        "前向计算": {"my_logits": torch.zeros_like(logits)},
    }
    for needle, change in wrong_answers.items():
        namespace.update(right, **change)
        with pytest.raises(AssertionError, match=needle):
            ex1.check()


def test_generation_goals_correct_and_wrong(generator: Any, capsys: pytest.CaptureFixture[str]) -> None:
    ex2 = lesson1(generator)[1]
    namespace = filled(ex2)
    assert ex2.check() is True and "correct" in capsys.readouterr().out
    wrong_answers = [  # each goal's check on its own: the goals before it would pass again
        (ex2._check_short, {}, r"`short` let the reply .* run to \d+ tokens"),                  # no cap
        (ex2._check_varied, {"temperature": 1.2, "seed": 7}, "`varied` fixes seed=7"),
        (ex2._check_varied, {"max_new_tokens": 8}, "`varied` decodes greedily"),
        (ex2._check_deterministic, {"temperature": 1.5}, "`deterministic`"),                    # samples, no seed
    ]
    for stage, settings, message in wrong_answers:
        with pytest.raises(AssertionError, match=message):
            stage(generator, settings)
    namespace["short"] = "8 tokens"
    with pytest.raises(AssertionError, match="`short` should be a dict"):
        ex2.check()


def wrong_app(bounded: bool, off_loop: bool) -> Any:
    """A plausible wrong `make_app`: no upper bound on max_new_tokens, or the model on the event loop."""
    import anyio
    from fastapi import FastAPI
    from pydantic import BaseModel, Field

    from smol_inference import chat

    class Ask(BaseModel):
        question: str = Field(min_length=1)
        max_new_tokens: int = Field(16, ge=1, le=64) if bounded else Field(16, ge=1)

    def make_app(generator: Any) -> FastAPI:
        app = FastAPI()
        app.get("/health")(lambda: {"status": "ok"})

        async def ask(body):  # annotated below (a local class)
            def run() -> Any:
                return chat(generator, body.question, max_new_tokens=body.max_new_tokens)
            result = await anyio.to_thread.run_sync(run) if off_loop else run()
            return {"answer": result.text}

        ask.__annotations__ = {"body": Ask, "return": dict}
        app.post("/ask")(ask)
        return app

    return make_app


def test_web_server_correct_and_wrong(generator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from smol_inference.exercises import web_server

    ex3 = lesson1(generator)[2]
    namespace = filled(ex3)
    assert ex3.check() is True
    namespace["make_app"] = wrong_app(bounded=False, off_loop=True)
    with pytest.raises(AssertionError, match=re.escape("max_new_tokens=100000 answered")):
        ex3.check()
    namespace["make_app"] = wrong_app(bounded=True, off_loop=False)
    monkeypatch.setattr(web_server, "HEALTH_PROBE_S", 2.0)  # a blocked loop never answers: give up sooner
    with pytest.raises(AssertionError, match="blocks the event loop"):
        ex3.check()


def unlocked_app(kind: str) -> Any:
    """A `make_app` whose model call runs off the event loop but without a lock that all requests share:
    no lock ("none"), a new lock per request ("per_request"), or a plain `def` endpoint ("plain_def")."""
    import asyncio

    import anyio
    from fastapi import FastAPI
    from pydantic import BaseModel, Field

    from smol_inference import chat

    class Ask(BaseModel):
        question: str = Field(min_length=1)
        max_new_tokens: int = Field(16, ge=1, le=64)

    def make_app(generator: Any) -> FastAPI:
        app = FastAPI()
        app.get("/health")(lambda: {"status": "ok"})

        def run(body: Any) -> Any:
            return chat(generator, body.question, max_new_tokens=body.max_new_tokens)

        async def ask(body):
            if kind == "per_request":
                async with asyncio.Lock():
                    result = await anyio.to_thread.run_sync(run, body)
            else:
                result = await anyio.to_thread.run_sync(run, body)
            return {"answer": result.text}

        def ask_plain(body):
            return {"answer": run(body).text}

        handler = ask_plain if kind == "plain_def" else ask
        handler.__annotations__ = {"body": Ask, "return": dict}
        app.post("/ask")(handler)
        return app

    return make_app


@pytest.mark.parametrize("kind", ["none", "per_request", "plain_def"])
def test_web_server_without_a_shared_lock_is_rejected(generator: Any, kind: str) -> None:
    """The held first request's forward pass waits; an unlocked second request reaches the model too."""
    ex3 = lesson1(generator)[2]
    ex3.namespace["make_app"] = unlocked_app(kind)
    with pytest.raises(AssertionError, match="ran the model's forward passes at the same time"):
        ex3.check()
