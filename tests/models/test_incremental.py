"""``run_models(incremental=True)`` after new and changed rows equals a full run on the same data.

Two copies of one warehouse share a history (a full run as of 2024-12-31); both
then receive the same changes — new orders of old and new customers, new items,
a re-imported order now refunded, a record merged into another customer — and
one copy runs incrementally as of 2025-01-31 while the other runs in full. Every
output table must agree row for row (run ids and stamps aside).
"""

from __future__ import annotations

import random
import shutil
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from ibis.backends import BaseBackend

from guanxi.config import Settings, get_settings
from guanxi.errors import BackendUnsupportedError
from guanxi.models import run_models
from guanxi.models.config import ModelsConfig, PointsConfig
from guanxi.models.intermediates import commit, refresh
from guanxi.models.workspace import Workspace
from guanxi.tables import CUSTOMERS, IDENTITY_MAP
from guanxi.warehouse import connect
from tests.models import factories as f

pytestmark = pytest.mark.slow

FIRST, SECOND = date(2024, 12, 31), date(2025, 1, 31)
LOADED, APPENDED = datetime(2025, 1, 1, 8), datetime(2025, 2, 1, 8)
CATEGORIES = ["母婴", "数码", "美妆", "服饰"]


def _history(
    rng: random.Random, customers: range, start: int, until: date, stamp: datetime
) -> dict[str, list[Any]]:
    """Random orders (some unpaid, refunded, delivered), items, events and tickets up to ``until``."""
    rows: dict[str, list[Any]] = {"orders": [], "items": [], "events": [], "tickets": []}
    n = start
    for customer in customers:
        for _ in range(rng.randint(0, 6)):
            n += 1
            paid = datetime.combine(until, datetime.min.time()) - timedelta(
                days=rng.randint(0, 500), hours=rng.randint(0, 23)
            )
            status = rng.choice(["paid", "paid", "delivered", "shipped", "refunded", "unpaid", "cancelled"])
            amount = rng.choice([39.9, 99, 128, 256.5, 999])
            row = f.order(
                f"o{n}",
                customer,
                None if status in {"unpaid", "cancelled"} else paid,
                amount,
                status=status,
                refund=amount / 2 if status == "delivered" and rng.random() < 0.2 else None,
                discount=rng.choice([None, 5.0, 20.0]),
                created_at=paid - timedelta(minutes=5),
                delivered_at=paid + timedelta(days=3) if status == "delivered" else None,
                channel=rng.choice(["app", "web"]),
            )
            rows["orders"].append({**row, "ingested_at": stamp})
            for k in range(rng.randint(1, 2)):
                item = f.item(
                    f"o{n}",
                    str(k),
                    category=rng.choice(CATEGORIES),
                    brand=rng.choice("ABC"),
                    quantity=rng.randint(1, 3),
                    price=rng.choice([19.9, 50, 120]),
                )
                rows["items"].append({**item, "ingested_at": stamp})
        if rng.random() < 0.3:
            rows["events"].append(
                f.event(f"e{n}-{customer}", customer, datetime.combine(until, datetime.min.time()))
            )
        if rng.random() < 0.1:
            rows["tickets"].append(f.ticket(f"t{n}-{customer}", customer, "complaint", datetime(2024, 11, 1)))
    return rows


def _load(con: BaseBackend, rows: dict[str, list[Any]]) -> None:
    f.orders(con, rows["orders"])
    f.items(con, rows["items"])
    f.events(con, rows["events"])
    f.tickets(con, rows["tickets"])


def _customers(con: BaseBackend, ids: range, stamp: datetime) -> None:
    f.insert(con, CUSTOMERS, [{"customer_id": i, "province": "广东"} for i in ids])
    f.insert(
        con,
        IDENTITY_MAP,
        [
            {"source": f.SOURCE, "source_customer_id": f.record(i), "customer_id": i, "resolved_at": stamp}
            for i in ids
        ],
    )


def _change(con: BaseBackend) -> None:
    """What a later import and resolve do: new rows, one order replaced, one record merged."""
    rng = random.Random(7)
    _customers(con, range(61, 71), APPENDED)
    _load(con, _history(rng, range(1, 71, 3), 100_000, SECOND, APPENDED))
    raw = con.con  # the tests' DuckDB: replace a row the way the importer does (delete + insert, new stamp)
    raw.execute(
        "CREATE TEMP TABLE replaced AS SELECT * FROM raw_orders WHERE order_id = "
        "(SELECT min(order_id) FROM raw_orders WHERE status = 'paid' AND ingested_at = ?)",
        [LOADED],
    )
    raw.execute("DELETE FROM raw_orders WHERE order_id IN (SELECT order_id FROM replaced)")
    raw.execute(
        "INSERT INTO raw_orders SELECT * REPLACE ('refunded' AS status, paid_amount AS refund_amount, "
        "?::TIMESTAMP AS ingested_at) FROM replaced",
        [APPENDED],
    )
    raw.execute(
        "UPDATE identity_map SET customer_id = 2, resolved_at = ? WHERE source_customer_id = 'c5'", [APPENDED]
    )
    raw.execute("DELETE FROM customers WHERE customer_id = 5")
    late = f.item("o3", "late", category="图书", brand="D", quantity=1, price=30)
    f.items(con, [{**late, "ingested_at": APPENDED}])


def _settings(folder: Path) -> Settings:
    folder.mkdir(parents=True, exist_ok=True)
    return get_settings(
        env="test",
        data_dir=folder,
        warehouse_url=f"duckdb://{folder / 'warehouse.duckdb'}",
        models_config=folder / "absent.yaml",
        progress=False,
    )


IGNORED = {"run_id", "recorded_at"}
STAMPS = {"customer_tags": {"as_of"}}
"""An incremental run leaves unchanged customers' tags as the earlier run wrote them (older as-of)."""


def _rows(con: BaseBackend, table: str) -> list[tuple[Any, ...]]:
    t = con.table(table)
    columns = [c for c in t.columns if c not in IGNORED | STAMPS.get(table, set())]
    frame = t.select(*columns).to_pandas()
    return sorted(
        (tuple(None if v is None or v != v else v for v in row) for row in frame.itertuples(index=False)),
        key=repr,
    )


BUSY_POINTS = ModelsConfig(
    points=PointsConfig(expiry_months=6, first_purchase_bonus=50, event_bonus={"view": 10})
)
"""Points that expire within the scenario's month, first-purchase and event bonuses: every ledger path."""


@pytest.fixture(scope="module", params=["default", "busy points"])
def pair(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[BaseBackend, BaseBackend, Any, Any, ModelsConfig]:
    config = BUSY_POINTS if request.param == "busy points" else ModelsConfig()
    base = tmp_path_factory.mktemp("incremental")
    first = _settings(base / "incremental")
    con = connect(first)
    _customers(con, range(1, 61), LOADED)
    _load(con, _history(random.Random(3), range(1, 61), 0, FIRST, LOADED))
    # Loaded early but paid after the first as-of date: only the moving cut-off brings them in.
    ahead = [f.order(f"ahead{i}", i, date(2025, 1, 15), 300) for i in (2, 4, 6, 8, 10)]
    f.orders(con, [{**row, "ingested_at": LOADED} for row in ahead])
    run_models(con, first, as_of=FIRST, config=config)
    con.disconnect()
    second = _settings(base / "full")
    shutil.copy(base / "incremental" / "warehouse.duckdb", base / "full" / "warehouse.duckdb")
    incremental, full = connect(first), connect(second)
    for c in (incremental, full):
        _change(c)
    inc_report = run_models(incremental, first, as_of=SECOND, config=config, incremental=True)
    full_report = run_models(full, second, as_of=SECOND, config=config)
    return incremental, full, inc_report, full_report, config


def test_incremental_run_rebuilds_only_changed_records(pair: tuple[Any, ...]) -> None:
    _, _, inc, full, _ = pair
    assert inc.incremental
    assert not full.incremental
    assert inc.warnings == [] or all("skipped" in w for w in inc.warnings)
    # 24 records with new orders (every third of 1..70), c5 merged, the replaced order's record, o3's record.
    assert 20 <= inc.refreshed_records <= 30
    assert inc.refreshed_customers is not None
    assert inc.refreshed_customers < 60


@pytest.mark.parametrize(
    "table",
    [
        "customer_scores",
        "score_snapshots",
        "lifecycle_transitions",
        "tier_changes",
        "customer_tags",
        "model_orders",
        "model_items",
    ],
)
def test_incremental_outputs_equal_a_full_run(pair: tuple[Any, ...], table: str) -> None:
    incremental, full, *_ = pair
    got, expected = _rows(incremental, table), _rows(full, table)
    assert expected, f"{table} is empty: the scenario proves nothing"
    assert got == expected


def test_incremental_run_rewrites_only_changed_customers_tags(pair: tuple[Any, ...]) -> None:
    incremental, full, *_ = pair
    tags = incremental.table("customer_tags")
    kept, rewritten = tags.filter(tags.as_of == FIRST), tags.filter(tags.as_of == SECOND)
    assert kept.count().execute() > 0, "every tag was rewritten: nothing was saved"
    assert rewritten.count().execute() > 0
    bands = tags.filter(tags.tag == "price_band")
    assert bands.filter(bands.as_of == FIRST).count().execute() == 0, "price bands are relative to everyone"
    assert kept.filter(kept.model == "credit").count().execute() == 0
    orders, ids = incremental.table("raw_orders"), incremental.table("identity_map")
    new_orders = orders.filter(orders.ingested_at == APPENDED).join(ids, ["source", "source_customer_id"])
    changed = {int(c) for c in new_orders.customer_id.to_pyarrow().to_pylist()} | {2}  # 2 took over c5
    assert len(changed) > 10
    stale = kept.filter(kept.customer_id.isin(sorted(changed)))
    assert stale.count().execute() == 0, stale.to_pandas()
    full_tags = full.table("customer_tags")
    assert full_tags.filter(full_tags.as_of == FIRST).count().execute() == 0


def test_incremental_ledger_balances_equal_a_full_run(pair: tuple[Any, ...]) -> None:
    incremental, full, *_ = pair

    def per_order(con: BaseBackend) -> list[tuple[Any, ...]]:
        ledger = con.table("points_ledger")
        summed = ledger.group_by("customer_id", "order_id", "kind").aggregate(points=ledger.points.sum())
        return sorted(summed.to_pyarrow().to_pylist(), key=repr)  # type: ignore[arg-type]

    got, expected = per_order(incremental), per_order(full)
    assert got == expected
    kinds = {row["kind"] for row in expected}
    busy = pair[4] is BUSY_POINTS
    assert kinds >= ({"earn", "refund", "expire", "first_purchase", "event"} if busy else {"earn", "refund"})


def test_second_incremental_run_without_changes_rebuilds_nothing(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    con = connect(settings)
    _customers(con, range(1, 11), LOADED)
    _load(con, _history(random.Random(1), range(1, 11), 0, FIRST, LOADED))
    first = run_models(con, settings, as_of=FIRST, config=ModelsConfig(), incremental=True)
    assert not first.incremental
    assert first.warnings[:1] == ["no earlier order tables: full rebuild"]
    again = run_models(con, settings, as_of=FIRST, config=ModelsConfig(), incremental=True)
    assert again.incremental
    assert again.refreshed_records == 0
    assert again.refreshed_customers == 0
    assert again.ledger_entries == 0


def test_an_interrupted_run_makes_the_next_one_rebuild_in_full(tmp_path: Path) -> None:
    """A run that took changes into the kept tables but did not finish must not hide them from the next."""
    settings = _settings(tmp_path)
    con = connect(settings)
    _customers(con, range(1, 11), LOADED)
    _load(con, _history(random.Random(1), range(1, 11), 0, FIRST, LOADED))
    run_models(con, settings, as_of=FIRST, config=ModelsConfig())
    f.orders(con, [{**f.order("late", 3, date(2024, 12, 30), 500), "ingested_at": APPENDED}])
    with Workspace(con, "dead") as ws:
        assert not refresh(con, ws.keep, incremental=True).full  # what a run does first; then it dies
    again = run_models(con, settings, as_of=FIRST, config=ModelsConfig(), incremental=True)
    assert not again.incremental
    assert again.warnings[:1] == ["no earlier order tables: full rebuild"]
    ledger = con.table("points_ledger")
    assert ledger.filter(ledger.order_id == "late").points.sum().execute() == 500


def test_rows_loaded_without_stamps_are_always_rebuilt(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    con = connect(settings)
    f.customers(con, [1, 2])
    f.orders(con, [f.order("a", 1, date(2024, 5, 1), 10), f.order("b", 2, date(2024, 6, 1), 20)])
    run_models(con, settings, as_of=FIRST, config=ModelsConfig())
    again = run_models(con, settings, as_of=FIRST, config=ModelsConfig(), incremental=True)
    assert again.incremental
    assert again.refreshed_records == 2


def test_incremental_refresh_refuses_a_warehouse_that_cannot_delete(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    con = connect(settings)
    f.customers(con, [1])
    f.orders(con, [f.order("a", 1, date(2024, 5, 1), 10)])
    commit(con, refresh(con, lambda name, expr: expr, incremental=False))

    class SparkLike:
        """The warehouse as a backend without DELETE would present itself."""

        name = "pyspark"

        def __getattr__(self, attribute: str) -> Any:
            return getattr(con, attribute)

    with pytest.raises(BackendUnsupportedError, match="without --incremental"):
        refresh(SparkLike(), lambda name, expr: expr, incremental=True)  # type: ignore[arg-type]
