"""The sync and async clients offer the same public API: same methods, same parameters, same defaults.

`TGIClient` and `AsyncTGIClient` share their request rules (smol_inference/client/core.py), but each
writes its own methods; this test fails when one gains, loses or changes a public method the other
does not. The only intended differences are listed in INTENDED_RENAMES, each with its reason, and the
async forms themselves (a coroutine for a plain method, an async generator for a generator, an
AsyncIterator for an Iterator). A second test feeds the comparison plausible drifts to prove it sees them.
"""

from __future__ import annotations

import asyncio
import inspect
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from smol_inference.client import AsyncTGIClient, TGIClient

#: sync name -> (async name, why they differ). Nothing else may differ.
INTENDED_RENAMES: dict[str, tuple[str, str]] = {
    "close": ("aclose", "asyncio's convention (httpx.AsyncClient.aclose, contextlib.aclosing): a coroutine "
                        "named close() would be easy to call without await, closing nothing"),
    "__enter__": ("__aenter__", "`async with` calls __aenter__; a plain `with` on an async client would "
                                "skip the awaited close"),
    "__exit__": ("__aexit__", "the other half of `async with`: it awaits aclose()"),
}
#: Dunder methods that are part of the public API (the rest of a class's dunders come from `object`).
PUBLIC_DUNDERS = ("__init__", "__repr__", "__enter__", "__exit__", "__aenter__", "__aexit__")
#: Return annotations the async twin writes differently, as (sync pattern, async replacement).
ASYNC_ANNOTATIONS = ((r"\bIterator\[", "AsyncIterator["), (r"\bTGIClient\b", "AsyncTGIClient"))


def public_methods(cls: type) -> dict[str, Any]:
    return {name: member for name, member in inspect.getmembers(cls, inspect.isfunction)
            if not name.startswith("_") or name in PUBLIC_DUNDERS}


def async_annotation(annotation: Any) -> Any:
    """The annotation the async twin should carry for a sync one (annotations are strings here)."""
    if not isinstance(annotation, str):
        return annotation
    for pattern, replacement in ASYNC_ANNOTATIONS:
        annotation = re.sub(pattern, replacement, annotation)
    return annotation


def kind_mismatch(sync_fn: Any, async_fn: Any) -> str | None:
    """Why `async_fn` is not the async form of `sync_fn`, or None when it is."""
    if sync_fn is async_fn:
        return None  # inherited by both from the shared core: the same function
    if inspect.isgeneratorfunction(sync_fn):
        return None if inspect.isasyncgenfunction(async_fn) else "a generator whose twin is no async generator"
    if inspect.iscoroutinefunction(async_fn) or sync_fn.__name__ in ("__init__", "__repr__"):
        return None
    return "a method whose async twin is not a coroutine function"


def api_differences(sync_cls: type, async_cls: type,
                    renames: dict[str, tuple[str, str]] = INTENDED_RENAMES) -> list[str]:
    """Every way `async_cls`'s public API differs from `sync_cls`'s beyond `renames` and the async forms."""
    sync_methods, async_methods = public_methods(sync_cls), public_methods(async_cls)
    expected = {renames.get(name, (name, ""))[0]: name for name in sync_methods}
    problems = [f"{name}: only on {async_cls.__name__}" for name in sorted(set(async_methods) - set(expected))]
    problems += [f"{expected[name]}: no {name} on {async_cls.__name__}"
                 for name in sorted(set(expected) - set(async_methods))]
    for async_name, sync_name in sorted(expected.items()):
        if async_name not in async_methods:
            continue
        sync_fn, async_fn = sync_methods[sync_name], async_methods[async_name]
        if (why := kind_mismatch(sync_fn, async_fn)) is not None:
            problems.append(f"{sync_name}: {why}")
        sync_sig, async_sig = inspect.signature(sync_fn), inspect.signature(async_fn)
        want = [(p.name, p.kind, p.default, async_annotation(p.annotation)) for p in sync_sig.parameters.values()]
        got = [(p.name, p.kind, p.default, p.annotation) for p in async_sig.parameters.values()]
        if want != got:
            problems.append(f"{sync_name}: parameters {sync_sig} vs {async_name}{async_sig}")
        if async_annotation(sync_sig.return_annotation) != async_sig.return_annotation:
            problems.append(f"{sync_name}: returns {sync_sig.return_annotation!r} vs "
                            f"{async_sig.return_annotation!r}")
        if (sync_fn.__doc__ is None) != (async_fn.__doc__ is None):
            problems.append(f"{sync_name}: documented on one client only")
    return problems


def test_sync_and_async_clients_offer_the_same_methods_and_signatures() -> None:
    assert api_differences(TGIClient, AsyncTGIClient) == []
    # Every intended rename is still real (a stale entry would hide a later drift under that name).
    for sync_name, (async_name, reason) in INTENDED_RENAMES.items():
        assert hasattr(TGIClient, sync_name) and hasattr(AsyncTGIClient, async_name), (sync_name, async_name)
        assert not hasattr(AsyncTGIClient, sync_name), f"{sync_name} is on the async client too: {reason}"
        assert reason


def test_sync_and_async_clients_expose_the_same_public_attributes() -> None:
    url = "http://127.0.0.1:9"  # never contacted: constructing a client opens no connection
    sync_client, async_client = TGIClient(url), AsyncTGIClient(url)
    try:
        public = {name for name in vars(sync_client) if not name.startswith("_")}
        assert public == {name for name in vars(async_client) if not name.startswith("_")}
        assert {"base_url", "timeout", "retry", "hub"} <= public
        assert (sync_client.base_url, sync_client.timeout, sync_client.retry) == (
            async_client.base_url, async_client.timeout, async_client.retry)
        assert repr(sync_client) == f"TGIClient({url!r})" and repr(async_client) == f"AsyncTGIClient({url!r})"
    finally:
        sync_client.close()
        asyncio.run(async_client.aclose())


# -- plausible drifts, each of which the comparison must report --------------------------------------
class _Sync:
    def __init__(self, base_url: str | None = None, *, timeout: float = 1.0) -> None: ...

    def info(self) -> dict[str, Any]:
        """Info."""
        return {}

    def stream(self, prompt: str) -> Iterator[str]:
        """Pieces."""
        yield prompt

    def close(self) -> None: ...


def _drifted(**overrides: Any) -> type:
    """An async twin of `_Sync`, correct except for `overrides` (None deletes a method)."""
    async def info(self) -> dict[str, Any]:
        """Info."""
        return {}

    async def stream(self, prompt: str) -> AsyncIterator[str]:
        """Pieces."""
        yield prompt

    async def aclose(self) -> None: ...

    def init(self, base_url: str | None = None, *, timeout: float = 1.0) -> None: ...

    namespace = {"__init__": init, "info": info, "stream": stream, "aclose": aclose}
    namespace.update(overrides)
    return type("_Async", (), {k: v for k, v in namespace.items() if v is not None})


def _default_changed(self, base_url: str | None = None, *, timeout: float = 2.0) -> None: ...


def _not_a_coroutine(self) -> dict[str, Any]:
    """Info."""
    return {}


async def _coroutine_not_generator(self, prompt: str) -> AsyncIterator[str]:
    """Pieces."""
    raise NotImplementedError


async def _parameter_renamed(self, text: str) -> AsyncIterator[str]:
    """Pieces."""
    yield text


async def _sync_return_kept(self, prompt: str) -> Iterator[str]:
    """Pieces."""
    yield prompt


async def _undocumented(self) -> dict[str, Any]:
    return {}


async def _extra(self) -> None: ...


async def _close(self) -> None: ...


@pytest.mark.parametrize(("overrides", "reported"), [
    ({}, None),
    ({"info": None}, "info: no info"),
    ({"extra": _extra}, "extra: only on"),
    ({"aclose": None, "close": _close}, "close: no aclose"),
    ({"__init__": _default_changed}, "__init__: parameters"),
    ({"info": _not_a_coroutine}, "info: a method whose async twin is not a coroutine"),
    ({"stream": _coroutine_not_generator}, "stream: a generator whose twin is no async generator"),
    ({"stream": _parameter_renamed}, "stream: parameters"),
    ({"stream": _sync_return_kept}, "stream: returns"),
    ({"info": _undocumented}, "info: documented on one client only"),
], ids=["twin", "missing", "extra", "close-not-renamed", "default-changed", "not-a-coroutine",
        "coroutine-for-generator", "parameter-renamed", "iterator-not-async", "doc-on-one-side"])
def test_the_comparison_reports_each_plausible_drift(overrides: dict[str, Any], reported: str | None) -> None:
    problems = api_differences(_Sync, _drifted(**overrides))
    if reported is None:
        assert problems == []
    else:
        assert any(problem.startswith(reported) for problem in problems), problems
