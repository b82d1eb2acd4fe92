"""Tell a router from a server: TGI's own generation routes do not pass through the SGLang Model Gateway.

The gateway (PyPI `sglang-router`, 0.3.2 checked) forwards the OpenAI routes, but reads `POST /generate`
as SGLang's native body (`text`, `sampling_params`), dropping TGI's `inputs` and `parameters`, and has no
`POST /` or `/generate_stream`; the replica then answers a confusing 422 ("inputs: Field required") or
the gateway a bare 404. The gateway answers `GET /get_server_info` with its own fields (`router_manager`,
`workers_count`), which no engine sends, so a failed TGI call is re-raised as `GatewayRouteError`,
naming the gateway and the routes that work. Lesson 2, "Operate and scale".
"""

from __future__ import annotations

from typing import Any

from .errors import TGIError, ValidationError

#: The gateway's own info route and the keys only the gateway puts in it.
GATEWAY_INFO_ROUTE = "/get_server_info"
GATEWAY_INFO_KEYS = ("router_manager", "workers_count")
#: Statuses with which a TGI route fails behind the gateway (route missing, body not understood).
GATEWAY_FAILURE_STATUSES = (404, 405, 422)


class GatewayRouteError(ValidationError):
    """A TGI-only route (`generate`, `stream`) was called through a router that does not speak TGI."""


def is_gateway_info(payload: Any) -> bool:
    """True for the body of the SGLang Model Gateway's `GET /get_server_info`."""
    return isinstance(payload, dict) and any(key in payload for key in GATEWAY_INFO_KEYS)


def may_be_gateway_failure(error: TGIError) -> bool:
    return error.status in GATEWAY_FAILURE_STATUSES


def gateway_route_error(base_url: str, method: str, cause: TGIError) -> GatewayRouteError:
    message = (f"{base_url} is the SGLang Model Gateway (a router), not a TGI server: TGI's {method}() "
               f"(POST / and /generate with `inputs` and `parameters`) does not pass through it (it reads "
               f"/generate as SGLang's body and answered: {cause.message}). Use the OpenAI routes through the "
               f"gateway (client.chat(...), client.chat_stream(...)), or call {method}() on one replica's URL.")
    return GatewayRouteError(message, error_type="gateway_route", status=cause.status)
