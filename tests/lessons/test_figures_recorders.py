"""Each figure recorder runs end to end on a tiny budget (bundled model) and its output draws.

The recorders are the ones `make record-figures` runs (benchmarks/figures/record_<name>.py), called with
small flags and a temporary output folder, so the committed data is never touched; each data file must
name its command and then draw (course_figures.draw). The router recorder reads a gateway results file
of the documented schema and refuses one without a valid hit ratio.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest
import torch

from figures_helpers import config, draw, records

TINY = "tiny-instruct"


@pytest.fixture(autouse=True)
def keep_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def run_recorder(name: str, out: Path, *flags: str) -> dict:
    module = importlib.import_module(f"record_{name}")
    assert module.main([*flags, "--out-dir", str(out)]) == 0
    data = records.read(name, out)
    meta = json.loads(records.data_path(name, out).read_text())["meta"]
    assert f"record_{name}.py" in meta["command"] and "--out-dir" in meta["command"]
    assert meta["machine"]["cpu_count"] and meta["date_utc"]
    draw(name, out)                                                   # what was recorded can be drawn
    return data


def test_batching_timeline_recorder(tmp_path: Path) -> None:
    data = run_recorder("batching_timeline", tmp_path, "--model", TINY, "--requests", "3", "--batch-size", "2")
    assert data["requests"] == ["R0", "R1", "R2"]
    for arm in ("static", "continuous"):
        ran = {item["request"] for step in data[arm]["steps"] for item in step}
        assert ran == set(data["requests"]), arm
    first_static = {item["request"] for item in data["static"]["steps"][0]}
    assert first_static == {"R0", "R1"}, "static batching must start with one batch of batch-size requests"


def test_block_table_recorder_shares_the_prefix(tmp_path: Path) -> None:
    data = run_recorder("block_table", tmp_path, "--model", TINY)
    a, b = data["requests"]["A"], data["requests"]["B"]
    full_blocks = data["shared_prefix_tokens"] // data["block_size"] * data["block_size"]
    assert a["cached_tokens"] == 0 and b["cached_tokens"] == full_blocks > 0


def test_decode_bandwidth_recorder(tmp_path: Path) -> None:
    data = run_recorder("decode_bandwidth", tmp_path, "--model", TINY, "--dtypes", "float32", "--copy-mib", "8",
                        "--repeats", "1", "--decode-tokens", "4", "--decode-repeats", "1", "--threads", "1")
    (arm,) = data["arms"]
    assert arm["decode_steps"] >= 1 and arm["weight_bytes"] > 0 and arm["bound_tokens_per_s"] > 0


@pytest.mark.timeout(300)
def test_chunked_prefill_stall_recorder(tmp_path: Path) -> None:
    data = run_recorder("chunked_prefill_stall", tmp_path, "--model", TINY, "--decode-tokens", "6",
                        "--arrival-token", "2", "--long-prompt-words", "120", "--chunk-tokens", "32")
    for arm in ("chunked", "unchunked"):
        run = data["arms"][arm]
        assert len(run["gaps_s"]) == len(run["token_times_s"]) - 1 >= 1
        assert run["long_prompt_done_s"] is not None


@pytest.mark.timeout(300)
def test_throughput_knee_recorder(tmp_path: Path) -> None:
    data = run_recorder("throughput_knee", tmp_path, "--model", TINY, "--concurrency", "1,2",
                        "--requests-per-client", "1", "--min-requests", "2", "--prompt-tokens", "8",
                        "--max-new-tokens", "4")
    assert [lv["concurrency"] for lv in data["levels"]] == [1, 2]
    assert all(lv["completed"] == lv["requests"] == 2 for lv in data["levels"])


def test_router_recorder_reads_the_documented_schema(tmp_path: Path) -> None:
    source = tmp_path / "gateway_policies.json"
    policies = {name: {"hit_ratio": ratio, "ttft_median_s": 0.1} for name, ratio in
                zip(config.ROUTER_POLICIES, (0.2, 0.3, 0.9))}
    source.write_text(json.dumps({"policies": policies, "command": "python benchmarks/bench_gateway.py"}))
    data = run_recorder("router_hit_ratio", tmp_path, "--source", str(source))
    assert data["source_command"] == "python benchmarks/bench_gateway.py"
    assert [p["hit_ratio"] for p in data["policies"].values()] == [0.2, 0.3, 0.9]
    listed = [{"policy": n, "router": "gateway", "prefix_cache_hit_ratio": p["hit_ratio"], "median_ttft_s": 0.1,
               "runs": [{"prefix_cache_hit_ratio": p["hit_ratio"]}]} for n, p in policies.items()]
    listed.append({"policy": "client_picker", "router": "client-side picker", "prefix_cache_hit_ratio": 0.5})
    source.write_text(json.dumps({"policies": listed, "command": "python benchmarks/bench_gateway_policies.py"}))
    data = run_recorder("router_hit_ratio", tmp_path, "--source", str(source))           # the list form
    assert list(data["policies"]) == list(config.ROUTER_POLICIES)                        # no client-side picker
    assert data["policies"]["cache_aware"]["runs_hit_ratio"] == [0.9]
    policies["cache_aware"]["hit_ratio"] = 90                         # a percentage where a ratio belongs
    source.write_text(json.dumps({"policies": policies, "command": "x"}))
    with pytest.raises(SystemExit, match="not in \\[0, 1\\]"):
        importlib.import_module("record_router_hit_ratio").main(["--source", str(source), "--out-dir", str(tmp_path)])
