"""Running one lesson (in its own subprocess, see tests/lessons/test_lessons.py): its blocks in order, a JSON report.

``python`` blocks run in order in one namespace; a block marked ``<!-- no-run: reason -->`` is skipped
with its reason; shell blocks go to tests/support/lesson_shell.py. The first failing block stops the file.
"""

from __future__ import annotations

import json
import linecache
import tempfile
import time
import traceback
from dataclasses import asdict
from pathlib import Path

from lesson_report import PYTHON_LANGS, SHELL_LANGS, BlockResult, LessonReport, _check_course
from lesson_shell import ShellRunner


def run_lesson(path: Path, report_path: Path) -> int:
    """Run the blocks of one lesson; write the report as JSON after every block. 0 when all ran."""
    cc = _check_course()
    text = path.read_text(encoding="utf-8").replace("\r\n", "\n")
    _, blocks = cc.parse_markdown(text)
    report = LessonReport(path.name)
    namespace: dict = {"__name__": "__lesson__", "__file__": str(path)}
    workdir = Path(tempfile.mkdtemp(prefix="lesson-"))
    shell = None

    def save() -> None:
        report_path.write_text(json.dumps(asdict(report), indent=1), encoding="utf-8")

    try:
        for block in blocks:
            if block.lang not in PYTHON_LANGS | SHELL_LANGS:
                continue  # text, json, yaml ... are not code to run
            result = BlockResult(block.line, block.lang, "ran")
            report.blocks.append(result)
            if block.no_run is not None:
                result.status, result.reason = "skipped", block.no_run
                save()
                continue
            start = time.monotonic()
            result.status = "running"
            save()
            print(f"--- {path.name}:{block.line} [{block.lang}]", flush=True)
            try:
                if block.lang in PYTHON_LANGS:
                    # Padded with empty lines so that tracebacks name the lesson's own line numbers.
                    source = "\n" * block.line + block.code + "\n"
                    linecache.cache[path.name] = (len(text), None, text.splitlines(True), path.name)
                    exec(compile(source, path.name, "exec"), namespace)  # noqa: S102 - running the lesson is the point
                else:
                    if shell is None:
                        shell = ShellRunner(workdir)
                    reason = shell.plan(block.code)
                    if reason:
                        result.status, result.reason = "shell-not-run", reason
                    else:
                        shell.run_block(block.code)
                result.status = result.status if result.status == "shell-not-run" else "ran"
            except BaseException as exc:  # noqa: BLE001 - report, then stop the file
                result.status = "failed"
                result.reason = f"{type(exc).__name__}: {exc}"[:500]
                report.error = f"block at line {block.line} failed:\n{traceback.format_exc()}"
                break
            finally:
                result.seconds = round(time.monotonic() - start, 2)
                save()
    finally:
        if shell is not None:
            report.servers = shell.notes
            shell.stop()
        save()
    return 1 if report.error else 0
