"""The `course` fixture of the check_course tests: a small valid course in tmp_path
(support/check_course_helpers.py)."""

from __future__ import annotations

from check_course_helpers import course

__all__ = ["course"]  # pytest finds a conftest's fixtures by name
