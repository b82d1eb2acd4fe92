"""The `smol-inference` command: one entry point, one module per subcommand.

Each subcommand module exposes `add_arguments(parser)` and `run(args) -> int`; this file only
routes. Errors the user can fix (bad arguments, a missing model) print one line and exit 2.
"""

from __future__ import annotations

import argparse
import sys
from importlib import import_module

#: name -> (module, one-line help). Modules are imported only when their command runs.
COMMANDS: dict[str, tuple[str, str]] = {
    "generate": ("smol_inference.generate_cmd", "generate a reply to PROMPT with a local model"),
    "serve": ("smol_inference.server.lifecycle.launcher", "start the TGI-compatible course server"),
    "llama-server": ("smol_inference.llamacpp.cli", "build and start llama.cpp's server on the real SmolLM2"),
    "bench": ("smol_inference.bench", "load-test a TGI or OpenAI-compatible endpoint"),
    "webapp": ("smol_inference.webapp", "start the lesson-1 web app around a pipeline"),
    "chat-ui": ("smol_inference.chat_ui", "open a Gradio chat UI on an endpoint"),
    "scale-out": ("smol_inference.scale_out.command", "start N course-server replicas behind the SGLang Model Gateway"),
}


class UserError(Exception):
    """A mistake the user can fix; printed as one line, exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="smol-inference", description="LLM inference course tools.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        if not _available(module_name):
            continue
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        import_module(module_name).add_arguments(command_parser)
    return parser


def _available(module_name: str) -> bool:
    try:
        from importlib.util import find_spec

        return find_spec(module_name) is not None
    except ModuleNotFoundError:
        return False


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    module = import_module(COMMANDS[args.command][0])
    try:
        return int(module.run(args) or 0)
    except (UserError, FileNotFoundError, ValueError, OSError) as exc:
        print(f"smol-inference {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
