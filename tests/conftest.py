"""Course-server fixtures: one bundled model loaded once, servers on 127.0.0.1 free ports, schema checks.

Other test helpers live in their own modules; keep this file small and about the course server.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Callable

import pytest

# The shared helpers, fixtures and stubs live in tests/support/; the test files import them by module name.
sys.path.insert(0, str(Path(__file__).resolve().parent / "support"))

from server_helpers import SlowNoEosModel  # re-exported for the server tests; after the path above

# Fixtures that live beside their helpers in support/: `course` (the check_course tests), `llama` (llama.cpp).
pytest_plugins = ["check_course_helpers", "gateway_fixtures", "llamacpp_helpers"]

REPO = Path(__file__).resolve().parents[1]
OPENAPI = REPO.parent / "shared" / "reference" / "tgi-openapi.json"
#: Every wait in these tests ends by this many seconds.
WAIT_S = 20.0
#: Per-step delay of the slow test model (seconds) and the bound on polling loops.
SLOW_STEP_S = 0.03
POLL_S = 0.05


@pytest.fixture(scope="session")
def tiny_model() -> tuple[Any, Any, int | None]:
    """(model, tokenizer, context) of the bundled model, loaded once for every test server."""
    from smol_inference import settings
    from smol_inference.server.config import ServerConfig
    from smol_inference.server.lifecycle.loading import load

    return load(ServerConfig(model_id=settings.TINY_MODEL))


def start_test_server(preloaded: Any, **flags: Any) -> Any:
    from smol_inference.server import start_server

    flags.setdefault("torch_threads", 1)
    return start_server(preloaded=preloaded, timeout_s=WAIT_S * 3, quiet=True, **flags)


@pytest.fixture(scope="session")
def server(tiny_model):
    """The bundled model behind default TGI-like flags."""
    handle = start_test_server(tiny_model)
    yield handle
    handle.stop()


@pytest.fixture(scope="session")
def slow_server(tiny_model):
    """A slow, eos-free model with room for 2 concurrent requests, an API key and a 4 kB body limit."""
    model, tokenizer, context = tiny_model
    slow = SlowNoEosModel(model, [tokenizer.eos_token_id], SLOW_STEP_S)
    handle = start_test_server((slow, tokenizer, context), max_concurrent_requests=2, api_key="sesame",
                    payload_limit=4096)
    yield handle
    handle.stop()


@pytest.fixture(scope="session")
def chat_text() -> Callable[[str], str]:
    """The ChatML prompt text for one user message (what /generate needs for a chat model)."""
    from transformers import AutoTokenizer

    from smol_inference import settings

    tokenizer = AutoTokenizer.from_pretrained(settings.TINY_MODEL)
    return lambda question: tokenizer.apply_chat_template([{"role": "user", "content": question}],
                                                          tokenize=False, add_generation_prompt=True)


def _nullable_to_jsonschema(node: Any) -> Any:
    """OpenAPI 3.0 `nullable: true` -> JSON Schema `anyOf [..., null]` (recursively)."""
    if isinstance(node, list):
        return [_nullable_to_jsonschema(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _nullable_to_jsonschema(value) for key, value in node.items()}
    if node.pop("nullable", False):
        return {"anyOf": [node, {"type": "null"}]}
    return node


@pytest.fixture(scope="session")
def check_schema() -> Callable[[Any, str], None]:
    """check_schema(instance, "GenerateResponse") validates against tgi-openapi.json (skips without it)."""
    if not OPENAPI.exists():
        pytest.skip(f"{OPENAPI} not present: schema checks skipped")
    import jsonschema

    components = _nullable_to_jsonschema(json.loads(OPENAPI.read_text())["components"])

    def check(instance: Any, name: str) -> None:
        schema = {"$ref": f"#/components/schemas/{name}", "components": components}
        jsonschema.Draft202012Validator(schema).validate(instance)

    return check


def sse_events(lines: Any) -> list[str]:
    """The `data:` payloads of an SSE body (with or without the space after the colon)."""
    return [line[5:].strip() for line in lines if line.startswith("data:")]


def metric(text: str, name: str, labels: str = "") -> float:
    """One sample's value from Prometheus text (0.0 when absent)."""
    wanted = f"{name}{{{labels}}}" if labels else name
    for line in text.splitlines():
        if line.startswith(wanted + " "):
            return float(line.split()[-1])
    return 0.0
