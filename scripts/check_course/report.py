"""The report every check writes to: errors fail the run, warnings are printed only."""

from __future__ import annotations

from dataclasses import dataclass, field

@dataclass
class Report:
    """Errors fail the check; warnings are printed only. Each entry is (file, message)."""

    errors: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    parity: dict[str, str] = field(default_factory=dict)
    pages: dict[str, tuple[int, int]] = field(default_factory=dict)  # lesson page -> (words, python blocks)

    def error(self, file: str, message: str) -> None:
        self.errors.append((file, message))

    def warn(self, file: str, message: str) -> None:
        self.warnings.append((file, message))

    @property
    def ok(self) -> bool:
        return not self.errors

    def render(self) -> str:
        lines = ["Course check (scripts/check_course.py)", "", "Translation pairs:"]
        for en, status in sorted(self.parity.items()):
            lines.append(f"  {en:<48} {status}")
        if not self.parity:
            lines.append("  (none yet)")
        if self.pages:
            lines += ["", "Lesson pages (words, python blocks):"]
            lines += [f"  {page:<48} {words:>5} words {blocks:>2} python blocks"
                      for page, (words, blocks) in self.pages.items()]
        for title, entries in (("Errors", self.errors), ("Warnings", self.warnings)):
            if entries:
                lines += ["", f"{title} ({len(entries)}):"]
                lines += [f"  {file}: {msg}" for file, msg in entries]
        lines += ["", (f"{'OK' if self.ok else 'FAILED'}: {len(self.errors)} error(s), "
                      f"{len(self.warnings)} warning(s)")]
        return "\n".join(lines)
