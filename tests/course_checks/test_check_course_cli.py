"""scripts/check_course.py: the command (exit codes, --update-hash) and the real course, which must pass."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from check_course_helpers import (
    LESSON_EN,
    ROOT,
    SCRIPT,
    cc,
    errors,
)


def test_cli_exit_codes_and_report(course: Path) -> None:
    ok = subprocess.run([sys.executable, str(SCRIPT), "--root", str(course)], check=False, capture_output=True,
                        text=True, timeout=60)
    assert ok.returncode == 0, ok.stdout
    assert "OK: 0 error(s)" in ok.stdout and "lesson.md" in ok.stdout
    (course / "lesson_cn.md").unlink()
    bad = subprocess.run([sys.executable, str(SCRIPT), "--root", str(course)], check=False, capture_output=True,
                         text=True, timeout=60)
    assert bad.returncode == 1
    assert "missing twin" in bad.stdout and "FAILED" in bad.stdout


def test_cli_update_hash(course: Path) -> None:
    (course / "lesson.md").write_text(LESSON_EN + "\nNew.\n", encoding="utf-8")
    out = subprocess.run([sys.executable, str(SCRIPT), "--root", str(course), "--update-hash", "lesson_cn.md"],
                         check=False, capture_output=True, text=True, timeout=60, cwd=course)
    assert out.returncode == 0, out.stderr
    assert "lesson_cn.md: <!-- source: lesson.md@" in out.stdout and "still to fix" not in out.stdout
    assert not errors(course)
    (course / "lesson.md").write_text(LESSON_EN.replace("print(x)", "print(x * 2)"), encoding="utf-8")
    out = subprocess.run([sys.executable, str(SCRIPT), "--root", str(course), "--update-hash", "lesson_cn.md"],
                         check=False, capture_output=True, text=True, timeout=60, cwd=course)
    assert "still to fix in lesson_cn.md: code block 1" in out.stdout
    refused = subprocess.run([sys.executable, str(SCRIPT), "--root", str(course), "--update-hash", "lesson.md"],
                             check=False, capture_output=True, text=True, timeout=60, cwd=course)
    assert refused.returncode != 0 and "takes the Chinese file" in refused.stderr


def test_real_course_passes() -> None:
    report = cc.run_checks(ROOT)
    print(report.render())
    assert report.ok, report.render()


def test_real_course_headers_are_current() -> None:
    """The regenerate-then-empty-diff gate: --update-hash would not change any committed header."""
    for en in cc.english_sources(ROOT):
        zh = cc.zh_twin(en)
        if zh.exists():
            assert cc.read_header(zh) == cc.header_line(zh, ROOT), f"run --update-hash {zh.relative_to(ROOT)}"
