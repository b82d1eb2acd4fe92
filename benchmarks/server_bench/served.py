"""Servers as subprocesses for the serving benchmarks: bounded start, RSS sampling, clean stop, /metrics.

Every server runs on 127.0.0.1 with a free port and is waited for with a bounded /health poll.
benchmarks/README.md, "Serving throughput".
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from smol_inference import settings

HEALTH_POLL_S = 0.5
RSS_POLL_S = 0.25
HEALTH_TIMEOUT_S = 10.0
STOP_WAIT_S = 30.0
MIB = 1024 * 1024


class Served:
    """A server subprocess: bounded start (health poll), RSS sampling, clean stop. A context manager."""

    def __init__(self, name: str, cmd: list[str], port: int, env: dict[str, str], log_dir: Path,
                 timeout_s: float) -> None:
        self.name, self.url, self.timeout_s = name, f"http://{settings.DEFAULT_HOST}:{port}", timeout_s
        self.log_path = log_dir / f"{name}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, env=env)
        self.rss_ready = self.rss_peak = 0
        self.health_s: list[float] = []       # /health round trips under load (the HTTP loop's responsiveness)
        self._sampling = threading.Event()

    def __enter__(self) -> Served:
        try:
            self.wait_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_healthy(self) -> None:
        deadline = time.monotonic() + self.timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; log: {self.log_path}\n"
                                   + self.log_tail())
            try:
                if httpx.get(self.url + "/health", timeout=5).status_code == 200:
                    self.rss_ready = self.rss()
                    return
            except httpx.HTTPError:
                pass
            time.sleep(HEALTH_POLL_S)
        raise TimeoutError(f"{self.name} not healthy after {self.timeout_s:.0f} s; log: {self.log_path}\n"
                           + self.log_tail())

    def rss(self) -> int:
        """Resident memory of the server process and its children (bytes)."""
        import psutil

        try:
            proc = psutil.Process(self.proc.pid)
            return sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)])
        except psutil.Error:
            return 0

    def sample_rss(self) -> threading.Thread:
        """Track the peak RSS, and time a GET /health every poll, until `stop_sampling()`."""
        def loop() -> None:
            self.rss_peak = max(self.rss_peak, self.rss())  # a short arm may end before the first poll
            with httpx.Client(timeout=HEALTH_TIMEOUT_S) as client:
                while not self._sampling.wait(RSS_POLL_S):
                    self.rss_peak = max(self.rss_peak, self.rss())
                    start = time.perf_counter()
                    try:                                    # an error answer counts as the worst case
                        ok = client.get(self.url + "/health").status_code == 200
                        self.health_s.append(time.perf_counter() - start if ok else HEALTH_TIMEOUT_S)
                    except httpx.HTTPError:
                        self.health_s.append(HEALTH_TIMEOUT_S)
        self._sampling.clear()
        self.health_s = []
        thread = threading.Thread(target=loop, daemon=True)
        thread.start()
        return thread

    def stop_sampling(self) -> None:
        self._sampling.set()
        self.rss_peak = max(self.rss_peak, self.rss_ready, self.rss())

    def log_tail(self, chars: int = 2000) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-chars:]

    def stop(self) -> None:
        """SIGINT (uvicorn's graceful stop), then SIGTERM, then SIGKILL, each bounded."""
        self.stop_sampling()
        if self.proc.poll() is None:
            for send, wait_s in ((lambda: self.proc.send_signal(signal.SIGINT), STOP_WAIT_S),
                                 (self.proc.terminate, 10.0), (self.proc.kill, 10.0)):
                send()
                try:
                    self.proc.wait(wait_s)
                    break
                except subprocess.TimeoutExpired:
                    continue
        self._log.close()


def child_env(threads: int | None, device: str = "cpu") -> dict[str, str]:
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
               PYTHONUNBUFFERED="1")
    if device == "cpu":
        env["CUDA_VISIBLE_DEVICES"] = ""
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    return env


def course_cmd(model: str, port: int, args: Any, batch_size: int | None = None,
               extra: list[str] | None = None) -> list[str]:
    """`smol-inference serve` with the run's device, dtype, threads and limits (+ `extra` flags).

    With `args.course_checkout` (another checkout of this repository), its package serves instead, so two
    engine versions are compared in one run on one machine; flags its `serve` does not know are left out."""
    cmd = ["--model-id", model, "--hostname", settings.DEFAULT_HOST, "--port", str(port), "--dtype", args.dtype,
           "--device", args.device, "--max-concurrent-requests", str(max(128, 2 * args.concurrency))]
    cmd += ["--torch-threads", str(args.threads)] if args.threads else []
    cmd += ["--max-total-tokens", str(args.max_total_tokens)] if args.max_total_tokens else []
    prefill = getattr(args, "max_batch_prefill_tokens", None)
    cmd += ["--max-batch-prefill-tokens", str(prefill)] if prefill and not extra else []
    cmd += ["--max-batch-size", str(batch_size)] if batch_size else []
    cmd += extra or []
    checkout = getattr(args, "course_checkout", None)
    if not checkout:
        return [sys.executable, "-m", "smol_inference.cli", "serve", *cmd]
    scripts = Path(checkout).resolve() / "scripts"
    if not (scripts / "smol_inference" / "cli.py").is_file():       # else an installed package would serve
        raise SystemExit(f"--course-checkout {checkout}: no scripts/smol_inference/cli.py there")
    serve = ["env", f"PYTHONPATH={scripts}", sys.executable, "-m", "smol_inference.cli", "serve"]
    helped = subprocess.run([*serve, "--help"], capture_output=True, text=True, timeout=120)
    if helped.returncode != 0:
        raise SystemExit(f"--course-checkout {checkout}: `serve --help` failed:\n{helped.stderr[-2000:]}")
    known = helped.stdout
    kept: list[str] = []
    for i, flag in enumerate(cmd):
        if not flag.startswith("--"):
            continue
        value = cmd[i + 1:i + 2] if i + 1 < len(cmd) and not cmd[i + 1].startswith("--") else []
        if re.search(rf"{re.escape(flag)}\b(?!-)", known):
            kept += [flag, *value]
        elif value != ["cpu"]:                            # an older server had no --device: CPU only
            raise SystemExit(f"{checkout}: its `serve` has no {flag} flag, which this run needs")
    return [*serve, *kept]


def transformers_cmd(model: str, port: int, args: Any) -> list[str]:
    exe = Path(sys.executable).parent / "transformers"
    exe = str(exe) if exe.exists() else shutil.which("transformers") or "transformers"
    cb_num_blocks = args.cb_num_blocks
    cmd = [exe, "serve", model, "--continuous-batching", "--device", args.device, "--dtype", args.dtype,
           "--host", settings.DEFAULT_HOST, "--port", str(port), "--log-level", "warning"]
    return cmd + (["--cb-num-blocks", str(cb_num_blocks)] if cb_num_blocks else [])


def scrape(url: str) -> dict[str, float]:
    """Prometheus text of /metrics -> {'name{labels}': value}; {} where the server has none."""
    try:
        response = httpx.get(url + "/metrics", timeout=10)
    except httpx.HTTPError:
        return {}
    values: dict[str, float] = {}
    for line in response.text.splitlines() if response.status_code == 200 else []:
        key, _, value = line.rpartition(" ")
        if key and not line.startswith("#"):
            with contextlib.suppress(ValueError):
                values[key] = float(value)
    return values
