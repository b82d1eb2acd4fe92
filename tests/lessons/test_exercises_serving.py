"""smol_inference.exercises, lesson 2: each check against replicas on 127.0.0.1, with the right answer
and plausible wrong ones (toolkit and lesson 1: test_exercises.py).

The monitoring check is exercised stage by stage on replicas started once for the module; the
notebook run with COURSE_SOLUTIONS=1 covers each check end to end.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from smol_inference import TINY_MODEL, TGIClient
from smol_inference.client import NO_RETRY, RetryPolicy
from smol_inference.exercises import exercises
from smol_inference.exercises.core import run_code
from smol_inference.exercises.replicas import start_replicas


def lesson2(**objects: Any) -> tuple[Any, ...]:
    from smol_inference.server import start_server

    namespace = {"MODEL": TINY_MODEL, "TGIClient": TGIClient, "start_server": start_server, **objects}
    return exercises("tgi_deployment", namespace)


def test_deploy_correct_and_wrong(capsys: pytest.CaptureFixture[str]) -> None:
    from smol_inference.server import start_server

    ex1 = lesson2()[0]
    run_code(ex1.solution_code, ex1.namespace)
    try:
        assert ex1.check() is True and "correct" in capsys.readouterr().out
        good_reply, right = ex1.namespace["reply"], dict(ex1.namespace["rejected"])
        ex1.namespace["reply"] = "12"
        with pytest.raises(AssertionError, match="`reply` is '12', but the replica answers"):
            ex1.check()
        ex1.namespace["reply"] = good_reply
        for wrong, message in (
                (ValueError("Input validation error"), r"`rejected` should be a dict .* not store the exception"),
                ({**right, "status": 400}, r"`rejected\['status'\]` is 400, but the replica answered .* HTTP 422"),
                ({**right, "limit": 256}, r"`rejected\['limit'\]` is 256, but the error message names 200 tokens"),
                ({**right, "limit": "200"}, r"`rejected\['limit'\]` is '200'")):
            ex1.namespace["rejected"] = wrong
            with pytest.raises(AssertionError, match=message):
                ex1.check()
    finally:
        ex1.namespace["mine"].stop()
    with start_server(model_id=TINY_MODEL, quiet=True) as defaults:  # the flags forgotten
        ex1.namespace["mine"] = defaults
        with pytest.raises(AssertionError, match="max_concurrent_requests=128, the exercise asks for 4"):
            ex1.check()
    ex1.namespace["mine"] = defaults.url
    with pytest.raises(AssertionError, match="nothing answers"):
        ex1.check()


def test_tuning_rejects_a_wrong_prediction() -> None:
    ex2 = lesson2(tuned_flags={"max_batch_size": 1}, prediction={"ttft_s": "down"})[1]
    with pytest.raises(AssertionError, match=r"you predicted ttft_s down, measured x\d+\.\d+"):
        ex2.check()


@pytest.mark.parametrize("flags, prediction, message", [
    ({"max_input_tokens": 100}, {"ttft_s": "up"}, "change a budget flag"),
    ({}, {"ttft_s": "up"}, "non-empty dict"),
    ({"max_batch_size": 0}, {"ttft_s": "up"}, "max_batch_size must be >= 1"),
    ({"max_batch_size": 1}, {"latency": "up"}, "`prediction` should map"),
    ({"max_batch_size": 1}, {"ttft_s": "higher"}, "`prediction` should map"),
])
def test_tuning_rejects_malformed_answers(flags: dict, prediction: dict, message: str) -> None:
    ex2 = lesson2(tuned_flags=flags, prediction=prediction)[1]
    with pytest.raises(AssertionError, match=message):
        ex2.check()


# ---- monitoring, stage by stage -------------------------------------------------------------

def read_gauges(url: str) -> tuple[int, int]:
    with TGIClient(url) as replica:
        metrics = replica.metrics()
    return int(metrics.value("tgi_queue_size")), int(metrics.value("tgi_batch_current_size"))


def ttft_from_metrics(metrics: Any) -> float:
    return (metrics.quantile("tgi_request_queue_duration", 0.5)
            + metrics.quantile("tgi_batch_inference_duration", 0.5, method="prefill"))


@pytest.fixture(scope="module")
def replicas(tiny_model: Any) -> Iterator[tuple[Any, list[str]]]:
    """(the exercise, urls): a gauged replica (max_batch_size=2), three plain ones, a small one (2 permits)."""
    from smol_inference.exercises.config import GAUGE_BATCH, OVERLOAD_LIMIT

    ex3 = lesson2()[2]
    with ExitStack() as stack:
        servers = start_replicas(stack, TINY_MODEL, tiny_model, {"max_batch_size": GAUGE_BATCH}, {}, {}, {},
                                 {"max_concurrent_requests": OVERLOAD_LIMIT})
        yield ex3, [server.url for server in servers]


def test_gauges_read_in_a_held_state(replicas: tuple[Any, list[str]], tiny_model: Any) -> None:
    ex3, (gauged, *_) = replicas
    ex3._check_gauges(read_gauges, gauged, tiny_model[0])
    swapped = lambda url: read_gauges(url)[::-1]  # noqa: E731 - the plausible mix-up
    with pytest.raises(AssertionError, match=r"returned \(2, 3\), expected \(3, 2\)"):
        ex3._check_gauges(swapped, gauged, tiny_model[0])


def test_ttft_from_histograms_against_clients(replicas: tuple[Any, list[str]]) -> None:
    ex3, (_, first, *_) = replicas
    ex3._check_ttft(ttft_from_metrics, first)
    whole_request = lambda metrics: metrics.quantile("tgi_request_duration", 0.5)  # noqa: E731 - a wrong answer, named
    with pytest.raises(AssertionError, match="add the p50 queue time and the p50 prefill time"):
        ex3._check_ttft(whole_request, first)


def prefix_aware() -> Any:
    """The worked solution's picker: a prompt prefix stays on the replica that served it first."""
    home: dict[str, str] = {}

    def pick(prompt: str, in_flight: dict[str, int]) -> str:
        key = prompt[:64]
        if home.get(key) not in in_flight:
            home[key] = min(in_flight, key=in_flight.get)
        return home[key]

    return pick


@pytest.mark.parametrize("pick, message", [
    (lambda prompt, in_flight: min(in_flight, key=in_flight.get), "went to several replicas"),   # load only
    (lambda prompt, in_flight: list(in_flight)[zlib.crc32(prompt.encode()) % len(in_flight)],
     "not on the whole prompt"),                                                                 # question hashed too
    (lambda prompt, in_flight: next(iter(in_flight)), r"one replica served 24 of 24"),           # no balance at all
    (lambda prompt, in_flight: "http://127.0.0.1:1", "not one of the urls"),
    (lambda in_flight: min(in_flight, key=in_flight.get), "takes two arguments now"),           # the old signature
], ids=["least-loaded", "whole-prompt-hash", "one-replica", "stray-url", "old-signature"])
def test_prefix_picker_rejects_plausible_mistakes(replicas: tuple[Any, list[str]], pick: Any, message: str) -> None:
    from smol_inference.exercises.prefix_picker import check_picker

    ex3, (_, first, second, third, _) = replicas
    with pytest.raises(AssertionError, match=message):
        check_picker(ex3, pick, [first, second, third])


def test_prefix_picker_accepts_a_prefix_aware_picker(replicas: tuple[Any, list[str]]) -> None:
    from smol_inference.exercises.prefix_picker import check_picker

    ex3, (_, first, second, third, _) = replicas
    check_picker(ex3, prefix_aware(), [first, second, third])


def test_retries_outlast_the_overload(replicas: tuple[Any, list[str]], tiny_model: Any) -> None:
    ex3, (*_, small) = replicas
    ex3._check_retries(RetryPolicy(max_retries=12, initial_delay_s=0.1, max_delay_s=2.0), small, tiny_model[0])
    for impatient in (NO_RETRY, RetryPolicy(max_retries=2, initial_delay_s=0.01, max_delay_s=0.05)):
        with pytest.raises(AssertionError, match="give retry_policy more retries"):
            ex3._check_retries(impatient, small, tiny_model[0])


def test_monitoring_not_done_and_wrong_types(capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COURSE_SOLUTIONS", raising=False)
    ex3 = lesson2(read_gauges=read_gauges, ttft_from_metrics=ttft_from_metrics)[2]
    assert ex3.check() is False and "`pick_replica`, `retry_policy`" in capsys.readouterr().out
    ex3.namespace.update(pick_replica=prefix_aware(), retry_policy={"max_retries": 12})
    with pytest.raises(AssertionError, match="should be a RetryPolicy"):
        ex3.check()


# ---- structured output and tools --------------------------------------------------------------

@pytest.fixture(scope="module")
def endpoint(tiny_model: Any) -> Iterator[str]:
    with ExitStack() as stack:
        (server,) = start_replicas(stack, TINY_MODEL, tiny_model, {})
        yield server.url


def test_structured_tools_correct_and_wrong(endpoint: str, capsys: pytest.CaptureFixture[str]) -> None:
    import httpx

    from smol_inference.client.structured import tool_calls

    with TGIClient(endpoint) as client:
        ex4 = lesson2(ENDPOINT=endpoint, client=client, EX4_QUESTION="Give me a country and its capital as JSON.")[3]
        namespace = ex4.namespace
        run_code(ex4.solution_code, namespace)
        assert ex4.check() is True and "correct" in capsys.readouterr().out
        right = {name: namespace[name] for name in ex4.names}
        tool = right["get_capital_tool"]
        free_country = {**tool, "function": {**tool["function"], "parameters": {
            "type": "object", "properties": {"country": {"type": "string", "maxLength": 12}}, "required": ["country"]}}}
        namespace["extracted"] = right["extracted"].model_dump()
        with pytest.raises(AssertionError, match="not a CountryFacts"):
            ex4.check()
        call = tool_calls(right["tool_messages"][-2])[0]
        with httpx.Client(base_url=endpoint, timeout=60) as http:  # each stage on its own: fewer generations
            with pytest.raises(AssertionError, match="give `country` an enum"):       # KeyError in get_capital
                ex4._check_tool(http, free_country, right["get_capital"])
            with pytest.raises(AssertionError, match="a tool message carries text"):
                ex4._check_tool(http, tool, lambda country: {"capital": "Paris"})
            for messages, message in (
                    (right["tool_messages"][:-1], "should end with the assistant's message"),
                    (right["tool_messages"][:-1] + [{**right["tool_messages"][-1], "content": "Rome"}],
                     "the tool message should answer")):
                with pytest.raises(AssertionError, match=message):
                    ex4._check_round_trip(http, messages, right["get_capital"], call)
