#!/usr/bin/env bash
# Download the wheels benchmarks/gpu_check.sh needs on a GPU image that has torch and transformers but not
# the course server's HTTP stack. Run here (PyPI reachable); carry the resulting wheels/ to the GPU machine.
#   bash benchmarks/gpu_wheels.sh [DEST]          # default DEST: wheels/ at the repository root
# PY_VERSION / PLATFORM select the target interpreter (default: CPython 3.11, manylinux x86_64).
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=${1:-wheels}
PY_VERSION=${PY_VERSION:-3.12}  # the H200 image runs Python 3.12
PLATFORM=${PLATFORM:-manylinux_2_17_x86_64}
PYTHON=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
# The server (fastapi, uvicorn, prometheus-client; llguidance and jsonschema for structured output), its
# clients and bench helpers (httpx, psutil);
# pip resolves their dependencies (starlette, pydantic, pydantic-core, anyio, h11, ...). torch, transformers
# and their own dependencies are already on the GPU image and are not downloaded.
PACKAGES=(fastapi uvicorn prometheus-client httpx psutil llguidance jsonschema)
mkdir -p "$DEST"
"$PYTHON" -m pip download --only-binary=:all: --python-version "$PY_VERSION" --implementation cp \
    --platform "$PLATFORM" --platform manylinux2014_x86_64 --platform any -d "$DEST" "${PACKAGES[@]}"
ls "$DEST"
