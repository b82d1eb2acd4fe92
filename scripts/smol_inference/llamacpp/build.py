"""Build llama.cpp's tools (`llama-server`, ...) once from the pinned `llama-cpp-python` sdist on PyPI.

The sdist vendors llama.cpp's full source (`vendor/llama.cpp`, server included), so PyPI is the only
network this needs; the build follows llama.cpp's own instructions (docs/build.md: `cmake -B build`,
`cmake --build build --target llama-server`) with the flags in `settings.LLAMA_CPP_CMAKE_FLAGS`
(static, CPU-native, no curl). Everything lives in one folder per pinned version, outside the venv
and the repository:

    <cache>/llama.cpp/<version>/
        llama_cpp_python-<version>.tar.gz   the sdist, as pip downloaded it
        src/                                its vendor/llama.cpp (also holds the convert_* tools)
        build/bin/llama-server              the binaries
        build-info.json                     version and flags of the build: a mismatch rebuilds
        build.log                           cmake's output

    python -m smol_inference.llamacpp.build      # `make llama-server`: build or say "cached"

A second process asking for the same build waits on a file lock instead of building twice.
Taught in text_generation_inference/local_engines.md, "Local engines: llama.cpp, Ollama and MLX".
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from .. import settings

#: The tool `make llama-server` builds; benchmarks may ask for more (e.g. llama-quantize).
DEFAULT_TOOLS = ("llama-server",)
#: Scheduling priority of the compiler processes (a build must not starve a shared machine).
BUILD_NICENESS = 10
LOG_TAIL_LINES = 30
MISSING_TOOLS_HINT = ("install them (Debian/Ubuntu: apt-get install cmake g++; "
                      "macOS: xcode-select --install, brew install cmake)")


class BuildError(RuntimeError):
    """The build cannot run here or failed; the message says why in one or a few lines."""


def cache_root() -> Path:
    """$SMOL_INFERENCE_CACHE, else $XDG_CACHE_HOME/smol_inference, else ~/.cache/smol_inference (as real_model.py)."""
    explicit = os.environ.get(settings.ENV_CACHE_DIR)
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "smol_inference"


def build_dir(version: str = settings.LLAMA_CPP_PYTHON_VERSION) -> Path:
    return cache_root() / "llama.cpp" / version


def _stamp(version: str) -> dict:
    return {"llama_cpp_python": version, "cmake_flags": list(settings.LLAMA_CPP_CMAKE_FLAGS)}


def _is_current(folder: Path, version: str) -> bool:
    try:
        info = json.loads((folder / "build-info.json").read_text())
    except (OSError, ValueError):
        return False
    return all(info.get(key) == value for key, value in _stamp(version).items())


def llama_server_binary(tool: str = "llama-server", version: str = settings.LLAMA_CPP_PYTHON_VERSION
                        ) -> Path | None:
    """The built `tool` when the cache holds a build of this version and flags, else None."""
    folder = build_dir(version)
    binary = folder / "build" / "bin" / tool
    return binary if binary.is_file() and os.access(binary, os.X_OK) and _is_current(folder, version) else None


def source_dir(version: str = settings.LLAMA_CPP_PYTHON_VERSION) -> Path:
    """The vendored llama.cpp source of a finished build (convert_hf_to_gguf.py, gguf-py/, ...)."""
    return build_dir(version) / "src"


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes
        yield


def _check_tools() -> None:
    missing = [name for name in ("cmake",) if shutil.which(name) is None]
    if not any(shutil.which(cxx) for cxx in (os.environ.get("CXX", ""), "c++", "g++", "clang++") if cxx):
        missing.append("a C++ compiler (c++)")
    if missing:
        raise BuildError(f"building llama-server needs {', '.join(missing)}: {MISSING_TOOLS_HINT}")


def _run(cmd: Sequence[str], log: Path, cwd: Path | None = None) -> None:
    """Run one build step at lowered priority, appending its output to `log`; BuildError on failure."""
    with open(log, "a") as out:
        out.write(f"\n$ {' '.join(cmd)}\n")
        out.flush()
        done = subprocess.run(list(cmd), cwd=cwd, stdout=out, stderr=subprocess.STDOUT, check=False,
                              preexec_fn=lambda: os.nice(BUILD_NICENESS))
    if done.returncode != 0:
        tail = "".join(log.read_text(errors="replace").splitlines(True)[-LOG_TAIL_LINES:])
        raise BuildError(f"`{' '.join(cmd[:4])} ...` exited with {done.returncode} (full log: {log}):\n{tail}")


def download_sdist(folder: Path, version: str) -> Path:
    """`pip download` the pinned sdist into `folder` (kept there: a rebuild needs no network)."""
    name = f"llama_cpp_python-{version}.tar.gz"
    if not (folder / name).is_file():
        _run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
              f"llama-cpp-python=={version}", "-d", str(folder)], folder / "build.log")
    if not (folder / name).is_file():
        raise BuildError(f"pip download left no {name} in {folder}")
    return folder / name


def extract_vendored_source(sdist: Path, dest: Path, version: str) -> Path:
    """Unpack the sdist's vendor/llama.cpp into `dest` (safe members only); return `dest`."""
    prefix = f"llama_cpp_python-{version}/vendor/llama.cpp/"
    staging = dest.with_name(dest.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    with tarfile.open(sdist) as archive:
        members = [m for m in archive.getmembers() if m.name.startswith(prefix)]
        if not members:
            raise BuildError(f"{sdist.name} has no {prefix} (not the sdist this course pins?)")
        for member in members:
            member.name = member.name[len(prefix):]
        archive.extractall(staging, members=[m for m in members if m.name], filter="data")
    shutil.rmtree(dest, ignore_errors=True)
    staging.rename(dest)
    return dest


def ensure_llama_server(tools: Sequence[str] = DEFAULT_TOOLS, version: str = settings.LLAMA_CPP_PYTHON_VERSION,
                        jobs: int | None = None, log: bool = True) -> Path:
    """Build what is missing of `tools` and return the path of the first one (`llama-server`).

    Cached: returns at once when the build of this version and flags has them. Raises BuildError
    (one readable message) when cmake or a compiler is missing, the download fails or cmake fails.
    """
    folder = build_dir(version)
    if all(llama_server_binary(tool, version) for tool in tools):
        return folder / "build" / "bin" / tools[0]
    _check_tools()
    with _locked(folder):
        missing = [tool for tool in tools if llama_server_binary(tool, version) is None]
        if not missing:  # another process built them while we waited for the lock
            return folder / "build" / "bin" / tools[0]
        start = time.monotonic()
        say = print if log else (lambda *_, **__: None)
        say(f"llama.cpp: building {', '.join(missing)} from llama-cpp-python {version} (PyPI sdist) in {folder}; "
            f"a few minutes on 2 cores, log in {folder / 'build.log'}", flush=True)
        stamp = _stamp(version)
        if not _is_current(folder, version):  # other flags or a broken build: start the tree afresh
            shutil.rmtree(folder / "build", ignore_errors=True)
            (folder / "build-info.json").unlink(missing_ok=True)
        if not (folder / "src" / "CMakeLists.txt").is_file():
            extract_vendored_source(download_sdist(folder, version), folder / "src", version)
        build_log = folder / "build.log"
        _run(["cmake", "-S", str(folder / "src"), "-B", str(folder / "build"), *settings.LLAMA_CPP_CMAKE_FLAGS],
             build_log)
        _run(["cmake", "--build", str(folder / "build"), "--target", *missing, "-j", str(jobs or os.cpu_count() or 1)],
             build_log)
        stamp.update(built_unix=time.time(), last_build_s=round(time.monotonic() - start, 1))
        (folder / "build-info.json").write_text(json.dumps(stamp, indent=1) + "\n")
        say(f"llama.cpp: built {', '.join(missing)} in {time.monotonic() - start:.0f} s", flush=True)
    return folder / "build" / "bin" / tools[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build llama.cpp's server from the pinned PyPI sdist, once.")
    parser.add_argument("--tools", nargs="+", default=list(DEFAULT_TOOLS), help="llama.cpp targets to build")
    parser.add_argument("--jobs", type=int, default=None, help="parallel compile jobs (default: all cores)")
    parser.add_argument("--print-path", action="store_true", help="print only the binary's path")
    parser.add_argument("--is-built", action="store_true", help="build nothing: exit 0 when built, 1 when not")
    parser.add_argument("--skip-without-toolchain", action="store_true",
                        help="without cmake or a C++ compiler, say so in one line and exit 0 (make test)")
    args = parser.parse_args(argv)
    cached = all(llama_server_binary(tool) for tool in args.tools)
    if args.is_built:
        return 0 if cached else 1
    try:
        if not cached and args.skip_without_toolchain:
            try:
                _check_tools()
            except BuildError as exc:
                print(f"llama-server: skipped: {exc}")
                return 0
        path = ensure_llama_server(args.tools, jobs=args.jobs, log=not args.print_path)
    except BuildError as exc:
        print(f"llama-server: {exc}", file=sys.stderr)
        return 1
    print(path if args.print_path else f"llama.cpp: {'cached' if cached else 'built'}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
