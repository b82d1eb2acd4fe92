"""benchmarks/bench_llamacpp.py end to end at toy sizes: both servers start, answer, are measured, stop.

The course arm serves the bundled model (the real one converts for minutes on first use), the llama.cpp
arm the real GGUF; nothing about speed is asserted (benchmarks/README.md holds the figures).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from llamacpp_helpers import needs_engine

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_llamacpp.py"


def test_bench_llamacpp_smoke(tmp_path: Path) -> None:
    needs_engine()
    out = tmp_path / "bench.json"
    cmd = [sys.executable, str(BENCH), "--arms", "course_fp32,llamacpp_q4_1", "--course-model", "tiny-instruct",
           "--clients", "2", "--requests-1", "1", "--requests-16", "2", "--prompt-tokens", "8",
           "--max-new-tokens", "4", "--threads", "1", "--output", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads(out.read_text())
    for arm in ("course_fp32", "llamacpp_q4_1"):
        result = report["arms"][arm]
        assert set(result["levels"]) == {"1", "2"} and all(lv["failed"] == 0 for lv in result["levels"].values())
        assert result["rss_peak_mib"] > 1 and len(result["answers"]) == 6
    assert "course_fp32 / llamacpp_q4_1 at 2 clients:" in done.stdout
