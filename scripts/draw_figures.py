"""Draw lesson 2's figures from their recorded data (`make figures`); see scripts/course_figures/."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from course_figures.draw import main

if __name__ == "__main__":
    raise SystemExit(main())
