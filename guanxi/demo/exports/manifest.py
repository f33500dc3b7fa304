"""What the exporters wrote and how each file is to be imported."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

IMPORT_ORDER = ("customers", "orders", "order-items", "tickets", "events")
"""Kinds in the order the demo imports them: people first, then what they did."""


@dataclass(frozen=True)
class PlannedImport:
    """One import of a written file: its kind, the preset that reads it, the source to record."""

    kind: str
    preset: str
    source: str | None = None


@dataclass(frozen=True)
class ExportedFile:
    """A file the demo wrote: where, what it is, how many data rows, how to import it."""

    path: Path
    title: str
    file_format: str
    rows: int
    imports: tuple[PlannedImport, ...] = ()

    @property
    def size_bytes(self) -> int:
        return self.path.stat().st_size


@dataclass(frozen=True)
class ExportContext:
    """Where to write and the formatting choices shared by every exporter.

    ``utc_offset`` is the time zone's offset from UTC in seconds at the end of
    history (Shopify writes it after each time, Segment events are in UTC).
    """

    out_dir: Path
    utc_offset: int
    excel_row_cap: int
    xls_row_cap: int

    def path(self, name: str) -> Path:
        return self.out_dir / name
