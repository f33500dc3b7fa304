"""Credit: unpaid and refund/return rates, complaints → score, level and the no-cash-coupon flag."""

from __future__ import annotations

from datetime import datetime

from ibis.backends import BaseBackend

from guanxi.config import Settings
from guanxi.models import inputs, run_models
from guanxi.models.config import CreditConfig
from guanxi.models.credit import credit_scores
from tests.models import factories as f
from tests.models.factories import AS_OF

DAY = datetime(2024, 10, 1, 10)


def test_credit_scores_match_the_hand_computed_ones(warehouse: BaseBackend) -> None:
    f.customers(warehouse, [1, 2, 3, 4, 5])
    f.orders(
        warehouse,
        [
            # 1: four paid, two of them refunded, one abandoned, one still pending
            f.order("a1", 1, DAY, 100),
            f.order("a2", 1, DAY, 100, status="delivered", refund=30),
            f.order("a3", 1, DAY, 100, status="refunded"),
            f.order("a4", 1, DAY, 100),
            f.order("a5", 1, None, 100, status="unpaid", created_at=DAY),
            f.order("a6", 1, None, 100, status="created", created_at=datetime(2024, 12, 31, 10)),
            # 2: one paid order with a return ticket on it
            f.order("b1", 2, DAY, 100),
            # 4: two cancelled orders that were never paid
            f.order("d1", 4, None, 100, status="cancelled", created_at=DAY),
            f.order("d2", 4, None, 100, status="cancelled", created_at=DAY),
            # 5: only refunds
            *(f.order(f"e{k}", 5, DAY, 100, status="refunded") for k in range(3)),
        ],
    )
    f.tickets(
        warehouse,
        [
            f.ticket("t1", 1, "complaint", DAY),
            f.ticket("t2", 2, "return", DAY, order_id="b1"),
            f.ticket("t3", 2, "return", DAY),
            *(f.ticket(f"t4{k}", 4, "complaint", DAY) for k in range(4)),
            *(f.ticket(f"t5{k}", 5, "complaint", DAY) for k in range(3)),
            f.ticket("t6", 3, "praise", DAY),
        ],
    )
    orders = inputs.customer_orders(
        warehouse.table("raw_orders"), warehouse.table("identity_map"), before=inputs.cutoff(AS_OF)
    )
    tickets = inputs.customer_tickets(
        warehouse.table("raw_tickets"), warehouse.table("identity_map"), before=inputs.cutoff(AS_OF)
    )
    frame = credit_scores(
        warehouse.table("customers"), orders, tickets, as_of=AS_OF, config=CreditConfig()
    ).to_pandas()
    got = {int(r.customer_id): r for r in frame.itertuples()}
    # 1: unpaid 1/5, refunds 2/4, one complaint → 100 − 6 − 20 − 10 = 64, watch; a serial refunder
    assert (got[1].unpaid_rate, got[1].refund_rate, got[1].complaints) == (0.2, 0.5, 1)
    assert (got[1].credit_score, got[1].credit_level, got[1].no_cash_coupon) == (64.0, "watch", True)
    # 2: the ticketed order and a loose return ticket: 2 returns on 1 paid order, capped at 1 → 60; too few orders to flag
    assert (got[2].refund_rate, got[2].credit_score, got[2].no_cash_coupon) == (1.0, 60.0, False)
    # 3: no orders → 100, good (praise is not a complaint)
    assert (got[3].credit_score, got[3].credit_level, got[3].no_cash_coupon) == (100.0, "good", False)
    # 4: unpaid rate 1 (30) and four complaints capped at 30 → 40, still watch
    assert (got[4].unpaid_rate, got[4].credit_score, got[4].credit_level) == (1.0, 40.0, "watch")
    # 5: only refunds: refund rate 1 (40) and three complaints (30) → 30, restricted
    assert (got[5].refund_rate, got[5].credit_score, got[5].credit_level, got[5].no_cash_coupon) == (
        1.0,
        30.0,
        "restricted",
        True,
    )


def test_customers_with_repeated_complaints_are_do_not_disturb(
    warehouse: BaseBackend, settings: Settings
) -> None:
    f.customers(warehouse, [1, 2, 3])
    f.orders(warehouse, [f.order(f"o{k}", k, DAY, 100) for k in (1, 2, 3)])
    f.tickets(
        warehouse,
        [
            f.ticket("t1", 1, "complaint", DAY),
            f.ticket("t2", 1, "complaint", DAY),
            f.ticket("t3", 2, "complaint", DAY),
            f.ticket("t4", 3, "praise", DAY),
        ],
    )
    run_models(
        warehouse,
        settings.model_copy(update={"models_config": settings.data_dir / "absent.yaml"}),
        as_of=AS_OF,
    )
    tags = warehouse.table("customer_tags")
    rows = tags.filter((tags.model == "credit") & (tags.value == "do_not_disturb")).to_pyarrow().to_pylist()
    assert [(r["customer_id"], r["weight"]) for r in rows] == [(1, 2.0)]  # two complaints; one is not enough
