"""How a job's parameters and result read on its page. Pure functions over the stored JSON.

An ``import`` result is the :class:`~guanxi.ingest.report.ImportReport` (shown
like the import batch page); a ``pipeline`` result is one section per step;
any other kind's result — a plugin's too — is laid out generically: top-level
scalars as facts, a list of sentences (warnings …) as a bulleted list, a mapping
of scalars as a two-column table, a list of mappings (or a mapping of mappings)
as a table with one column per key; timings (``*seconds``, ``timings``) are
folded away. Deeper values are shown as compact JSON, so no result ever fails
to render.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from guanxi.ingest.jobs import report_from_dict
from guanxi.ingest.report import ImportReport

Scalar = str | int | float | bool | None


@dataclass(frozen=True)
class ResultTable:
    """A table of a result: ``key`` names it (a catalogue word ``jobs.field.<key>`` when there is one)."""

    key: str
    columns: list[str]
    rows: list[list[Any]]

    @property
    def numeric(self) -> list[bool]:
        """Per column: whether every value in it is a number (the column is right-aligned)."""
        return [
            bool(self.rows) and all(_is_number(row[i]) or row[i] is None for row in self.rows)
            for i in range(len(self.columns))
        ]

    @property
    def folded(self) -> bool:
        """Timings: shown folded (``<details>``), they matter less than the counts."""
        return self.key == "timings" or self.key.endswith("seconds")


@dataclass(frozen=True)
class ResultSection:
    """One part of a result: the output of ``kind`` as an import report, or as facts and tables."""

    kind: str
    report: ImportReport | None = None
    facts: list[tuple[str, Any]] = field(default_factory=list)
    lists: list[tuple[str, list[str]]] = field(default_factory=list)
    tables: list[ResultTable] = field(default_factory=list)


def _is_scalar(value: object) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


SENTENCE = 40
"""A list holding a string longer than this is shown as a bulleted list, not joined on one line."""


def compact(value: object) -> Any:
    """A scalar as is; a list of scalars joined by commas (``—`` when empty); anything deeper as one line of JSON."""
    if _is_scalar(value):
        return value
    if isinstance(value, list | tuple) and all(_is_scalar(v) for v in value):
        if not value:
            return "—"
        return ", ".join("—" if v is None else str(v) for v in value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _columns(rows: list[Mapping[str, Any]]) -> list[str]:
    seen: dict[str, None] = {}
    for row in rows:
        seen.update(dict.fromkeys(row))
    return list(seen)


def generic_section(kind: str, result: Mapping[str, Any]) -> ResultSection:
    """Facts and tables of any result (see the module docstring)."""
    facts: list[tuple[str, Any]] = []
    lists: list[tuple[str, list[str]]] = []
    tables: list[ResultTable] = []
    for key, value in result.items():
        if (
            isinstance(value, list)
            and all(_is_scalar(v) for v in value)
            and any(isinstance(v, str) and len(v) > SENTENCE for v in value)
        ):
            lists.append((key, ["—" if v is None else str(v) for v in value]))
        elif _is_scalar(value) or (isinstance(value, list) and all(_is_scalar(v) for v in value)):
            facts.append((key, compact(value)))
        elif isinstance(value, list) and all(isinstance(v, Mapping) for v in value):
            if value:
                columns = _columns(value)
                tables.append(
                    ResultTable(key, columns, [[compact(r.get(c)) for c in columns] for r in value])
                )
            else:
                facts.append((key, "—"))
        elif isinstance(value, Mapping) and value and all(isinstance(v, Mapping) for v in value.values()):
            inner = _columns(list(value.values()))
            rows = [[name, *(compact(row.get(c)) for c in inner)] for name, row in value.items()]
            tables.append(ResultTable(key, ["name", *inner], rows))
        elif isinstance(value, Mapping):
            if value:
                tables.append(
                    ResultTable(key, ["name", "value"], [[k, compact(v)] for k, v in value.items()])
                )
            else:
                facts.append((key, "—"))
        else:
            facts.append((key, compact(value)))
    return ResultSection(kind, facts=facts, lists=lists, tables=tables)


def result_sections(kind: str, result: Mapping[str, Any] | None) -> list[ResultSection]:
    """The sections of a job's result, in order; none for a job without a result."""
    if result is None:
        return []
    if kind == "import":
        return [ResultSection(kind, report=report_from_dict(dict(result)))]
    steps = result.get("steps")
    if kind == "pipeline" and isinstance(steps, list):
        sections: list[ResultSection] = []
        for step in steps:
            if isinstance(step, Mapping) and isinstance(step.get("result"), Mapping):
                sections.extend(result_sections(str(step.get("kind", "")), step["result"]))
        return sections
    return [generic_section(kind, result)]


def shown_params(params: Mapping[str, Any], data_dir: Path) -> list[tuple[str, Any]]:
    """The parameters given, as ``(key, text)``: files under ``data_dir`` relative to it, pipeline steps as ``a → b``.

    Parameters left at ``None`` (a kind's "not given") are left out.
    """
    shown: list[tuple[str, Any]] = []
    root = data_dir.absolute()
    for key, value in params.items():
        if value is None:
            continue
        if key == "steps" and isinstance(value, list):
            shown.append((key, " → ".join(_step_text(step) for step in value)))
        elif isinstance(value, str) and key in {"path", "mapping", "rules", "config"}:
            path = Path(value)
            shown.append((key, str(path.relative_to(root)) if path.is_relative_to(root) else value))
        else:
            shown.append((key, compact(value)))
    return shown


def _step_text(step: object) -> str:
    if not isinstance(step, Mapping):
        return str(step)
    params = step.get("params") or {}
    given = ", ".join(f"{k}={compact(v)}" for k, v in params.items() if v not in (None, False, [], {}))
    return f"{step.get('kind')}({given})" if given else str(step.get("kind"))


def percent(done: int, total: int) -> int:
    """How far, 0–100 (0 when nothing is known yet)."""
    if total <= 0:
        return 0
    return max(0, min(100, round(100 * done / total)))


__all__ = [
    "ResultSection",
    "ResultTable",
    "compact",
    "generic_section",
    "percent",
    "result_sections",
    "shown_params",
]
