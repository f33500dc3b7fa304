"""The same compile and refresh on a PostgreSQL warehouse (GUANXI_TEST_POSTGRES), in a private schema."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime

import pytest
from ibis.backends import BaseBackend
from sqlalchemy.orm import Session

from guanxi.segments import SEGMENT_MEMBERSHIP, create_segment, preview, refresh
from tests.warehouses import postgres_schema

from .scenario import AS_OF, build

pytestmark = pytest.mark.postgres


@pytest.fixture
def postgres_warehouse() -> Iterator[BaseBackend]:
    with postgres_schema("guanxi_segments") as con:
        yield con


def test_refresh_gives_the_same_members_and_history_on_postgresql(
    postgres_warehouse: BaseBackend, app_session: Session, now: datetime
) -> None:
    con = postgres_warehouse
    build(con)
    mixed = {
        "where": {
            "any": [
                {"all": ["rfm_class = 重要挽留客户", "clv >= 500"]},  # 3
                {"tag": "preference.category = 母婴"},  # 1
                {"all": ["age between [38, 40]", {"behaviour": "not_bought", "within_days": 90}]},  # 2
                {"behaviour": "days_since_first_purchase", "op": "<", "value": 1},  # 5
            ]
        }
    }
    create_segment(app_session, "mixed", mixed, actor="cli", now=now)
    create_segment(
        app_session, "recent", {"where": {"behaviour": "bought", "within_days": 10}}, actor="cli", now=now
    )
    assert preview(con, app_session, "mixed", as_of=AS_OF).count == 4

    first = refresh(con, app_session, as_of=AS_OF, now=now)
    assert {(r.key, r.members, r.entered, r.left) for r in first} == {("mixed", 4, 4, 0), ("recent", 1, 1, 0)}
    second = refresh(con, app_session, ["recent"], as_of=date(2025, 1, 10), now=now)
    again = refresh(con, app_session, ["recent"], as_of=date(2025, 1, 10), now=now)
    assert (
        [(r.members, r.entered, r.left) for r in second]
        == [(1, 1, 1)]
        == [(r.members, r.entered, r.left) for r in again]
    )

    history = con.table(SEGMENT_MEMBERSHIP.name)
    rows = history.filter(history.segment_key == "recent").to_pyarrow().to_pylist()
    assert {(r["customer_id"], r["entered_on"], r["left_on"]) for r in rows} == {
        (5, AS_OF, date(2025, 1, 10)),
        (2, date(2025, 1, 10), None),
    }
