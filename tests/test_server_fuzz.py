"""Schemathesis fuzzes the course server against the OpenAPI document it publishes itself
(/api-doc/openapi.json): valid and invalid bodies on every route; no answer may be a 5xx, use an
undocumented status or content type, or break its documented schema (SSE events included), and a
body the document forbids must be refused.

CI runs `FUZZ_EXAMPLES` (default 15) examples per route and mode (positive: valid per the document,
negative: violating it); the documented longer run is
`benchmarks/fuzz_server.py --examples 200` (benchmarks/README.md, "Robustness").
Set SMOL_FUZZ_EXAMPLES to change the count and SMOL_FUZZ_REPORT=path.json for a summary.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis")
from conftest import WAIT_S, start_test_server  # noqa: E402
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)
from smol_inference.server.openapi import OK_CONTENT  # noqa: E402

FUZZ_EXAMPLES = int(os.environ.get("SMOL_FUZZ_EXAMPLES", "15"))
REPORT = os.environ.get("SMOL_FUZZ_REPORT")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          negative_data_rejection]
#: Small limits keep every generated request cheap: at most 63 new tokens on the bundled model.
LIMITS = {"max_total_tokens": 64, "max_input_tokens": 48}
CALLS: Counter = Counter()
STATUSES: Counter = Counter()


@pytest.fixture(scope="module")
def fuzz_server(tiny_model):
    handle = start_test_server(tiny_model, **LIMITS)
    yield handle
    handle.stop()
    if REPORT:
        Path(REPORT).write_text(json.dumps({"examples_per_route_and_mode": FUZZ_EXAMPLES,
                                            "requests": sum(CALLS.values()),
                                            "per_route": dict(CALLS), "statuses": dict(STATUSES),
                                            "checks": [c.__name__ for c in CHECKS]}, indent=2))


@pytest.fixture(scope="module")
def api_schema(fuzz_server):
    loaded = schemathesis.openapi.from_url(fuzz_server.url + "/api-doc/openapi.json", timeout=WAIT_S)
    loaded.config.generation.update(modes=[schemathesis.GenerationMode.POSITIVE,
                                           schemathesis.GenerationMode.NEGATIVE],
                                    max_examples=FUZZ_EXAMPLES, deterministic=True)
    return loaded


ROUTES = sorted(f"{method.upper()} {path}" for method, path in OK_CONTENT)
POSITIVE, NEGATIVE = schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE
#: A GET route takes no input, so it has no invalid input to send.
CASES = [(route, mode) for route in ROUTES for mode in (POSITIVE, NEGATIVE)
         if mode is POSITIVE or route.startswith("POST")]


@pytest.mark.parametrize("route, mode", CASES, ids=[f"{r}-{m.value}" for r, m in CASES])
def test_every_answer_matches_the_published_schema(api_schema, route, mode):
    method, path = route.split(" ", 1)
    operation = api_schema[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=FUZZ_EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    def fuzz(case) -> None:
        response = case.call_and_validate(checks=CHECKS, timeout=WAIT_S)
        CALLS[route] += 1
        STATUSES[str(response.status_code)] += 1
        assert response.status_code < 500, response.text

    fuzz()


def test_the_published_schema_documents_every_route_and_error(fuzz_server):
    import httpx

    doc = httpx.get(fuzz_server.url + "/api-doc/openapi.json", timeout=WAIT_S).json()
    generate = doc["paths"]["/generate"]["post"]["responses"]
    assert {"200", "401", "413", "422", "424", "429", "503"} <= set(generate)
    assert generate["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorResponse")
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    assert "text/event-stream" in doc["paths"]["/generate_stream"]["post"]["responses"]["200"]["content"]
    params = doc["components"]["schemas"]["GenerateParameters"]["properties"]
    assert {(m, p) for p, ops in doc["paths"].items() for m in ops} == set(OK_CONTENT)     # all fuzzed
    assert params["top_p"]["exclusiveMaximum"] == 1.0 and params["temperature"]["exclusiveMinimum"] == 0.0
