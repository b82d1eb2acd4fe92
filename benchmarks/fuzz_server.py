"""The longer schemathesis run against the course server (benchmarks/README.md, "Robustness").

Runs tests/server/test_server_fuzz.py (the same checks CI runs: no 5xx, every status, content type and
body as the server's own /api-doc/openapi.json documents them, bodies the document forbids
refused, and bodies with a lone surrogate such as "\\ud800" spliced into one string answered 422) with
more examples per route and mode, and writes a JSON summary: requests sent per route, statuses
seen (also those of the lone-surrogate bodies), checks, pass/fail, seconds.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/fuzz_server.py --examples 200 --out fuzz.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TEST = REPO / "tests" / "test_server_fuzz.py"
#: CI's count is the test file's default; this script's default is the documented longer run.
DEFAULT_EXAMPLES = 200
DEFAULT_TIMEOUT_S = 3600


def run(examples: int, timeout_s: float) -> dict:
    """Run the fuzz tests with `examples` per route and mode; return the summary."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "fuzz.json"
        env = {**os.environ, "SMOL_FUZZ_EXAMPLES": str(examples), "SMOL_FUZZ_REPORT": str(report),
               "HF_HUB_OFFLINE": os.environ.get("HF_HUB_OFFLINE", "1")}
        start = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "pytest", str(TEST), "-q", "-p", "no:cacheprovider",
                               f"--timeout={int(timeout_s)}"], cwd=REPO, env=env, timeout=timeout_s, check=False,
                              capture_output=True, text=True)
        summary = json.loads(report.read_text()) if report.exists() else {}
    summary.update(passed=done.returncode == 0, seconds=round(time.monotonic() - start, 1),
                   pytest_tail=done.stdout.strip().splitlines()[-1:] if done.stdout else [])
    if done.returncode != 0:
        summary["failures"] = done.stdout[-4000:]
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--examples", type=int, default=DEFAULT_EXAMPLES, help="examples per route and mode")
    parser.add_argument("--timeout-s", type=float, default=DEFAULT_TIMEOUT_S, help="bound on the whole run")
    parser.add_argument("--out", type=Path, default=None, help="write the JSON summary here")
    args = parser.parse_args(argv)
    if args.examples < 1:
        parser.error("--examples must be >= 1")
    summary = run(args.examples, args.timeout_s)
    text = json.dumps(summary, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0 if summary["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
