"""Shared fixtures: settings pointing at a temporary data dir, an open warehouse.

``GUANXI_TEST_POSTGRES`` (a SQLAlchemy URL, e.g.
``postgresql+psycopg://postgres@127.0.0.1:5432/test``) makes the ``app_db_url``
fixture run against PostgreSQL instead of a SQLite file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings
from ibis.backends import BaseBackend

from guanxi.config import Settings, get_settings
from guanxi.warehouse import connect

# pytest-xdist's workers inherit COLUMNS=80, which would fix the width of the CLI's consoles when their module
# is first imported; without it a console follows COLUMNS at print time, as the tests that set it expect.
for _variable in ("COLUMNS", "LINES"):
    os.environ.pop(_variable, None)

# `make test` runs with --hypothesis-profile=ci: the same examples every run, so a red CI is reproducible;
# a plain `pytest` draws new examples each time and may find what the fixed ones miss.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)

DATA = Path(__file__).parent / "data"


@pytest.fixture
def data_dir() -> Path:
    """The folder of tiny named input files."""
    return DATA


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings with every store inside the test's own temporary folder."""
    return get_settings(
        env="test",
        data_dir=tmp_path,
        warehouse_url=f"duckdb://{tmp_path / 'warehouse.duckdb'}",
        app_db_url=os.environ.get("GUANXI_TEST_APP_DB_URL", f"sqlite:///{tmp_path / 'app.sqlite'}"),
        progress=False,
    )


@pytest.fixture
def warehouse(settings: Settings) -> Iterator[BaseBackend]:
    """An open, empty warehouse with the canonical tables."""
    con = connect(settings)
    yield con
    con.disconnect()
