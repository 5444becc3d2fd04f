"""A section of the benchmark report: a table of measurements and targets with pass/fail."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Section:
    title: str
    rows: list[list[str]] = field(default_factory=list)
    targets: list[tuple[str, bool, str]] = field(default_factory=list)
    notes: str = ""

    def markdown(self) -> str:
        lines = [f"## {self.title}", ""]
        if self.rows:
            lines += _table(self.rows)
        if self.notes:
            lines += ["", self.notes]
        if self.targets:
            lines += ["", "| target | measured | result |", "|---|---|---|"]
            lines += [f"| {t} | {m} | {'PASS' if ok else 'FAIL'} |" for t, ok, m in self.targets]
        return "\n".join(lines) + "\n"


def _table(rows: list[list[str]]) -> list[str]:
    head, *body = rows
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] + [
        "| " + " | ".join(row) + " |" for row in body
    ]
