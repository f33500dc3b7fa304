"""Import history read from the warehouse: batches and their quarantined rows, one page at a time.

Filtering and paging run in the warehouse; a page is at most ``per_page`` rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ibis.backends import BaseBackend

from guanxi.errors import NotFoundError
from guanxi.tables import IMPORT_BATCHES, IMPORT_QUARANTINE

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a longer list; ``page`` counts from 1."""

    items: list[T]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def list_batches(con: BaseBackend, *, page: int = 1, per_page: int = 25) -> Page[dict[str, Any]]:
    """Import batches, newest first."""
    batches = con.table(IMPORT_BATCHES.name)
    total = int(batches.count().execute())
    ordered = batches.order_by([batches.started_at.desc(), batches.batch_id.desc()])
    rows = ordered.limit(per_page, offset=(page - 1) * per_page).to_pyarrow().to_pylist()
    return Page(rows, page, per_page, total)


def batch_quarantine(
    con: BaseBackend, batch: dict[str, Any], *, page: int = 1, per_page: int = 50
) -> Page[dict[str, Any]]:
    """:func:`quarantined_rows` for a batch row as returned by :func:`get_batch`."""
    return quarantined_rows(
        con,
        str(batch["batch_id"]),
        file_sha256=batch.get("file_sha256"),
        kind=batch.get("kind"),
        page=page,
        per_page=per_page,
    )


def get_batch(con: BaseBackend, batch_id: str) -> dict[str, Any]:
    """The batch ``batch_id``; raises :class:`NotFoundError`."""
    batches = con.table(IMPORT_BATCHES.name)
    rows = batches.filter(batches.batch_id == batch_id).limit(1).to_pyarrow().to_pylist()
    if not rows:
        raise NotFoundError(f"no import batch {batch_id!r}")
    row: dict[str, Any] = rows[0]
    return row


def quarantined_rows(
    con: BaseBackend,
    batch_id: str,
    *,
    file_sha256: str | None = None,
    kind: str | None = None,
    page: int = 1,
    per_page: int = 50,
) -> Page[dict[str, Any]]:
    """The cells set aside when this batch's file was imported, by input row number then column.

    Quarantine entries are recorded once per file content, so a re-import of
    the same file adds none of its own: given the batch's ``file_sha256`` (and
    ``kind``), the entries of that file are shown whichever batch first
    recorded them (each row carries its ``batch_id``). Without it, only the
    entries recorded by ``batch_id``.
    """
    quarantine = con.table(IMPORT_QUARANTINE.name)
    if file_sha256:
        mine = quarantine.filter(quarantine.file_sha256 == file_sha256)
        if kind:
            mine = mine.filter(mine.kind == kind)
    else:
        mine = quarantine.filter(quarantine.batch_id == batch_id)
    total = int(mine.count().execute())
    ordered = mine.order_by([mine.row_number, mine.column_name, mine.reason])
    columns = ordered.select("row_number", "column_name", "value", "reason", "severity", "batch_id")
    rows = columns.limit(per_page, offset=(page - 1) * per_page).to_pyarrow().to_pylist()
    return Page(rows, page, per_page, total)
