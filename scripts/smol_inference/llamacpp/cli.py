"""`smol-inference llama-server`: llama.cpp's server on the real SmolLM2, built once from PyPI.

    smol-inference llama-server                    # build if needed, serve on a free port until Ctrl-C
    smol-inference llama-server --port 8081        # a fixed port
    smol-inference llama-server --check            # start, ask one question, stop (a smoke test)
    smol-inference llama-server --run 'pytest tests/client/test_client.py'   # TGI_URL set for the command

Taught in text_generation_inference/local_engines.md, "Local engines: llama.cpp, Ollama and MLX".
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from .. import settings

CHECK_QUESTION = "What is the capital of France?"
CHECK_MAX_TOKENS = 24


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--slots", type=int, default=settings.LLAMA_SERVER_SLOTS,
                        help="-np: requests decoded together (continuous batching)")
    parser.add_argument("--ctx-per-slot", type=int, default=settings.LLAMA_SERVER_CTX_PER_SLOT,
                        help="context tokens per slot (-c is slots x this)")
    parser.add_argument("--threads", type=int, default=None, help="-t: CPU threads (default: llama.cpp's choice)")
    parser.add_argument("--model", type=Path, default=None, help="a GGUF file (default: SmolLM2-135M-Instruct Q4_1 "
                        f"from the {settings.REAL_MODEL_DISTRIBUTION} wheel)")
    parser.add_argument("--no-build", action="store_true", help="fail instead of building when not built yet")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="start, ask one chat question, print the answer, stop")
    mode.add_argument("--run", default=None, metavar="COMMAND",
                      help="start, run COMMAND (one string, split like a shell) with TGI_URL set to the "
                           "server, stop; exit with its status")
    parser.add_argument("--server-args", default="", help="more llama-server flags, one string: "
                        "--server-args='--temp 0 --top-k 1'")


def _ask(url: str, question: str) -> dict:
    body = json.dumps({"model": "any", "messages": [{"role": "user", "content": question}],
                       "max_tokens": CHECK_MAX_TOKENS, "temperature": 0}).encode()
    request = urllib.request.Request(f"{url}/v1/chat/completions", data=body,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=settings.CLIENT_TIMEOUT_S) as response:
        return json.loads(response.read())


def run(args: argparse.Namespace) -> int:
    from .llama_server import LlamaServerConfig, environment_with_url, start_llama_server
    from .build import BuildError

    command = shlex.split(args.run) if args.run is not None else None
    if command is not None and not command:
        raise ValueError("--run needs a command, e.g. --run 'pytest tests/client/test_client.py'")
    config = LlamaServerConfig(model=args.model, port=args.port, slots=args.slots, ctx_per_slot=args.ctx_per_slot,
                               threads=args.threads, extra_args=shlex.split(args.server_args))
    try:
        server = start_llama_server(config, build=not args.no_build)
    except BuildError as exc:
        print(f"smol-inference llama-server: {exc}", file=sys.stderr)
        return 1
    assert config.model is not None  # LlamaServerConfig.__post_init__ resolved the default
    with server:
        print(f"llama-server {server.url} (pid {server.pid}, healthy after {server.waited_s:.1f} s, "
              f"model {config.model.name}, -np {config.slots}, log {server.log_path})", flush=True)
        if args.check:
            reply = _ask(server.url, CHECK_QUESTION)
            print(f"{CHECK_QUESTION} -> {reply['choices'][0]['message']['content']!r} "
                  f"(usage {reply.get('usage')})", flush=True)
            return 0
        if command is not None:
            return subprocess.run(command, env=environment_with_url(server.url), check=False).returncode
        print("Ctrl-C to stop", flush=True)
        try:
            while server.proc.poll() is None:
                time.sleep(1)
        except KeyboardInterrupt:
            pass
        return 0 if server.proc.poll() in (None, 0) else 1
