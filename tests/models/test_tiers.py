"""Membership tiers: upgrade at once, downgrade after the hold, one step at a time."""

from __future__ import annotations

from datetime import date

import ibis

from guanxi.models.config import TiersConfig
from guanxi.models.tiers import member_tiers

AS_OF = date(2024, 12, 31)
CUSTOMERS = ibis.memtable({"customer_id": [1, 2, 3, 4, 5, 6]})
SPEND = ibis.memtable({"customer_id": [1, 2, 5, 6], "tier_basis": [6000.0, 25000.0, 5000.0, 100.0]})
PREVIOUS = ibis.memtable(
    {
        "customer_id": [2, 3, 4, 5, 6],
        "member_tier": ["silver", "diamond", "diamond", "gold", "vip"],
        "tier_since": [
            date(2024, 6, 1),
            date(2024, 6, 1),
            date(2023, 6, 1),
            date(2023, 1, 1),
            date(2023, 1, 1),
        ],
    }
)


def _tiers(config: TiersConfig) -> dict[int, tuple[object, ...]]:
    frame = member_tiers(CUSTOMERS, SPEND, PREVIOUS, as_of=AS_OF, config=config).to_pandas()
    return {
        int(r.customer_id): (
            r.member_tier,
            r.tier_since.date() if hasattr(r.tier_since, "date") else r.tier_since,
            r.tier_change,
        )
        for r in frame.itertuples()
    }


def test_upgrades_at_once_and_downgrades_after_the_hold() -> None:
    got = _tiers(TiersConfig())
    assert got == {
        1: ("gold", AS_OF, None),  # new: qualifying tier from today
        2: ("diamond", AS_OF, "upgrade"),  # 25 000 ≥ 20 000
        3: ("diamond", date(2024, 6, 1), None),  # held 213 days < 365: kept
        4: ("gold", AS_OF, "downgrade"),  # held > 365: one step down
        5: ("gold", date(2023, 1, 1), None),  # unchanged, since kept
        6: ("member", AS_OF, None),  # unknown old tier: qualifying tier
    }


def test_downgrade_without_step_limit_goes_to_the_qualifying_tier() -> None:
    got = _tiers(TiersConfig(downgrade_steps=None))
    assert got[4] == ("member", AS_OF, "downgrade")
