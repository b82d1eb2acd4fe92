"""Notebook hygiene and the exercise layout.

Hygiene: valid nbformat 4, kernelspec python3, no stored outputs or execution counts.
Exercise layout (smol_inference.exercises): each section headed "Exercise N" / "练习 N" (up to the next
heading of the same or a higher level) holds a learner cell whose last code line is `exN.fill()` (lines
before it may set the exercise's givens; after it only comments), then a check cell that is just
`exN.check()` (comments aside), and no other code cell: worked solutions live in the package and are
shown by `exN.solution()`, never in a code cell.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from .code_compare import normalise_code
from .config import CHECK_CALL, EXERCISE_RE, FILL_CALL, HEADING_RE, KERNELSPEC
from .documents import cell_source, parse_markdown
from .paths import rel
from .report import Report


@dataclass
class Section:
    """One exercise section: its heading and the code cells in it, as (cell number, code lines)."""

    level: int
    cell: int
    title: str
    number: int
    code: list[tuple[int, list[str]]] = field(default_factory=list)


def check_notebook(path: Path, root: Path, report: Report) -> None:
    name = rel(path, root)
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        report.error(name, f"not valid notebook JSON: {exc}")
        return
    try:
        import nbformat

        nbformat.validate(nbformat.reads(path.read_text(encoding="utf-8"), as_version=4))
    except ImportError:
        pass
    except Exception as exc:  # noqa: BLE001 - nbformat raises several kinds
        report.error(name, f"not a valid notebook (nbformat): {str(exc).splitlines()[0][:200]}")
    if nb.get("nbformat") != 4:
        report.error(name, f"nbformat must be 4, is {nb.get('nbformat')}")
    spec = nb.get("metadata", {}).get("kernelspec")
    if spec != KERNELSPEC:
        report.error(name, f"kernelspec must be {KERNELSPEC}, is {spec}")
    cells = nb.get("cells", [])
    for n, cell in enumerate(cells):
        if cell.get("cell_type") == "code":
            if cell.get("outputs"):
                report.error(name, f"cell {n}: stored outputs (run --strip-notebooks)")
            if cell.get("execution_count") is not None:
                report.error(name, f"cell {n}: stored execution count (run --strip-notebooks)")
    for section in exercise_sections(cells):
        check_exercise(section, name, report)


def exercise_sections(cells: list[dict]) -> list[Section]:
    """Exercise sections in order: from an "Exercise N" heading to the next heading of its level or above."""
    sections: list[Section] = []
    current: Section | None = None
    for n, cell in enumerate(cells):
        src = cell_source(cell)
        if cell.get("cell_type") == "markdown":
            prose, _ = parse_markdown(src)
            for _, line in prose:
                h = HEADING_RE.match(line)
                if not h or not h["text"]:
                    continue
                level = len(h["hashes"])
                if current and level <= current.level:
                    current = None
                exercise = EXERCISE_RE.match(h["text"].strip())
                if exercise and current is None:
                    current = Section(level, n, h["text"].strip(), int(exercise[2]))
                    sections.append(current)
        elif cell.get("cell_type") == "code" and current is not None:
            current.code.append((n, normalise_code(src, "python").split("\n")))
    return sections


def check_exercise(section: Section, name: str, report: Report) -> None:
    """A learner cell ending in exN.fill(), then a check cell exN.check(), nothing else."""
    fill, check = FILL_CALL.format(n=section.number), CHECK_CALL.format(n=section.number)
    where = f"cell {section.cell}: exercise section {section.title!r}"
    learner = [n for n, lines in section.code if lines and lines[-1].strip() == fill]
    checks = [n for n, lines in section.code if [line.strip() for line in lines] == [check]]
    if not learner:
        report.error(name, f"{where} has no learner cell (a code cell whose last code line is {fill}, "
                           "followed only by comments)")
    if not checks:
        report.error(name, f"{where} has no check cell (a code cell with just {check})")
    if learner and checks and checks[0] < learner[0]:
        report.error(name, f"{where}: the check cell comes before the learner cell")
    for n, lines in section.code:
        if n in learner or n in checks:
            continue
        report.error(name, f"cell {n}: code in exercise section {section.title!r} besides the learner and "
                           f"check cells (a worked solution belongs in smol_inference.exercises, shown by "
                           f"ex{section.number}.solution())")
    for n in learner:
        lines = dict(section.code)[n]
        if any(re.search(r"\bex\d+\.(check|solution|hint)\(", line) for line in lines):
            report.error(name, f"cell {n}: the learner cell of {section.title!r} calls the checks itself")
