"""The chat UI (`smol-inference chat-ui`), end to end: course server -> Gradio -> headless Chromium.

Everything listens on 127.0.0.1 free ports; the course server is the one the test session shares
(tests/support/served.py), or $TGI_URL. The browser test needs Debian's chromium
(`apt-get install -y chromium`) and Python Playwright (a pip package; `playwright install` is never
run: the system browser is used). Without chromium that one test is skipped and says why.
text_generation_inference/serve_and_query.md, "A chat UI in the browser".
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest
from served import endpoint, is_course_server
from smol_inference.chat_ui import (
    ChatBackend,
    ChatUIConfig,
    build_chat_ui,
    normalize_endpoint,
    to_messages,
)
from processes import stop_process
from smol_inference.ports import free_port

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
QUESTION = "What is the capital of France?"
ANSWER = "Paris"
START_TIMEOUT_S = 120.0
ANSWER_TIMEOUT_S = 60.0


def _env() -> dict[str, str]:
    env = dict(os.environ, HF_HUB_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False", TOKENIZERS_PARALLELISM="false")
    env.pop("COURSE_MODEL", None)       # the bundled model: its answer to QUESTION is known
    return env


def _wait_http(url: str, proc: subprocess.Popen, timeout_s: float = START_TIMEOUT_S) -> None:
    """Poll `url` until it answers 200; fail early if the process died. Bounded in time."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out = Path(proc.log_path).read_text(errors="replace")  # type: ignore[attr-defined]  # see _start
            raise RuntimeError(f"process exited with {proc.returncode} before {url} answered:\n{out[-3000:]}")
        try:
            if httpx.get(url, timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise TimeoutError(f"{url} did not answer 200 within {timeout_s:.0f} s")


def _start(args: list[str], ready_url: str) -> subprocess.Popen:
    # Output goes to a file, not a pipe: a chatty server can never block on a full pipe.
    log = tempfile.NamedTemporaryFile("w", prefix="smol-", suffix=".log", delete=False)  # noqa: SIM115 - kept for the UI process
    proc = subprocess.Popen([sys.executable, "-m", "smol_inference.cli", *args], env=_env(),
                            stdout=log, stderr=subprocess.STDOUT, text=True)
    proc.log_path = log.name  # type: ignore[attr-defined]  # an attribute of ours on the Popen
    log.close()
    try:
        _wait_http(ready_url, proc)
    except BaseException:
        _stop(proc)
        raise
    return proc


def _stop(proc: subprocess.Popen) -> None:
    stop_process(proc)
    Path(proc.log_path).unlink(missing_ok=True)  # type: ignore[attr-defined]  # see _start


@pytest.fixture(scope="module")
def course_server() -> str:
    """$TGI_URL, else the course server shared by the test session (tests/support/served.py, bundled model)."""
    return endpoint()


def _expected_answer() -> str | None:
    """The bundled model's answer is known; another model's (TGI_URL) is not."""
    return ANSWER if is_course_server() else None


# ---- pure helpers ---------------------------------------------------------------------------------

def test_normalize_endpoint_accepts_root_and_v1() -> None:
    assert normalize_endpoint("http://127.0.0.1:8080/") == "http://127.0.0.1:8080"
    assert normalize_endpoint("http://127.0.0.1:8080/v1/") == "http://127.0.0.1:8080"
    with pytest.raises(ValueError):
        normalize_endpoint("127.0.0.1:8080")


def test_config_validates() -> None:
    with pytest.raises(ValueError):
        ChatUIConfig(endpoint="http://x", max_new_tokens=0)
    with pytest.raises(ValueError):
        ChatUIConfig(endpoint="http://x", temperature=-1)


def test_to_messages_keeps_history_and_system_prompt() -> None:
    history = [{"role": "user", "content": "hi"},
               {"role": "assistant", "content": [{"type": "text", "text": "Hello!"}]}]
    assert to_messages("What is 7 plus 5?", history, "Be brief.") == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "What is 7 plus 5?"},
    ]


def test_cli_routes_chat_ui_with_its_flags() -> None:
    from smol_inference.cli import build_parser

    args = build_parser().parse_args(["chat-ui", "--endpoint", "http://127.0.0.1:9/v1", "--port", "0",
                                      "--max-new-tokens", "8", "--temperature", "0.5"])
    assert (args.command, args.endpoint, args.port, args.max_new_tokens, args.temperature) == (
        "chat-ui", "http://127.0.0.1:9/v1", 0, 8, 0.5)


def test_build_chat_ui_does_not_launch() -> None:
    import gradio as gr

    demo = build_chat_ui(ChatUIConfig(endpoint="http://127.0.0.1:9/v1", model="tgi"))
    assert isinstance(demo, gr.Blocks)
    assert not getattr(demo, "is_running", False)


# ---- against the course server --------------------------------------------------------------------

def test_backend_streams_growing_reply(course_server: str) -> None:
    backend = ChatBackend(ChatUIConfig(endpoint=course_server, max_new_tokens=20))
    partials = list(backend.stream(QUESTION, []))
    assert len(partials) >= 2, partials                      # streamed, not one block
    assert all(b.startswith(a) for a, b in itertools.pairwise(partials))
    assert partials[-1].strip()
    if _expected_answer():
        assert ANSWER in partials[-1]


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed "
                    "(apt-get update && apt-get install -y chromium)")
def test_chat_ui_in_headless_chromium(course_server: str) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (no browser download)")
    port = free_port()
    ui_url = f"http://127.0.0.1:{port}/"
    ui = _start(["chat-ui", "--endpoint", course_server, "--hostname", "127.0.0.1", "--port", str(port),
                 "--max-new-tokens", "20"], ui_url)
    try:
        with sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
            try:
                page = browser.new_page()
                page.goto(ui_url, timeout=30_000)
                box = page.get_by_role("textbox").first
                box.fill(QUESTION)
                box.press("Enter")
                bot = page.locator('[data-testid="bot"]').last
                seen: list[str] = []
                deadline = time.monotonic() + ANSWER_TIMEOUT_S
                done = _expected_answer() or "."          # any model: wait for a sentence's end
                while time.monotonic() < deadline and not (seen and done in seen[-1]):
                    text = bot.inner_text(timeout=1_000) if bot.count() else ""
                    if text and (not seen or text != seen[-1]):
                        seen.append(text)
                    time.sleep(0.05)
                assert seen and done in seen[-1], f"no '{done}' in the chat window; saw {seen!r}"
                sync_api.expect(page.locator('[data-testid="user"]').last).to_contain_text(QUESTION)
            finally:
                browser.close()
    finally:
        _stop(ui)
