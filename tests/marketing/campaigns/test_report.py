"""The campaign report on a small shop: sends, the control group and purchases counted by hand."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from ibis.backends import BaseBackend

from guanxi.marketing.campaigns import service
from guanxi.marketing.measurement.campaign_report import campaign_report
from guanxi.marketing.measurement.holdout import campaign_scope, held_out
from guanxi.tables import IDENTITY_MAP, RAW_ORDERS
from tests.marketing.campaigns.conftest import Loop
from tests.segments.scenario import insert

ELIGIBLE = [str(i) for i in range(1, 10) if i != 8]  # 8 is do-not-disturb in the shop
BUYERS = {"1": "2026-11-02 09:00", "2": "2026-11-03 20:00", "3": "2026-11-07 12:00", "4": "2026-11-08 09:59"}
"""Paid 199.00 within the 7 days after the 11-01 10:00 send (customer 4 one minute before it closes)."""
OUTSIDE = {"5": "2026-11-08 10:00", "6": "2026-11-01 09:00"}
"""Customer 5 paid as the window closed; customer 6 an hour before the send."""


def paid(con: BaseBackend) -> None:
    insert(
        con,
        IDENTITY_MAP,
        [{"source": "shop", "source_customer_id": f"c{n}", "customer_id": n} for n in range(1, 10)],
    )
    insert(
        con,
        RAW_ORDERS,
        [
            {
                "source": "shop",
                "order_id": f"o{customer}",
                "source_customer_id": f"c{customer}",
                "status": "paid",
                "created_at": datetime.fromisoformat(at),
                "paid_at": datetime.fromisoformat(at),
                "paid_amount": Decimal("199.00"),
                "total_amount": Decimal("199.00"),
            }
            for customer, at in {**BUYERS, **OUTSIDE}.items()
        ],
    )


def test_the_report_counts_what_was_sent_and_bought_against_the_control_group(
    loop: Loop, webhook_sink
) -> None:
    control = {c for c in ELIGIBLE if held_out(campaign_scope("club"), c, 0.5)}
    target = set(ELIGIBLE) - control
    assert control == {"2", "6", "7"}  # the seeded draw: buyers 1, 3, 4 are in the target group, 2 in control
    with loop.sessions() as session, session.begin():
        service.create_campaign(
            session,
            "club",
            {
                "name": "会员日",
                "audience": {"customers": [str(i) for i in range(1, 10)]},
                "channels": ["webhook"],
                "control": 0.5,
                "content": {"webhook": {"subject": "会员日", "body": "会员日快乐"}},
                "quiet_hours": {"start": "00:00", "end": "00:00"},
            },
            actor="mk",
            now=loop.clock(),
        )
        service.launch(session, "club", actor="mk", now=loop.clock())
    loop.step()
    paid(loop.warehouse)
    with loop.sessions() as session:
        report = campaign_report(session, loop.warehouse, loop.settings, "club")
    assert report.outcomes == {"queued": len(target), "control": len(control), "do_not_disturb": 1}
    assert report.messages == {"webhook": {"sent": len(target)}}
    assert report.sent == len(webhook_sink.received) == len(target)
    bought_target = len(target & set(BUYERS))
    bought_control = len(control & set(BUYERS))
    assert (report.target.customers, report.target.converted) == (len(target), bought_target)
    assert (report.control.customers, report.control.converted) == (len(control), bought_control)
    assert report.target.revenue_total == pytest.approx(199.0 * bought_target)
    difference = bought_target / len(target) - bought_control / len(control)
    assert difference == pytest.approx(3 / 5 - 1 / 3)
    assert report.uplift.difference == pytest.approx(difference)
    assert report.uplift.interval is not None
    assert report.uplift.interval.covers(difference)
    assert report.uplift.revenue_difference == pytest.approx(199.0 * difference)
    assert report.revenue_per_message == pytest.approx(199.0 * bought_target / len(target))
    # a window of one day keeps only customer 1's order
    with loop.sessions() as session:
        narrow = campaign_report(session, loop.warehouse, loop.settings, "club", attribution_days=1)
    assert narrow.target.converted + narrow.control.converted == 1
