"""`make bench`: every benchmark in this folder with its default, documented settings, then one summary.

Runs bench_batching.py (lesson 1, "Batching") and bench_server.py (lesson 2, issue 4 "Performance")
one after the other, each in its own process so neither warms or loads memory for the other, streams
their output, and prints what each measured against its target. The scripts' own sections in
benchmarks/README.md give the commands and the figures; run this on a quiet machine.

    python benchmarks/run_all.py                   # both, defaults (several minutes on 2 CPU cores)
    python benchmarks/run_all.py --only server     # one of them
    python benchmarks/run_all.py --smoke           # tiny settings: checks the plumbing, not the speed
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
#: Tiny settings for --smoke: seconds, not minutes; the numbers mean nothing.
SMOKE_ARGS = {
    "batching": ["--prompts", "2", "--batch-size", "2", "--max-new-tokens", "2", "--threads", "1"],
    "server": ["--requests", "2", "--concurrency", "2", "--prompt-tokens", "8", "--max-new-tokens", "3",
               "--threads", "1", "--cb-num-blocks", "16"],
}


def run(name: str, script: str, extra: list[str]) -> tuple[int, str, float]:
    """Run one benchmark script, echoing its output; (exit code, stdout, seconds)."""
    cmd = [sys.executable, str(HERE / script), *extra]
    print(f"\n=== {name}: {' '.join(cmd)}", flush=True)
    env = dict(os.environ, HF_HUB_OFFLINE=os.environ.get("HF_HUB_OFFLINE", "1"))
    start = time.perf_counter()
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env) as proc:
        lines = []
        for line in proc.stdout:  # type: ignore[union-attr]  # stdout=PIPE: never None
            print(line, end="", flush=True)
            lines.append(line)
    return proc.returncode, "".join(lines), time.perf_counter() - start


def batching_summary(stdout: str) -> dict[str, Any]:
    """bench_batching.py prints a JSON report, then one verdict line."""
    start = stdout.find("{")
    report: dict[str, Any] = {}
    if start >= 0:
        try:
            report, _ = json.JSONDecoder().raw_decode(stdout[start:])
        except ValueError:
            report = {}
    verdict = next((line for line in reversed(stdout.splitlines()) if line.startswith("batch ")), "")
    return {"speedup": report.get("speedup"), "target": 4.0, "verdict": verdict, "report": report}


def server_summary(output: Path) -> dict[str, Any]:
    """bench_server.py writes its JSON report to --output."""
    if not output.exists():
        return {}
    report = json.loads(output.read_text())
    return {"ratios": report.get("ratios"), "course_ttft_p50_s": report.get("course_ttft_p50_s"),
            "course_rss_mib": report.get("course_rss_mib"), "machine": report.get("machine")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("batching", "server"), default=None)
    parser.add_argument("--smoke", action="store_true", help="tiny settings, to check that everything runs")
    parser.add_argument("--model", default=None, help="bench_server.py --model (default: a random SmolLM2-135M)")
    parser.add_argument("--results", default=str(RESULTS), help="folder for the JSON reports")
    args = parser.parse_args(argv)

    results = Path(args.results)
    results.mkdir(parents=True, exist_ok=True)
    summary: dict[str, Any] = {"smoke": args.smoke, "loadavg_start": list(os.getloadavg())}
    codes = []
    if args.only in (None, "batching"):
        code, out, seconds = run("bench_batching", "bench_batching.py", SMOKE_ARGS["batching"] if args.smoke else [])
        codes.append(code)
        summary["batching"] = {"exit_code": code, "seconds": round(seconds, 1), **batching_summary(out)}
    if args.only in (None, "server"):
        output = results / "bench_server.json"
        output.unlink(missing_ok=True)
        extra = ["--output", str(output)] + (SMOKE_ARGS["server"] if args.smoke else [])
        extra += ["--model", args.model] if args.model else []
        code, _, seconds = run("bench_server", "bench_server.py", extra)
        codes.append(code)
        summary["server"] = {"exit_code": code, "seconds": round(seconds, 1), **server_summary(output)}
    summary["loadavg_end"] = list(os.getloadavg())
    (results / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")

    print("\n=== summary" + (" (smoke settings: the numbers mean nothing)" if args.smoke else ""))
    if "batching" in summary:
        b = summary["batching"]
        print(f"bench_batching  exit {b['exit_code']}  {b['seconds']} s  {b['verdict'] or 'no verdict line'}")
    if "server" in summary:
        s = summary["server"]
        print(f"bench_server    exit {s['exit_code']}  {s['seconds']} s")
        for key, r in (s.get("ratios") or {}).items():
            if r:
                print(f"  {key:<22} {r['value']:>5.2f}x  target >= {r['target']}x: {'met' if r['met'] else 'MISSED'}")
        if s.get("course_ttft_p50_s") is not None:
            print(f"  course server ttft p50 {s['course_ttft_p50_s'] * 1000:.0f} ms, rss {s['course_rss_mib']} MiB")
    print(f"load average {summary['loadavg_start'][0]:.2f} at start, {summary['loadavg_end'][0]:.2f} at end; "
          f"wrote {results / 'summary.json'}")
    return max(codes, default=0)


if __name__ == "__main__":
    raise SystemExit(main())
