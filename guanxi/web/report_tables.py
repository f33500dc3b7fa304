"""Any JSON-able report (such as the data-quality report) laid out as titled tables.

The layout is decided from the data's shape alone, so a new section in a
report appears on the page without a template change:

* ``{"sections": {key: {"title": …, "rows": [row dicts]}}}`` → one table per section;
* a list of row dicts → a table whose columns are the union of the rows' keys
  in first-seen order;
* a dict of plain values → a two-column key/value table;
* a plain value → a single line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ReportTable:
    key: str
    title: str
    columns: list[str] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    value: Any = None
    """Set when the section is a single value (``is_table`` false)."""
    is_table: bool = True


def _is_plain(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def table_of(key: str, title: str, data: Any) -> ReportTable:
    """One section's data as a table (see the module docstring)."""
    if isinstance(data, Mapping) and "rows" in data and isinstance(data["rows"], list):
        return table_of(key, str(data.get("title") or title), data["rows"])
    if isinstance(data, list) and all(isinstance(row, Mapping) for row in data):
        columns: list[str] = []
        for row in data:
            columns.extend(name for name in row if name not in columns)
        return ReportTable(key, title, columns, [[row.get(name) for name in columns] for row in data])
    if isinstance(data, list):
        return ReportTable(key, title, ["value"], [[item] for item in data])
    if isinstance(data, Mapping):
        return ReportTable(key, title, ["name", "value"], [[name, value] for name, value in data.items()])
    return ReportTable(key, title, value=data, is_table=False)


def report_sections(report: Mapping[str, Any]) -> tuple[dict[str, Any], list[ReportTable]]:
    """``(plain top-level facts, tables)`` of ``report``."""
    facts = {name: value for name, value in report.items() if _is_plain(value)}
    tables: list[ReportTable] = []
    for name, value in report.items():
        if _is_plain(value):
            continue
        if name == "sections" and isinstance(value, Mapping):
            tables.extend(table_of(key, key, section) for key, section in value.items())
        elif name == "sections" and isinstance(value, list):
            tables.extend(
                table_of(str(section.get("key", i)), str(section.get("title", "")), section)
                for i, section in enumerate(value)
                if isinstance(section, Mapping)
            )
        else:
            tables.append(table_of(name, name, value))
    return facts, tables
