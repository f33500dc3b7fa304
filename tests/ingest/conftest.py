"""Fixtures for the import tests: a runner that imports a named file and reads tables back."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ibis.backends import BaseBackend

from guanxi.config import Settings
from guanxi.ingest.api import import_file
from guanxi.ingest.report import ImportReport

INGEST_DATA = Path(__file__).parents[1] / "data" / "ingest"

Importer = Callable[..., ImportReport]


@pytest.fixture
def ingest_data() -> Path:
    return INGEST_DATA


@pytest.fixture
def run_import(warehouse: BaseBackend, settings: Settings) -> Importer:
    """Import a file from tests/data/ingest (or any path) into the test warehouse."""

    def run(kind: str, name: str | Path, **options: Any) -> ImportReport:
        path = name if isinstance(name, Path) else INGEST_DATA / name
        return import_file(warehouse, settings, kind, path, **options)

    return run


def _missing(value: Any) -> bool:
    try:
        return bool(value != value)  # NaN, NaT
    except (TypeError, ValueError):
        return False


@pytest.fixture
def rows(warehouse: BaseBackend) -> Callable[[str, str], list[dict[str, Any]]]:
    """``rows(table, order_by)``: every row of a warehouse table as plain dicts."""

    def read(table: str, order_by: str) -> list[dict[str, Any]]:
        frame = warehouse.table(table).order_by(order_by).execute()
        return [{k: (None if _missing(v) else v) for k, v in r.items()} for r in frame.to_dict("records")]

    return read


@pytest.fixture
def quarantine(warehouse: BaseBackend) -> Callable[[], list[tuple[int, str, str | None, str, str]]]:
    """``quarantine()``: (row, column, value, reason, severity) of every quarantine entry."""

    def read() -> list[tuple[int, str, str | None, str, str]]:
        q = warehouse.table("import_quarantine").order_by(["row_number", "column_name", "reason"]).execute()
        return [
            (int(r.row_number), r.column_name, None if _missing(r.value) else r.value, r.reason, r.severity)
            for r in q.itertuples()
        ]

    return read
