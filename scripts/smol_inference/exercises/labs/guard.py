"""A time limit on the learner's code: an endless loop fails the check instead of hanging it.

`sys.settrace` in the calling thread sees every line the learner's function runs; past the deadline
the tracer raises `LabTimeout` from inside that line (Python's own debugger hooks, docs.python.org
"sys.settrace"). Pure Python only, which is what the labs ask for.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, TypeVar

from .settings import LEARNER_CALL_S

T = TypeVar("T")


class LabTimeout(BaseException):
    """The learner's code ran past its time limit (a BaseException: the engine's fault handlers, which
    catch Exception, must not turn it into one failed request)."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


def guarded(what: str, fn: Callable[..., T], *args: Any, limit_s: float = LEARNER_CALL_S) -> T:
    """`fn(*args)`, stopped with LabTimeout(what) if it runs longer than `limit_s` seconds."""
    deadline = time.monotonic() + limit_s

    def tracer(frame: Any, event: str, arg: Any) -> Any:
        if time.monotonic() > deadline:
            raise LabTimeout(what)
        return tracer

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        return fn(*args)
    finally:
        sys.settrace(previous)


class Guarded:
    """Wraps the learner's object: every attribute read and method call runs under `guarded`, and the
    first exception the learner's code raises is kept in `errors` (the engine may turn it into a failed
    request; the check reports the exception itself)."""

    def __init__(self, what: str, target: Any, errors: list[str]) -> None:
        self._what, self._target, self._errors = what, target, errors

    def __getattr__(self, name: str) -> Any:
        value = self._call(f"{self._what}.{name}", getattr, self._target, name)
        if not callable(value):
            return value
        return lambda *args, **kwargs: self._call(f"{self._what}.{name}", lambda: value(*args, **kwargs))

    def __call__(self, *args: Any) -> Any:
        return self._call(self._what, self._target, *args)

    def _call(self, what: str, fn: Callable[..., T], *args: Any) -> T:
        try:
            return guarded(what, fn, *args)
        except Exception as exc:
            if not self._errors:
                self._errors.append(f"{what}: {type(exc).__name__}: {exc}")
            raise
