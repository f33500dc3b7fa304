"""A model registered after the wide tables exist gets its columns added, on every backend.

``customer_scores`` and ``score_snapshots`` are created for the built-in models
and hold a row; registering ``recent_orders`` then adds ``orders_last_30d``
(``ALTER TABLE … ADD COLUMN``) to both: the old row holds null there, a new row
its value, and ensuring again changes nothing.
"""

from __future__ import annotations

from datetime import date

import ibis
import pluggy

from guanxi.models.declared import customer_scores_spec, score_snapshots_spec
from guanxi.models.outputs import add_missing_columns, ensure_outputs
from guanxi.plugins import build_plugin_manager
from guanxi.tables import conform
from tests.backends.conftest import Warehouse
from tests.models.recent_orders import recent_orders_plugin

AS_OF = date(2024, 6, 30)


def _manager(*plugins: object) -> pluggy.PluginManager:
    pm = build_plugin_manager(defaults=("guanxi.models.plugin",), entry_points=False)
    for plugin in plugins:
        pm.register(plugin)
    return pm


def test_a_model_registered_later_gets_its_columns_added(backend: Warehouse) -> None:
    con = backend.con
    # given the wide tables as the built-ins declare them, with one row each
    before = _manager()
    ensure_outputs(con, pm=before)
    first = ibis.memtable({"customer_id": [1], "run_id": ["r1"], "as_of": [AS_OF]})
    con.insert("customer_scores", conform(first, customer_scores_spec(before)))
    con.insert("score_snapshots", conform(first, score_snapshots_spec(before)))
    assert "orders_last_30d" not in con.table("customer_scores").columns

    # when a plugin model is registered and the outputs are ensured (twice)
    after = _manager(recent_orders_plugin())
    ensure_outputs(con, pm=after)
    ensure_outputs(con, pm=after)

    # then both tables have the column with its type, and nothing more is missing
    for table in ("customer_scores", "score_snapshots"):
        assert con.table(table).schema()["orders_last_30d"].is_integer()
    assert add_missing_columns(con, customer_scores_spec(after)) == []
    # and rows written before hold null, rows written now the value
    second = ibis.memtable({"customer_id": [2], "run_id": ["r2"], "as_of": [AS_OF], "orders_last_30d": [3]})
    con.insert("customer_scores", conform(second, customer_scores_spec(after)))
    con.insert("score_snapshots", conform(second, score_snapshots_spec(after)))
    for table in ("customer_scores", "score_snapshots"):
        rows = con.table(table).select("customer_id", "orders_last_30d").to_pyarrow().to_pylist()
        assert sorted((r["customer_id"], r["orders_last_30d"]) for r in rows) == [(1, None), (2, 3)]
