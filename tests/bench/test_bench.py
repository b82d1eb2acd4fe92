"""smol_inference.bench: units, error accounting on a stub, and real runs against the course server.

Numbers are kept small (a few requests of a few tokens) so the suite stays within CI's 2 CPU cores;
every run is bounded by its request count and per-request timeout.
"""

from __future__ import annotations

import json
import time

import pytest
from served import endpoint, is_course_server
from smol_inference.bench import BenchConfig, RequestRecord, make_prompts, parse_concurrency, run_bench, summarize
from smol_inference.bench.report import format_table, percentile, plot
from smol_inference.cli import main
from smol_inference.client import TGIClient
from tgi_stub import StubServer


def test_parse_concurrency() -> None:
    assert parse_concurrency("8") == [8]
    assert parse_concurrency("1, 2,4,8,4") == [1, 2, 4, 8]
    for bad in ("0", "", "a", "1,-2"):
        with pytest.raises(ValueError):
            parse_concurrency(bad)


def test_config_validates() -> None:
    assert BenchConfig(url="http://h:1/v1/", concurrency="1,2").url == "http://h:1"
    for bad in (dict(api="grpc"), dict(requests=0), dict(max_new_tokens=0), dict(url="h:1"), dict(timeout_s=0)):
        with pytest.raises(ValueError):
            BenchConfig(**{"url": "http://h:1", **bad})


def test_prompts_are_seeded_distinct_and_sized() -> None:
    prompts = make_prompts(5, 40, seed=3)
    assert prompts == make_prompts(5, 40, seed=3) and prompts != make_prompts(5, 40, seed=4)
    assert len(set(prompts)) == 5 and all(len(p.split()) == 40 for p in prompts)


def test_percentile_and_summary() -> None:
    assert percentile([], 0.5) is None
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == pytest.approx(2.5)
    assert percentile([5.0], 0.99) == 5.0
    records = [RequestRecord(index=i, ttft_s=0.1 * (i + 1), e2e_s=1.0 + i, token_gaps_s=[0.05, 0.07],
                             tokens_counted=3, tokens_reported=3, input_tokens_reported=10, finish_reason="length")
               for i in range(4)]
    records.append(RequestRecord(index=4, error_type="overloaded", error="Model is overloaded"))
    level = summarize(records, duration_s=2.0, concurrency=2)
    assert level["completed"] == 4 and level["failed"] == 1 and level["errors"] == {"overloaded": 1}
    assert level["output_tokens"] == level["output_tokens_reported"] == 12
    assert level["output_tokens_per_s"] == pytest.approx(6.0) and level["requests_per_s"] == pytest.approx(2.0)
    assert level["ttft_s"]["p50"] == pytest.approx(0.25) and level["itl_s"]["p50"] == pytest.approx(0.06)
    assert "overloaded=1" in format_table([level])


def test_plot_writes_an_image(tmp_path) -> None:
    level = summarize([RequestRecord(index=0, ttft_s=0.1, e2e_s=0.5, tokens_counted=2, tokens_reported=2)], 1.0, 1)
    path = plot([level, {**level, "concurrency": 4}], tmp_path / "sweep.png", title="t")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_errors_are_counted_by_type_and_not_retried() -> None:
    with StubServer() as stub:
        result = run_bench(BenchConfig(url=stub.url, concurrency=[1], requests=3, max_new_tokens=2))
        stub.state.fail_next(2, 429, "Model is overloaded", "overloaded")
        stub.state.fail_next(1, 422, "bad", "validation")
        failing = run_bench(BenchConfig(url=stub.url, concurrency=[2], requests=5, max_new_tokens=2))
    assert result["levels"][0]["completed"] == 3 and result["server"]["model"] == "stub-model"
    level = failing["levels"][0]
    assert level["errors"] == {"overloaded": 2, "validation": 1} and level["completed"] == 2


def test_unreachable_server_reports_connection_errors() -> None:
    with StubServer() as gone:
        url = gone.url
    result = run_bench(BenchConfig(url=url, concurrency=[2], requests=2, timeout_s=10))
    assert result["levels"][0]["errors"] == {"connection": 2}
    assert main(["bench", "--url", url, "--concurrency", "1", "--requests", "1", "--no-progress"]) == 1


# -- against the course server (or $TGI_URL) -------------------------------------------------------------
def _check_level(level: dict, requests: int, max_new_tokens: int) -> None:
    assert level["requests"] == level["completed"] == requests and level["failed"] == 0, level["first_errors"]
    assert level["output_tokens_counted"] == level["output_tokens_reported"] == level["output_tokens"]
    assert requests <= level["output_tokens"] <= requests * max_new_tokens
    assert level["output_tokens_per_s"] == pytest.approx(level["output_tokens"] / level["duration_s"])
    assert level["requests_per_s"] == pytest.approx(requests / level["duration_s"])
    assert sum(level["finish_reasons"].values()) == requests
    for key in ("ttft_s", "e2e_s"):
        stats = level[key]
        assert 0 < stats["p50"] <= stats["p90"] <= stats["p99"]
    assert level["ttft_s"]["p50"] <= level["e2e_s"]["p99"]


def test_tgi_sweep_against_the_server(tmp_path) -> None:
    url = endpoint()
    with TGIClient(url) as client:
        client.wait_until_ready(timeout=120)
        before = client.metrics()
        out, png = tmp_path / "bench.json", tmp_path / "bench.png"
        argv = ["bench", "--url", url, "--concurrency", "1,3", "--requests", "3", "--prompt-tokens", "12",
                "--max-new-tokens", "6", "--seed", "7", "--output", str(out), "--plot", str(png), "--no-progress"]
        assert main(argv) == 0
        after = client.metrics()
        deadline = time.monotonic() + 5  # a streamed request's metrics are recorded just after its last event
        while after.count("tgi_request_duration") - before.count("tgi_request_duration") < 6 \
                and time.monotonic() < deadline:
            time.sleep(0.1)
            after = client.metrics()
    result = json.loads(out.read_text())
    assert result["config"]["concurrency"] == [1, 3] and result["server"]["info"]["model_id"]
    assert [lv["concurrency"] for lv in result["levels"]] == [1, 3]
    for level in result["levels"]:
        _check_level(level, requests=3, max_new_tokens=6)
        assert level["input_tokens_reported"] >= 3 * 6  # ~12 words each; tokenizers differ
    assert png.stat().st_size > 1000
    if is_course_server():  # nobody else talks to it: the server's own counters must agree exactly
        sent = sum(lv["output_tokens"] for lv in result["levels"])
        name = "tgi_request_generated_tokens_sum"
        assert after.value(name) - before.value(name) == sent
        assert after.count("tgi_request_duration") - before.count("tgi_request_duration") == 6


def test_openai_api_against_the_server() -> None:
    result = run_bench(BenchConfig(url=endpoint(), api="openai", concurrency=[2], requests=2, prompt_tokens=8,
                                   max_new_tokens=5, seed=1))
    level = result["levels"][0]
    assert level["completed"] == 2, level["first_errors"]
    assert 1 <= level["output_tokens_counted"] <= 10 and level["ttft_s"]["p50"] > 0
    if level["output_tokens_reported"] is not None:  # servers that honour stream_options.include_usage
        assert level["output_tokens"] == level["output_tokens_reported"] >= level["output_tokens_counted"]


def test_cli_help_lists_the_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["bench", "--help"])
    out = capsys.readouterr().out
    assert caught.value.code == 0
    for option in ("--concurrency", "--requests", "--prompt-tokens", "--max-new-tokens", "--seed", "--api",
                   "--output", "--plot"):
        assert option in out
