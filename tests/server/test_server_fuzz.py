"""Schemathesis fuzzes the course server against the OpenAPI document it publishes itself
(/api-doc/openapi.json): valid and invalid bodies on every route; no answer may be a 5xx, use an
undocumented status or content type, or break its documented schema (SSE events included), and a
body the document forbids must be refused.

CI runs `FUZZ_EXAMPLES` (default 15) examples per route and mode (positive: valid per the document,
negative: violating it); the documented longer run is
`benchmarks/fuzz_server.py --examples 200` (benchmarks/README.md, "Robustness").
Set SMOL_FUZZ_EXAMPLES to change the count and SMOL_FUZZ_REPORT=path.json for a summary.

Schemathesis never generates lone surrogates (it cannot encode them); JSON can carry them as
`"\\ud800"` escapes, and such a string is not valid Unicode text. `with_lone_surrogates` (a
`flatmap_body` hook) breaks one string of many generated bodies on every route that way: each must
be answered 422 like any other bad input, never 500.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis")
from conftest import WAIT_S, start_test_server  # noqa: E402 - after the importorskip above
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402 - after the importorskip above
from hypothesis import strategies as st  # noqa: E402 - after the importorskip above
from schemathesis.checks import not_a_server_error  # noqa: E402 - after the importorskip above
from schemathesis.specs.openapi.checks import (  # noqa: E402 - after the importorskip above
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)
from smol_inference.server.api.openapi import OK_CONTENT  # noqa: E402 - after the importorskip above

FUZZ_EXAMPLES = int(os.environ.get("SMOL_FUZZ_EXAMPLES", "15"))
REPORT = os.environ.get("SMOL_FUZZ_REPORT")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          negative_data_rejection]
#: Small limits keep every generated request cheap: at most 63 new tokens on the bundled model.
LIMITS = {"max_total_tokens": 64, "max_input_tokens": 48}
CALLS: Counter = Counter()
STATUSES: Counter = Counter()
SURROGATES: Counter = Counter()             # statuses of the bodies sent with a lone surrogate


@pytest.fixture(scope="module")
def fuzz_server(tiny_model):
    handle = start_test_server(tiny_model, **LIMITS)
    yield handle
    handle.stop()
    if REPORT:
        Path(REPORT).write_text(json.dumps({"examples_per_route_and_mode": FUZZ_EXAMPLES,
                                            "requests": sum(CALLS.values()),
                                            "per_route": dict(CALLS), "statuses": dict(STATUSES),
                                            "lone_surrogate_statuses": dict(SURROGATES),
                                            "checks": [c.__name__ for c in CHECKS]}, indent=2))


#: What `with_lone_surrogates` splices into a string: unpaired halves of a UTF-16 surrogate pair.
LONE_SURROGATES = ["\ud800", "\udfff", "\ud83d"]


def string_paths(value, path=()):
    """Paths (tuples of keys/indexes) of every string inside a JSON value."""
    if isinstance(value, str):
        return [path]
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    return [p for key, item in items for p in string_paths(item, (*path, key))]


def replaced(value, path, new):
    if not path:
        return new
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = replaced(value[path[0]], path[1:], new)
    return copy


def with_lone_surrogates(context, body):
    """The body as generated, or the same body with a lone surrogate inside one of its strings."""
    paths = string_paths(body)
    if not paths:
        return st.just(body)
    broken = st.tuples(st.sampled_from(paths), st.sampled_from(LONE_SURROGATES)).map(
        lambda pick: replaced(body, pick[0], _get(body, pick[0]) + pick[1]))
    return st.one_of(st.just(body), broken)


def _get(value, path):
    for key in path:
        value = value[key]
    return value


@pytest.fixture(scope="module")
def api_schema(fuzz_server):
    loaded = schemathesis.openapi.from_url(fuzz_server.url + "/api-doc/openapi.json", timeout=WAIT_S)
    loaded.config.generation.update(modes=[schemathesis.GenerationMode.POSITIVE,
                                           schemathesis.GenerationMode.NEGATIVE],
                                    max_examples=FUZZ_EXAMPLES, deterministic=True)
    loaded.hooks.register_hook_with_name(with_lone_surrogates, "flatmap_body")
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
        sent = json.dumps(case.body) if isinstance(case.body, (dict, list, str)) else ""
        if any(c in sent for c in ("\\ud800", "\\udfff", "\\ud83d")):
            SURROGATES[str(response.status_code)] += 1
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


def test_lone_surrogates_were_sent_and_refused():
    """Runs after the fuzz cases above (file order): the hook did send broken strings, all refused."""
    if not CALLS:
        pytest.skip("the fuzz cases did not run in this session")
    assert sum(SURROGATES.values()) > 0
    assert set(SURROGATES) <= {"422", "401", "413"}, SURROGATES
