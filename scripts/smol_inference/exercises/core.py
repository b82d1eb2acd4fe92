"""The exercise toolkit: `check()`, `hint()`, `solution()` and `fill()` for one notebook exercise.

Shaped like Kaggle Learn's learntools (`q1.check()`, `q1.hint()`, `q1.solution()`): a check reads the
learner's objects from the notebook's globals (passed in once, so it works in Jupyter, Colab and plain
Python), then

* prints "not done yet" when an object is missing (Chinese: "尚未完成"),
* raises AssertionError saying what is wrong and what to try for a wrong answer,
* prints "correct" (Chinese: "正确") for a right one.

`fill()` runs the worked solution in the notebook when the environment variable COURSE_SOLUTIONS=1
(CI runs every notebook once as shipped and once like that). README.md, "Exercises".
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import os
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from .config import ENV_SOLUTIONS, LANGUAGES

T = TypeVar("T")

TEXT = {
    "en": {"label": "Exercise {n}", "sep": ": ", "aside": " ({more}).", "not_done": "not done yet",
           "correct": "correct",
           "todo": "define {names} in the exercise cell, then run this check again",
           "more": "ex{n}.hint() gives a hint, ex{n}.solution() shows the worked solution",
           "filled": "filled from the worked solution (COURSE_SOLUTIONS=1)",
           "unfilled": "COURSE_SOLUTIONS=1 but {names} is missing: the cell did not call ex{n}.fill()",
           "hint": "Hint", "solution": "Worked solution (copy it into the exercise cell to run it):"},
    "zh": {"label": "练习 {n}", "sep": "：", "aside": "（{more}）。", "not_done": "尚未完成", "correct": "正确",
           "todo": "请在练习单元格中定义 {names}，然后再次运行本检查",
           "more": "ex{n}.hint() 给出提示，ex{n}.solution() 显示参考答案",
           "filled": "已由参考答案填写（COURSE_SOLUTIONS=1）",
           "unfilled": "设置了 COURSE_SOLUTIONS=1，但缺少 {names}：单元格没有调用 ex{n}.fill()",
           "hint": "提示", "solution": "参考答案（复制到练习单元格中运行）："},
}


class NotDone(Exception):
    """Raised inside a check when the learner's objects are not there yet."""

    def __init__(self, names: tuple[str, ...]) -> None:
        super().__init__(", ".join(names))
        self.names = names


def solutions_enabled() -> bool:
    """True when COURSE_SOLUTIONS=1: fill() runs the worked solutions."""
    return os.environ.get(ENV_SOLUTIONS, "") == "1"


def run_in_thread(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion on a fresh event loop in a worker thread and return its result.

    Jupyter already runs an event loop in the main thread, where `asyncio.run` is refused; a thread
    of its own works there, in Colab and in plain Python alike. Exceptions propagate to the caller.
    """
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(make())
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = exc

    worker = threading.Thread(target=target, name="exercise-async", daemon=True)
    worker.start()
    worker.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


def json_body(response: Any) -> dict:
    """An httpx response's JSON object, or {} when the body is not one (checks report the raw text)."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def run_code(code: str, namespace: dict[str, Any]) -> None:
    """Execute notebook code (top-level `await` allowed, as in Jupyter) in `namespace`."""
    compiled = compile(code, "<worked solution>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    if compiled.co_flags & inspect.CO_COROUTINE:
        run_in_thread(lambda: eval(compiled, namespace))  # noqa: S307 - the course's own solution code
    else:
        exec(compiled, namespace)  # noqa: S102 - the course's own solution code


@dataclass
class Exercise:
    """One exercise of a notebook. Subclasses set the class variables and write `_check`.

    `namespace` is the notebook's `globals()`; `number` is the exercise's number in its notebook;
    `language` ("en" or "zh") picks the language of every message.
    """

    namespace: dict[str, Any]
    number: int
    language: str = "en"

    #: The learner's objects the check reads, in the order the exercise asks for them.
    names: ClassVar[tuple[str, ...]] = ()
    #: {"en": ..., "zh": ...}: what to look at when stuck.
    hints: ClassVar[dict[str, str]] = {}
    #: The worked solution, as code a learner can paste into the exercise cell.
    solution_code: ClassVar[str] = ""

    def __post_init__(self) -> None:
        if not isinstance(self.namespace, dict):
            raise TypeError("pass the notebook's globals(): Exercise(globals(), 1)")
        if self.number < 1:
            raise ValueError(f"number must be >= 1, got {self.number}")
        if self.language not in LANGUAGES:
            raise ValueError(f"language must be one of {LANGUAGES}, got {self.language!r}")

    # ---- what the learner calls ------------------------------------------------------------
    def check(self) -> bool:
        """Test the learner's objects: True and a "correct" line, False and a "not done yet" line, or
        AssertionError for a wrong answer."""
        label, sep = self._text("label"), self._text("sep")
        try:
            self._check()
        except NotDone as missing:
            names = ("、" if self.language == "zh" else ", ").join(f"`{name}`" for name in missing.names)
            if solutions_enabled():
                raise AssertionError(f"{label}{sep}{self._text('unfilled', names=names)}") from None
            print(f"{label}{sep}{self._text('not_done')}{sep}{self._text('todo', names=names)}"
                  f"{self._text('aside', more=self._text('more'))}")
            return False
        except AssertionError as wrong:
            raise AssertionError(f"{label}{sep}{wrong}{self._text('aside', more=self._text('more'))}") from None
        print(f"{label}{sep}{self._text('correct')}{'.' if self.language == 'en' else '。'}")
        return True

    def hint(self) -> None:
        """Print the hint."""
        print(f"{self._text('hint')}{self._text('sep')}{self.hints[self.language]}")

    def solution(self) -> None:
        """Print the worked solution's code."""
        print(self._text("solution"))
        print(self.solution_code.strip("\n"))

    def fill(self) -> None:
        """With COURSE_SOLUTIONS=1, run the worked solution in the notebook; otherwise do nothing."""
        if solutions_enabled():
            run_code(self.solution_code, self.namespace)
            print(f"{self._text('label')}{self._text('sep')}{self._text('filled')}")

    # ---- what checks use -------------------------------------------------------------------
    def _check(self) -> None:
        raise NotImplementedError

    def learner(self) -> tuple[Any, ...]:
        """The learner's objects named in `names`, in order; NotDone lists the missing ones."""
        missing = tuple(name for name in self.names if name not in self.namespace)
        if missing:
            raise NotDone(missing)
        return tuple(self.namespace[name] for name in self.names)

    def given(self, name: str) -> Any:
        """An object the notebook defines before the exercise (MODEL, generator): a clear error if not."""
        if name not in self.namespace:
            raise RuntimeError(f"run the notebook's earlier cells first: `{name}` is not defined")
        return self.namespace[name]

    def expect(self, condition: object, en: str, zh: str) -> None:
        """Fail with the message in the notebook's language unless `condition` holds."""
        if not condition:
            raise AssertionError(zh if self.language == "zh" else en)

    def _text(self, key: str, **fields: Any) -> str:
        return TEXT[self.language][key].format(n=self.number, **fields)
