"""The customer models give the same numbers on every backend, after resolving ``two_shops``.

Hand-computed as of 2024-06-30 (see test_resolve for who is who):

* 王芳 (1): purchases o1 100.00, o2 250.50, o7 49.50 → RFM frequency 3, monetary 400.00;
  three purchase days, own interval (2024-06-01 − 2024-01-10) / 2 = 71.5 days, last
  purchase 29 days ago (< 1.5 intervals), more than 2 purchases → ``maturity``;
* 李雷 (2): o3 80.00 and o4 120.00; o5 was refunded in full, so it is no purchase →
  frequency 2, monetary 200.00; 41 days since the last purchase is below 1.5 times
  any interval the population gives (≥ 71.5 days), at most 2 purchases → ``growth``;
* 张伟 (3): one unpaid order, 赵敏 (4): none → no RFM row, ``acquisition``.

The segment ``lifecycle_stage in [maturity, growth]`` then holds 1 and 2.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from guanxi.identity import resolve
from guanxi.models import run_models
from guanxi.models.config import ModelsConfig
from guanxi.segments.compiler import compile_spec
from guanxi.segments.membership import apply_refresh, current_members
from guanxi.segments.validation import load_spec
from tests.backends.conftest import Warehouse, load

AS_OF = date(2024, 6, 30)


def test_models_and_segments_give_the_hand_computed_numbers_on_every_backend(backend: Warehouse) -> None:
    con = backend.con
    load(con, "two_shops")
    resolve(con, backend.settings, now=datetime(2024, 6, 30, 12, 0))

    report = run_models(con, backend.settings, as_of=AS_OF, config=ModelsConfig())

    scores = {row["customer_id"]: row for row in con.table("customer_scores").to_pyarrow().to_pylist()}
    assert (report.customers, report.buyers) == (4, 2)
    assert (scores[1]["rfm_frequency"], scores[1]["rfm_monetary"]) == (3, Decimal("400.00"))
    assert (scores[2]["rfm_frequency"], scores[2]["rfm_monetary"]) == (2, Decimal("200.00"))
    assert scores[3]["rfm_frequency"] is None
    assert [scores[i]["lifecycle_stage"] for i in (1, 2, 3, 4)] == [
        "maturity",
        "growth",
        "acquisition",
        "acquisition",
    ]

    # segments: compiled from the scores, membership and history written, idempotent per date
    active = load_spec("where: lifecycle_stage in [maturity, growth]\n")
    members = compile_spec(con, active, as_of=AS_OF, key="active")
    first = apply_refresh(con, "active", members, AS_OF, run_id="r1")
    again = apply_refresh(con, "active", members, AS_OF, run_id="r2")
    assert (first.members, first.entered, first.left) == (2, 2, 0)
    assert (again.members, again.entered, again.left) == (2, 2, 0)
    current = current_members(con, "active").to_pyarrow().to_pylist()
    assert sorted(row["customer_id"] for row in current) == [1, 2]
    assert {row["run_id"] for row in current} == {"r2"}
