"""The lesson runner's shell blocks: which commands can run here, and running them on 127.0.0.1.

``bash`` blocks run when every command in them can run here, on 127.0.0.1, in a temporary folder:
``smol-inference generate``/``--help``, ``curl`` to a loopback address, and commands that start a
server (``make serve``, ``smol-inference serve``, ``smol-inference webapp``), which are started in
the background on a free port with the pass's model unless the command names one (TGI_URL stands in
for the course server when set); the addresses of later ``curl`` commands are rewritten to that port.
A ``curl`` to the default server port with no server yet starts the course server the way ``make serve``
would. Blocks with anything else (docker, GPUs, interactive UIs, ``make test``, long load tests) are
reported as "shell, not run" with the first command that prevents it.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from lesson_report import _check_course
from processes import stop_process
from smol_inference.ports import free_port

#: Bounds: one shell command, a background server's start.
SHELL_COMMAND_TIMEOUT_S = 120
SERVER_START_TIMEOUT_S = 180
LOOPBACK_RE = re.compile(r"(?:https?://)?(?:127\.0\.0\.1|localhost):(\d+)")


def shell_commands(code: str) -> list[str]:
    """Logical commands of a shell block: continuations joined, comments and blank lines dropped."""
    cc = _check_course()
    joined = re.sub(r"\\\n", " ", code)
    commands = []
    for line in joined.split("\n"):
        line = cc.strip_hash_comment(line).strip()
        line = line.removeprefix("$ ")
        if line:
            commands.append(line)
    return commands


def classify(command: str) -> tuple[str, str]:
    """("run" | "server" | "no", detail) for one shell command (see the module docstring)."""
    try:
        words = shlex.split(command)
    except ValueError as exc:
        return "no", f"cannot parse {command!r}: {exc}"
    while len(words) > 1 and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]):
        words = words[1:]  # VAR=value prefixes of a command
    exe = words[0]
    if exe in ("smol-inference", ".venv/bin/smol-inference"):
        sub = words[1] if len(words) > 1 else ""
        if "--help" in words or "-h" in words or sub == "generate":
            return "run", ""
        if sub in ("serve", "webapp"):
            return "server", sub
        if sub == "chat-ui":
            return "no", ("`smol-inference chat-ui` is an interactive browser UI "
                          "(tests/client/test_chat_ui.py drives it)")
        if sub == "bench":
            return "no", "`smol-inference bench` is a long load test (tests/bench/test_bench.py runs it at small sizes)"
        return "no", f"`smol-inference {sub}` is not run by the lesson tests"
    if exe == "make" and words[1:] == ["serve"]:
        return "server", "serve"
    if exe == "make":
        return "no", f"`{command}` runs the course's own setup or tests, not lesson code"
    if exe == "curl":
        urls = [w for w in words if re.match(r"^(https?://)?[\w.-]+:\d+", w)]
        if urls and all(LOOPBACK_RE.match(u) for u in urls):
            return "run", ""
        return "no", "`curl` to an address that is not loopback"
    if re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", command) and len(words) == 1:
        return "run", "assignment"
    if exe == "docker":
        return "no", "`docker` needs Docker" + (" and a GPU" if any(w.startswith("--gpus") for w in words) else "") \
            + " (docker/ holds the stacks)"
    return "no", f"`{' '.join(words[:3])}` is not part of the course package (another engine or tool)"


class ShellRunner:
    """Runs the runnable shell blocks of one lesson; owns the servers they start."""

    def __init__(self, workdir: Path) -> None:
        from smol_inference import settings

        self.settings = settings
        self.workdir = workdir
        self.ports: dict[int, str] = {}  # port named in the lesson -> host:port actually serving it
        self.processes: list[subprocess.Popen] = []
        self.notes: list[str] = []
        self.assignments: list[str] = []  # NAME=value lines of the current block, kept for its commands
        self.cli = f"{shlex.quote(sys.executable)} -m smol_inference.cli"

    def plan(self, code: str) -> str:
        """Empty when the block can run here, else the reason it cannot."""
        commands = shell_commands(code)
        if not commands:
            return "no commands"
        for command in commands:
            kind, detail = classify(command)
            if kind == "no":
                return detail
        return ""

    def run_block(self, code: str) -> None:
        self.assignments = []
        for command in shell_commands(code):
            kind, detail = classify(command)
            if kind == "server":
                self.start(detail, command)
            else:
                self.execute(command)

    def start(self, kind: str, command: str) -> None:
        words = shlex.split(command)
        default = self.settings.DEFAULT_WEBAPP_PORT if kind == "webapp" else self.settings.DEFAULT_SERVER_PORT
        port = default
        for i, w in enumerate(words):
            if w == "--port" and i + 1 < len(words):
                port = int(words[i + 1])
            elif w.startswith("--port="):
                port = int(w.split("=", 1)[1])
        external = os.environ.get(self.settings.ENV_TGI_URL)
        if kind == "serve" and external:
            self.ports[port] = external.rstrip("/").split("://", 1)[-1]
            self.notes.append(f"`{command}`: TGI_URL ({external}) stands in for port {port}")
            return
        real = free_port()
        host_flag = "--host" if kind == "webapp" else "--hostname"
        extra = [] if words[0] == "make" else self._passthrough(words[2:])
        if kind == "serve" and "--model-id" not in extra:  # `make serve` serves the pass's model too
            extra += ["--model-id", os.environ.get(self.settings.ENV_COURSE_MODEL, self.settings.TINY_MODEL_ALIAS)]
        argv = [sys.executable, "-m", "smol_inference.cli", kind, host_flag, "127.0.0.1", "--port", str(real), *extra]
        log = open(self.workdir / f"{kind}-{real}.log", "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir)
        self.processes.append(proc)
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"`{command}` exited with {proc.returncode}: "
                                   f"{(self.workdir / f'{kind}-{real}.log').read_text(errors='replace')[-2000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{real}/health", timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            time.sleep(0.5)
        else:
            raise RuntimeError(f"`{command}`: no healthy server on port {real} after {SERVER_START_TIMEOUT_S} s")
        self.ports[port] = f"127.0.0.1:{real}"
        self.notes.append(f"`{command}`: started on 127.0.0.1:{real} (stands in for port {port})")

    @staticmethod
    def _passthrough(args: list[str]) -> list[str]:
        out, skip = [], False
        for a in args:
            if skip:
                skip = False
                continue
            if a in ("--port", "--host", "--hostname"):
                skip = True
                continue
            if a.startswith(("--port=", "--host=", "--hostname=")):
                continue
            out.append(a)
        return out

    def rewrite(self, command: str) -> str:
        command = re.sub(r"^((?:[A-Za-z_][A-Za-z0-9_]*=\S*\s+)*)(?:\.venv/bin/)?smol-inference(?=\s|$)",
                         lambda m: m[1] + self.cli, command, count=1)

        def repl(m: re.Match) -> str:
            port = int(m[1])
            if port not in self.ports:
                kind = {self.settings.DEFAULT_SERVER_PORT: "serve",
                        self.settings.DEFAULT_WEBAPP_PORT: "webapp"}.get(port)
                if kind is None:
                    raise RuntimeError(f"no server on port {port} for {command!r}")
                self.start(kind, f"smol-inference {kind} --port {port}")
            scheme = m[0].split("://", 1)[0] + "://" if "://" in m[0] else ""
            return scheme + self.ports[port]

        return LOOPBACK_RE.sub(repl, command)

    def execute(self, command: str) -> None:
        if classify(command)[1] == "assignment":
            self.assignments.append(command)
            return
        real = "\n".join(self.assignments + [self.rewrite(command)])
        print(f"$ {real}", flush=True)
        done = subprocess.run(["bash", "-c", "set -eo pipefail\n" + real], check=False, cwd=self.workdir, text=True,
                              capture_output=True, timeout=SHELL_COMMAND_TIMEOUT_S)
        print(done.stdout[-3000:], end="" if done.stdout.endswith("\n") else "\n", flush=True)
        if done.returncode != 0:
            raise RuntimeError(f"`{command}` exited with {done.returncode}: {done.stderr[-2000:]}")

    def stop(self) -> None:
        for proc in self.processes:
            stop_process(proc)
