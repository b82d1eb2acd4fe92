"""A JSON body sent with another `Content-Type`, or none, gets 415 on every POST route, as TGI answers
(axum's `Json` extractor); `application/json; charset=utf-8` and `application/*+json` are JSON.
The course server and the lesson-1 web app answer in their `{"error", "error_type"}` shape."""

from __future__ import annotations

import json

import httpx
import pytest

from conftest import WAIT_S

BODIES = {
    "/generate": {"inputs": "Hi", "parameters": {"max_new_tokens": 2}},
    "/generate_stream": {"inputs": "Hi", "parameters": {"max_new_tokens": 2}},
    "/": {"inputs": "Hi", "parameters": {"max_new_tokens": 2}},
    "/tokenize": {"inputs": "Hi"},
    "/chat_tokenize": {"messages": [{"role": "user", "content": "Hi"}]},
    "/invocations": {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2},
    "/v1/chat/completions": {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2},
    "/v1/completions": {"prompt": "Hi", "max_tokens": 2},
}
NOT_JSON = ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None]
JSON_TYPES = ["application/json", "application/json; charset=utf-8", "Application/JSON", "application/vnd.api+json"]


def post(url: str, path: str, content_type: str | None) -> httpx.Response:
    headers = {"content-type": content_type} if content_type else {}
    with httpx.Client(base_url=url, timeout=WAIT_S) as client:
        request = client.build_request("POST", path, content=json.dumps(BODIES.get(path, {})).encode(),
                                       headers=headers)
        if content_type is None:
            request.headers.pop("content-type", None)
        return client.send(request)


@pytest.mark.parametrize("content_type", NOT_JSON, ids=str)
@pytest.mark.parametrize("path", list(BODIES))
def test_server_answers_415_to_a_body_not_sent_as_json(server, path, content_type):
    response = post(server.url, path, content_type)
    assert response.status_code == 415, response.text
    assert response.json() == {"error": "Expected request with `Content-Type: application/json`",
                               "error_type": "unsupported_media_type"}


@pytest.mark.parametrize("content_type", JSON_TYPES)
@pytest.mark.parametrize("path", ["/generate", "/v1/chat/completions", "/tokenize"])
def test_server_reads_every_json_content_type(server, path, content_type):
    assert post(server.url, path, content_type).status_code == 200


def test_unknown_post_path_stays_404(server):
    assert post(server.url, "/no-such-route", "text/plain").status_code == 404


def test_web_app_answers_415_and_reads_json_with_a_charset(tiny_model):
    from smol_inference.pipeline import load_generator
    from smol_inference.webapp import BackgroundServer, create_app
    from smol_inference import settings

    with BackgroundServer(create_app(load_generator(settings.TINY_MODEL))) as app:
        for path in ("/generate", "/generate_stream"):
            for content_type in NOT_JSON:
                response = post(app.url, path, content_type)
                assert response.status_code == 415 and response.json()["error_type"] == "unsupported_media_type"
            assert post(app.url, path, "application/json; charset=utf-8").status_code == 200
