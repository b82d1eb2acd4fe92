"""What the lesson runner reports per block, and the Markdown parser it shares with scripts/check_course.py."""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHON_LANGS = {"python", "py", "python3"}
SHELL_LANGS = {"bash", "sh", "shell", "console"}


def _check_course():
    """scripts/check_course.py, for its Markdown parser (the same one the parity check uses)."""
    if "check_course" not in sys.modules:
        spec = importlib.util.spec_from_file_location("check_course", ROOT / "scripts" / "check_course.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["check_course"] = module
        spec.loader.exec_module(module)  # type: ignore[union-attr]  # a .py path always has a loader
    return sys.modules["check_course"]


@dataclass
class BlockResult:
    line: int
    lang: str
    status: str  # ran | skipped | shell-not-run | failed
    reason: str = ""
    seconds: float = 0.0


@dataclass
class LessonReport:
    file: str
    blocks: list[BlockResult] = field(default_factory=list)
    error: str = ""
    servers: list[str] = field(default_factory=list)

    def count(self, status: str, langs: set[str] | None = None) -> int:
        return sum(b.status == status and (langs is None or b.lang in langs) for b in self.blocks)

    def summary(self) -> str:
        ran_py = self.count("ran", PYTHON_LANGS)
        ran_sh = self.count("ran", SHELL_LANGS)
        lines = [f"{self.file}: python blocks run {ran_py}, shell blocks run {ran_sh}, "
                 f"skipped {self.count('skipped')}, shell not run {self.count('shell-not-run')}"
                 + (", FAILED" if self.error else "")]
        for b in self.blocks:
            if b.status != "ran":
                lines.append(f"    line {b.line:>4} [{b.lang}] {b.status}: {b.reason}")
        lines += [f"    {s}" for s in self.servers]
        return "\n".join(lines)
