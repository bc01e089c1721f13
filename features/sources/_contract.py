"""The shape of a source contract: a table is a list of typed columns with meanings and rules."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["string", "integer", "number", "date", "category"]


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    meaning: str
    required: bool = False
    allowed: tuple[str, ...] = ()  # for categories
    minimum: float | None = None
    maximum: float | None = None
    date_format: str = "%Y-%m-%d"

    def describe_rule(self) -> str:
        rules = ["required" if self.required else "may be blank"]
        if self.allowed:
            rules.append("one of " + ", ".join(f"`{a}`" if a else "blank" for a in self.allowed))
        if self.minimum is not None:
            rules.append(f">= {self.minimum:g}")
        if self.maximum is not None:
            rules.append(f"<= {self.maximum:g}")
        if self.kind == "date":
            rules.append("format " + self.date_format.replace("%Y", "yyyy").replace("%m", "mm").replace("%d", "dd"))
        return "; ".join(rules)


@dataclass(frozen=True)
class Table:
    system: str  # the extract's folder name, e.g. "council_tax"
    name: str  # the table within it, e.g. "accounts"
    meaning: str
    key: str  # the system's own record key; unique
    columns: tuple[Column, ...]
    file_format: Literal["csv", "parquet"] = "csv"
    knowledge_date: str | None = None  # when the council learnt of a row (posting date), for point-in-time work
    references: dict[str, str] = field(default_factory=dict)  # column -> "system/table" it points into

    @property
    def path(self) -> str:
        return f"{self.system}/{self.name}"

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)
