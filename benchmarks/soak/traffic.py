"""The soak's request mix: one request of each kind (blocking, stream, chat, dropped stream, invalid,
not JSON) and its single outcome: answered, cancelled by the client, rejected with TGI's error shape, or lost.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

KINDS = ("blocking", "blocking", "stream", "stream", "chat", "chat_stream", "cancel", "cancel", "invalid",
         "malformed")


def body_for(kind: str, i: int, max_new: int) -> dict[str, Any]:
    params = {"max_new_tokens": 1 + i % max_new, "do_sample": i % 3 == 0, "seed": i}
    if kind in ("chat", "chat_stream", "cancel"):                # the chat template: a real answer, no early eos
        return {"messages": [{"role": "user", "content": f"What is {i % 10} plus {i % 7}?"}],
                "max_tokens": max_new if kind == "cancel" else params["max_new_tokens"], "seed": i,
                "stream": kind != "chat"}
    if kind == "invalid":
        params[("top_p", "temperature", "max_new_tokens", "top_k")[i % 4]] = (2.0, -1.0, 0, 0)[i % 4]
    return {"inputs": f"What is {i % 10} plus {i % 7}?", "parameters": params}


def rejected(response: httpx.Response, wanted: set[str]) -> str:
    try:
        kind = response.json()["error_type"]
    except (ValueError, KeyError, TypeError):
        return "lost"
    return f"rejected:{kind}" if kind in wanted and 400 <= response.status_code < 500 else "lost"


async def one(client: httpx.AsyncClient, kind: str, i: int, max_new: int) -> str:
    """Send request `i` of `kind`; return its single outcome."""
    if kind == "malformed":
        bad = (b"{not json", b'{"inputs": "\xff\xfe"}', b"[1, 2]", b'{"inputs": 5}')[i % 4]
        response = await client.post("/generate", content=bad, headers={"content-type": "application/json"})
        return rejected(response, {"validation", "overloaded"})
    if kind in ("blocking", "invalid", "chat"):
        path = "/v1/chat/completions" if kind == "chat" else "/generate"
        response = await client.post(path, json=body_for(kind, i, max_new))
        if response.status_code == 200 and kind != "invalid":
            data = response.json()
            ok = "generated_text" in data or len(data.get("choices", [])) == 1
            return "answered" if ok else "lost"
        return rejected(response, {"validation", "overloaded"} if kind == "invalid" else {"overloaded"})
    path = "/generate_stream" if kind == "stream" else "/v1/chat/completions"
    async with client.stream("POST", path, json=body_for(kind, i, max_new)) as response:
        if response.status_code != 200:
            await response.aread()
            return rejected(response, {"overloaded"})
        finals = errors = done = 0
        async for line in response.aiter_lines():
            if not line.startswith("data:"):
                continue
            if line[5:].strip() == "[DONE]":
                done += 1
                continue
            event = json.loads(line[5:])
            errors += "error" in event
            finals += is_final(event)
            if kind == "cancel":                 # drop the stream after its first token
                return "cancelled" if not finals and not errors else "answered"
        complete = finals == 1 and not errors and done == (kind != "stream")
        return "answered" if complete else "lost"


def is_final(event: dict[str, Any]) -> bool:
    """The event that ends an answer: TGI's carries generated_text, OpenAI's a finish_reason."""
    if "choices" in event:
        return any(choice.get("finish_reason") for choice in event["choices"])
    return event.get("generated_text") is not None
