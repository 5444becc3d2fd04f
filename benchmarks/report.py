"""A section of the benchmark report: a table of measurements and targets with pass/fail."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path


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

    def write_into(self, path: Path) -> None:
        """Replace this section in the report at ``path`` (or append it), leaving the rest."""
        text = path.read_text() if path.exists() else "# keras-zoo benchmark results\n"
        block = self.markdown()
        pattern = re.compile(rf"^## {re.escape(self.title)}\n.*?(?=^## |\Z)", re.S | re.M)
        if pattern.search(text):
            text = pattern.sub(lambda _: block + "\n", text).rstrip() + "\n"
        else:
            text = text.rstrip() + "\n\n" + block
        path.write_text(text)


def _table(rows: list[list[str]]) -> list[str]:
    head, *body = rows
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] + [
        "| " + " | ".join(row) + " |" for row in body
    ]
