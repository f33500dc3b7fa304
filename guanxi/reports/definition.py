"""What a report is: a named table computed in the warehouse, with its columns described.

A :class:`ReportDefinition` is what the ``register_reports`` hook returns. Its
``build`` turns the warehouse connection, the settings and the
:class:`ReportParams` into one Ibis table whose columns are exactly the
definition's ``columns`` (extra ones are dropped, a missing one is an error);
only the result rows travel to Python. Titles and column headings are given
per language (``zh-CN`` first; ``en`` where a person may ask for English).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

import ibis.expr.types as ir
from ibis.backends import BaseBackend

from guanxi.config import Settings

ColumnKind = Literal["text", "date", "count", "money", "number", "share"]
"""How a column is shown: ``count`` whole numbers, ``money`` in the settings' currency, ``share`` 0–1."""

FIRST_LOCALE = "zh-CN"


def in_locale(words: Mapping[str, str], locale: str) -> str:
    """``words`` in ``locale``, else in Simplified Chinese, else any."""
    return words.get(locale) or words.get(FIRST_LOCALE) or next(iter(words.values()), "")


@dataclass(frozen=True)
class ReportColumn:
    """One column of a report's table."""

    key: str
    kind: ColumnKind
    titles: Mapping[str, str]
    """Heading per language."""

    def title(self, locale: str) -> str:
        return in_locale(self.titles, locale)


@dataclass(frozen=True)
class ReportParams:
    """What a person may ask of every report: a period and, for series, how many months."""

    start: date | None = None
    """First day included (None: from the beginning of the data)."""
    end: date | None = None
    """Last day included (None: up to the latest data)."""
    months: int = 12
    """Length of a monthly series ending at the latest month in the period."""


@dataclass(frozen=True)
class ReportDefinition:
    """A report as a plugin (or a built-in) declares it."""

    name: str
    """Stable key: lower-case letters, digits and ``_`` (``monthly_sales``)."""
    titles: Mapping[str, str]
    descriptions: Mapping[str, str]
    columns: tuple[ReportColumn, ...]
    build: Callable[[BaseBackend, Settings, ReportParams], ir.Table]
    order_by: tuple[str, ...] = ()
    """Columns the rows are sorted by (ascending); none keeps the table's order."""
    tags: tuple[str, ...] = field(default_factory=tuple)
    """Families the report belongs to (``sales``, ``customers`` …) for menus and listings."""

    def title(self, locale: str) -> str:
        return in_locale(self.titles, locale)

    def description(self, locale: str) -> str:
        return in_locale(self.descriptions, locale)
