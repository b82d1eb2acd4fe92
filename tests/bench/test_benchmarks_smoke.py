"""benchmarks/: the plumbing runs end to end with the bundled model and tiny numbers (no timing asserted).

`run_all.py --smoke --only server` starts every server bench_server.py compares (the course server,
the same with --max-batch-size 1, `transformers serve --continuous-batching`) as subprocesses on
127.0.0.1 free ports, sends a few requests through the load generator, runs the in-process static
batch, stops the servers and writes the JSON report. The figures themselves are measured by
`make bench` on a quiet machine (benchmarks/README.md); here only their presence is checked.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
from smol_inference import settings

REPO = Path(__file__).resolve().parents[2]
BENCHMARKS = REPO / "benchmarks"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]  # a .py path always has a loader
    return module


def test_batching_summary_reads_the_report_and_verdict() -> None:
    run_all = _load("run_all")
    stdout = ('noise\n{\n  "speedup": 5.1,\n  "loop": {"tokens": 3}\n}\n'
              'batch 16: 5.1x the tokens/s (meets the 4.0x target)\n')
    summary = run_all.batching_summary(stdout)
    assert summary["speedup"] == 5.1 and summary["verdict"].startswith("batch 16: 5.1x")
    assert run_all.batching_summary("crashed")["speedup"] is None


def test_bench_server_arguments_are_checked() -> None:
    bench_server = _load("bench_server")
    args = bench_server.parse_args(["--arms", "course,static", "--requests", "2"])
    assert args.arms == ["course", "static"] and args.requests == 2
    with pytest.raises(SystemExit):
        bench_server.parse_args(["--arms", "course,nonsense"])


def test_course_arms_can_run_another_checkout() -> None:
    """--course-checkout: the course server comes from that checkout's scripts/ (here this one: every flag kept)."""
    bench_server = _load("bench_server")
    sys.path.insert(0, str(BENCHMARKS))
    from server_bench.served import course_cmd

    args = bench_server.parse_args(["--arms", "course", "--course-checkout", str(REPO)])
    plain = course_cmd("MODEL", 8080, bench_server.parse_args(["--arms", "course"]), extra=["--disable-prefix-caching"])
    other = course_cmd("MODEL", 8080, args, extra=["--disable-prefix-caching"])
    assert other[:2] == ["env", f"PYTHONPATH={REPO / 'scripts'}"]
    assert other[2:] == plain                                # same interpreter, same flags, other package
    with pytest.raises(SystemExit, match="no scripts/smol_inference"):   # never the installed package instead
        args = bench_server.parse_args(["--arms", "course", "--course-checkout", str(REPO / "docs")])
        course_cmd("MODEL", 8080, args)


@pytest.mark.timeout(1200)
def test_run_all_smoke_runs_every_arm(tmp_path: Path) -> None:
    cmd = [sys.executable, str(BENCHMARKS / "run_all.py"), "--smoke", "--only", "server",
           "--model", settings.TINY_MODEL, "--results", str(tmp_path)]
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=1100, cwd=REPO)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads((tmp_path / "bench_server.json").read_text())
    assert set(report["arms"]) == {"course", "course_bs1", "course_openai", "transformers", "static"}
    for name, arm in report["arms"].items():
        assert arm["completed"] == 2 and arm["output_tokens"] >= 2, (name, arm)
    for key in ("vs_batch_size_1", "vs_transformers_serve", "vs_static_batch"):
        assert report["ratios"][key]["value"] > 0 and report["ratios"][key]["target"] > 0
    assert report["course_ttft_p50_s"] > 0 and report["course_rss_mib"]["peak"] > 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["server"]["exit_code"] == 0 and summary["server"]["ratios"] == report["ratios"]
    assert "vs_static_batch" in proc.stdout  # the printed table and summary
