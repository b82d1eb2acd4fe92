#!/usr/bin/env python3
"""`python scripts/check_course.py ...`: the course checks (the package scripts/check_course/, whose
docstring states every rule). This file only loads the package and re-exports its names, so tests
and older commands that load this file keep working.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent / "check_course"
if "course_checks" not in sys.modules:  # loaded by path: a module named check_course may be this file
    _spec = importlib.util.spec_from_file_location("course_checks", _PACKAGE / "__init__.py",
                                                   submodule_search_locations=[str(_PACKAGE)])
    _module = importlib.util.module_from_spec(_spec)
    sys.modules["course_checks"] = _module
    _spec.loader.exec_module(_module)  # type: ignore[union-attr]  # a .py path always has a loader
_checks = sys.modules["course_checks"]
globals().update({name: getattr(_checks, name) for name in _checks.__all__})

if __name__ == "__main__":
    sys.exit(_checks.main())
