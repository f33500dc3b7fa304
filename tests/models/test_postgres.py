"""The same model run on PostgreSQL (``-m postgres`` with GUANXI_TEST_POSTGRES set).

A throwaway database is created next to the one in GUANXI_TEST_POSTGRES and
dropped afterwards, so the run never touches other tables.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from guanxi.config import get_settings
from guanxi.models import migration, run_models
from guanxi.models.config import ModelsConfig
from guanxi.warehouse import connect
from tests.models import factories as f
from tests.models.factories import AS_OF
from tests.models.test_run import seed_shop

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

URL = os.environ.get("GUANXI_TEST_POSTGRES", "")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    if not URL:
        pytest.skip("GUANXI_TEST_POSTGRES is not set")
    import psycopg

    plain = URL.replace("postgresql+psycopg://", "postgresql://")
    server, _, _ = plain.rpartition("/")
    name = f"guanxi_models_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(plain, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server}/{name}"
    finally:
        with psycopg.connect(plain, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_models_run_on_postgresql(postgres_url: str, tmp_path: Path) -> None:
    settings = get_settings(env="test", data_dir=tmp_path, warehouse_url=postgres_url, progress=False)
    con = connect(settings)
    try:
        seed_shop(con)
        first = run_models(con, settings, as_of=AS_OF, config=ModelsConfig())
        again = run_models(con, settings, as_of=AS_OF, config=ModelsConfig())
        later = run_models(con, settings, as_of=date(2025, 3, 31), config=ModelsConfig())
        f.orders(con, [f.order("late1", 3, date(2025, 3, 1), 77), f.order("late2", 12, date(2025, 3, 2), 50)])
        step = run_models(con, settings, as_of=date(2025, 3, 31), config=ModelsConfig(), incremental=True)
        full = run_models(con, settings, as_of=date(2025, 3, 31), config=ModelsConfig())
        scores = (
            con.table("score_snapshots")
            .filter(lambda t: t.as_of == AS_OF)
            .to_pandas()
            .set_index("customer_id")
        )
        # then the results equal the DuckDB ones pinned in test_rfm / test_run
        assert (first.customers, first.buyers) == (14, 9)
        assert scores.loc[1, "rfm_segment"] == "Champions"
        assert scores.loc[5, "rfm_cell"] == "255"
        assert scores.loc[12, "lifecycle_stage"] == "acquisition"
        assert again.ledger_entries == 0
        assert int(con.table("score_snapshots").count().execute()) == 28
        assert later.lifecycle_transitions > 0
        matrix = migration(con, from_date=AS_OF, to_date=date(2025, 3, 31), dimension="lifecycle_stage")
        assert int(matrix.to_pandas().customers.sum()) == 14
        # an incremental run after new orders (rows without load stamps: every record counts as changed)
        assert step.incremental
        kept = con.table("model_orders")
        assert step.refreshed_customers == int(kept.customer_id.nunique().execute())
        assert int(kept.filter(kept.order_id.isin(["late1", "late2"])).count().execute()) == 2
        runs = con.table("customer_scores")
        columns = [c for c in runs.columns if c != "run_id"]

        def scored(run_id: str) -> list[tuple[object, ...]]:
            rows = runs.filter(runs.run_id == run_id).select(*columns).order_by("customer_id")
            return [tuple(r.values()) for r in rows.to_pyarrow().to_pylist()]

        assert scored(step.run_id) == scored(full.run_id)
        assert scored(step.run_id) != scored(later.run_id)
    finally:
        con.disconnect()
