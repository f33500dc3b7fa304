"""Every recipe on a controlled clock with real data in the warehouse, delivered through real SMTP and SMS servers.

The shop is the campaigns' (conftest there): customers 1–9, odd ids with an e-mail ``c<n>@shop.cn``, 2, 4, 6, 8
with a phone, 8 marked do-not-disturb. Marketing messages need consent; each test grants what it needs. Recipes
with a control group are installed with ``control_share: 0`` unless the test is about the control group.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from guanxi.appdb.roles import Role
from guanxi.appdb.users import create_user
from guanxi.marketing import consent
from guanxi.marketing.journeys.runtime import in_control
from guanxi.marketing.tasks import Task, set_owner
from guanxi.models.declared import customer_scores_spec
from guanxi.models.outputs import CUSTOMER_TAGS, LIFECYCLE_TRANSITIONS, POINTS_LEDGER
from guanxi.segments.membership import SEGMENT_MEMBERSHIP
from guanxi.tables import CUSTOMERS, RAW_EVENTS
from tests.marketing.channels_sms.servers import ProviderServer
from tests.marketing.journeys.conftest import Journeys, add_orders, order, set_order, wall
from tests.marketing.test_smtp import Mailbox
from tests.segments.scenario import insert

NO_CONTROL = {"control_share: 0.1": "control_share: 0"}


def grant(journeys: Journeys, *customers: int) -> None:
    """Marketing consent for the customers' e-mail (odd ids) or phone (even ids)."""
    now = journeys.clock()
    with journeys.sessions() as session, session.begin():
        for number in customers:
            medium, address = (
                ("email", f"c{number}@shop.cn") if number % 2 else ("sms", f"+86138000000{number:02d}")
            )
            consent.record_consent(
                session, medium=medium, address=address, state="granted", source="import",
                at=now - timedelta(days=400), now=now, actor="test", customer_id=str(number),
            )  # fmt: skip


def scores(journeys: Journeys, as_of: date, tiers: dict[int, str]) -> None:
    """A model run's ``customer_scores`` with the given value tiers."""
    insert(
        journeys.warehouse,
        customer_scores_spec(),
        [{"customer_id": c, "as_of": as_of, "run_id": "r1", "value_tier": tier} for c, tier in tiers.items()],
    )


def tags(journeys: Journeys, customer: int) -> list[str]:
    table = journeys.warehouse.table(CUSTOMER_TAGS.name)
    rows = table.filter((table.customer_id == customer) & (table.model == "journey")).to_pyarrow().to_pylist()
    return sorted(row["value"] or row["tag"] for row in rows)


def event(event_id: str, customer: int, name: str, at: str, properties: str | None = None) -> dict[str, Any]:
    return {
        "source": "shop", "event_id": event_id, "source_customer_id": f"c{customer}", "event": name,
        "occurred_at": wall(at), "properties": properties,
    }  # fmt: skip


# --- 清洗 second-purchase nurture -------------------------------------------------------------


def test_second_purchase_sends_months_one_to_three_and_stops_when_the_customer_orders_again(
    journeys: Journeys, mailbox: tuple[Mailbox, int]
) -> None:
    journeys.clock.at_local("2026-10-01 09:00")
    grant(journeys, 1, 3, 5)
    journeys.install("second_purchase", edit=NO_CONTROL)
    add_orders(
        journeys.warehouse,
        order("A1", 1, "delivered", "2026-10-01 09:00", paid_at="2026-10-01 09:05"),  # one-time buyer
        order("A3", 3, "delivered", "2026-10-01 09:30", paid_at="2026-10-01 09:35"),  # comes back in month 2
        order("A5", 5, "delivered", "2026-10-01 09:00", paid_at="2026-10-01 09:05"),  # bought twice already
        order("B5", 5, "paid", "2026-10-10 12:00", paid_at="2026-10-10 12:01"),
    )
    for day in (
        "2026-10-31 10:01",
        "2026-11-30 10:01",
        "2026-12-20 10:00",
        "2026-12-30 10:01",
        "2027-01-30 10:01",
    ):
        if day.startswith("2026-12-20"):
            add_orders(
                journeys.warehouse, order("B3", 3, "paid", "2026-12-15 20:00", paid_at="2026-12-15 20:02")
            )
        journeys.at(day)
    assert journeys.sent("second-purchase") == [
        ("1", "month_1", "email", "2026-10-31 10:01"),
        ("3", "month_1", "email", "2026-10-31 10:01"),
        ("1", "month_2", "email", "2026-11-30 10:01"),
        ("3", "month_2", "email", "2026-11-30 10:01"),
        ("1", "month_3", "email", "2026-12-30 10:01"),
    ]
    assert journeys.states("second-purchase") == {("1", "first"): "completed", ("3", "first"): "goal"}
    subjects = [message["Subject"] for _, to, message in mailbox[0].messages if to == ["c1@shop.cn"]]
    assert subjects == [
        "送您一张回购券",
        "本月下单全场包邮",
        "专属 8 折券,只剩 7 天",
    ]  # a different offer each month


def test_the_control_group_is_recorded_and_never_messaged(journeys: Journeys) -> None:
    journeys.clock.at_local("2026-10-01 09:00")
    grant(journeys, 1, 3, 5, 7, 9)
    journeys.install("second_purchase", edit={"control_share: 0.1": "control_share: 0.5"})
    add_orders(
        journeys.warehouse,
        *(order(f"A{n}", n, "paid", "2026-10-01 09:00", paid_at="2026-10-01 09:05") for n in (1, 3, 5, 7, 9)),
    )
    journeys.at("2026-10-31 10:01")
    held = {c for c in ("1", "3", "5", "7", "9") if in_control("second-purchase", c, 0.5)}
    assert held
    assert held != {"1", "3", "5", "7", "9"}
    states = journeys.states("second-purchase")
    assert {c for (c, _), s in states.items() if s == "control"} == held
    assert {c for c, _, _, _ in journeys.sent("second-purchase")} == {"1", "3", "5", "7", "9"} - held


# --- 关怀 care ------------------------------------------------------------------------------------


def test_order_care_follows_one_order_from_shipping_to_a_week_after_delivery(
    journeys: Journeys, sms_server: ProviderServer
) -> None:
    journeys.clock.at_local("2026-11-01 09:00")
    grant(journeys, 2)
    journeys.install("care")
    add_orders(
        journeys.warehouse,
        order(
            "S1", 2, "shipped", "2026-11-01 08:00", paid_at="2026-11-01 08:01", shipped_at="2026-11-01 14:00"
        ),
    )
    journeys.at("2026-11-01 14:05")
    insert(
        journeys.warehouse,
        RAW_EVENTS,
        [event("L1", 2, "order_arrived", "2026-11-02 11:00", '{"city": "杭州"}')],
    )
    journeys.at("2026-11-02 11:20")
    set_order(journeys.warehouse, "S1", status="delivered", delivered_at="2026-11-03 15:00")
    journeys.at("2026-11-03 15:20")
    journeys.at("2026-11-10 10:00")
    journeys.at("2026-11-20 10:00")
    assert journeys.sent("care") == [
        ("2", "shipped", "sms", "2026-11-01 14:05"),
        ("2", "arrived", "sms", "2026-11-02 11:20"),
        ("2", "delivered", "sms", "2026-11-03 15:20"),
        ("2", "usage_care", "sms", "2026-11-10 10:00"),
    ]
    assert "包裹已到达杭州" in sms_server.received[1].json()["text"]
    assert journeys.states("care") == {("2", "shop:S1"): "completed"}


def test_birthday_care_fires_once_a_year_with_points_and_a_tag(journeys: Journeys) -> None:
    journeys.clock.at_local("2026-11-01 09:00")
    insert(journeys.warehouse, CUSTOMERS, [{"customer_id": 11, "name": "生日客户", "email": "c11@shop.cn",
                                            "birthday": date(1990, 11, 5)}])  # fmt: skip
    grant(journeys, 11)
    journeys.install("birthday_care")
    for moment in ("2026-11-02 09:59", "2026-11-02 10:01", "2026-11-02 12:00", "2026-11-05 10:00"):
        journeys.at(moment)
    journeys.clock.at_local("2027-11-02 10:01")  # a year on: the same journey again, once
    journeys.run()
    journeys.at("2027-11-03 10:00")
    assert journeys.sent("birthday-care") == [
        ("11", "birthday_wishes", "email", "2026-11-02 10:01"),
        ("11", "birthday_wishes", "email", "2027-11-02 10:01"),
    ]
    assert journeys.states("birthday-care") == {("11", "2026"): "completed", ("11", "2027"): "completed"}
    ledger = journeys.warehouse.table(POINTS_LEDGER.name).to_pyarrow().to_pylist()
    assert sorted((row["customer_id"], row["kind"], row["points"]) for row in ledger) == [
        (11, "adjust", 100), (11, "adjust", 100)
    ]  # fmt: skip
    assert tags(journeys, 11) == ["生日礼已发"]


def test_holiday_care_greets_last_years_customers_on_the_day(journeys: Journeys) -> None:
    journeys.clock.at_local("2026-09-01 09:00")
    grant(journeys, 1, 3)
    journeys.install("holiday_care")
    add_orders(
        journeys.warehouse,
        order("H1", 1, "paid", "2026-06-01 10:00", paid_at="2026-06-01 10:01"),
        order("H3", 3, "paid", "2025-06-01 10:00", paid_at="2025-06-01 10:01"),  # more than a year ago
    )
    journeys.at("2026-09-25 09:59")
    journeys.at("2026-09-25 10:01")  # 中秋 2026
    assert journeys.sent("holiday-care") == [("1", "greetings", "email", "2026-09-25 10:01")]
    assert journeys.states("holiday-care") == {("1", "中秋:2026"): "completed"}


# --- 唤醒 win-back -------------------------------------------------------------------------------


def test_win_back_sends_a_coupon_and_a_call_task_for_the_valuable(journeys: Journeys) -> None:
    journeys.clock.at_local("2026-11-01 09:00")
    grant(journeys, 1, 3, 5)
    journeys.install("win_back", edit=NO_CONTROL)
    with journeys.sessions() as session, session.begin():
        create_user(session, username="wang", password="rep-password-1", role=Role.SALES, actor="test",
                    now=journeys.clock())  # fmt: skip
        set_owner(session, "1", "wang", actor="test", now=journeys.clock())
    scores(journeys, date(2026, 11, 1), {1: "platinum", 3: "lead", 5: "gold"})
    insert(
        journeys.warehouse,
        LIFECYCLE_TRANSITIONS,
        [
            {"customer_id": 1, "from_stage": "maturity", "to_stage": "decline", "as_of": date(2026, 11, 2)},
            {"customer_id": 3, "from_stage": "decline", "to_stage": "churned", "as_of": date(2026, 11, 2)},
            {"customer_id": 5, "from_stage": "growth", "to_stage": "maturity", "as_of": date(2026, 11, 2)},
        ],
    )
    journeys.at("2026-11-02 10:01")
    add_orders(journeys.warehouse, order("W3", 3, "paid", "2026-11-05 20:00", paid_at="2026-11-05 20:01"))
    journeys.at("2026-11-06 10:00")
    journeys.at("2026-11-16 10:01")
    assert journeys.sent("win-back") == [
        ("1", "coupon", "email", "2026-11-02 10:01"),
        ("3", "coupon", "email", "2026-11-02 10:01"),
    ]
    assert journeys.states("win-back") == {("1", "2026-11-02"): "completed", ("3", "2026-11-02"): "goal"}
    with journeys.sessions() as session:
        tasks = list(session.scalars(select(Task)))
    assert [(task.customer_id, task.title, task.source, task.assignee) for task in tasks] == [
        ("1", "回访高价值客户 1", "journey", "wang")
    ]
    assert tags(journeys, 1) == ["唤醒未回"]
    assert tags(journeys, 3) == []


# --- 预热 warm-up --------------------------------------------------------------------------------


def test_warm_up_sends_two_waves_before_the_holiday_with_wording_per_group(
    journeys: Journeys, sms_server: ProviderServer
) -> None:
    journeys.clock.at_local("2026-11-01 09:00")
    grant(journeys, 2, 4, 6)
    journeys.install("warm_up", edit=NO_CONTROL)
    scores(journeys, date(2026, 11, 1), {2: "gold", 4: "lead"})
    add_orders(
        journeys.warehouse,
        order("P2", 2, "paid", "2026-05-01 10:00", paid_at="2026-05-01 10:01"),
        order("P4", 4, "paid", "2026-06-01 10:00", paid_at="2026-06-01 10:01"),
        order("P6", 6, "paid", "2024-06-01 10:00", paid_at="2024-06-01 10:01"),  # not in the audience
    )
    journeys.at("2026-11-08 10:01")  # 双11 − 3 days
    journeys.at("2026-11-10 19:59")
    journeys.at("2026-11-10 20:01")
    assert journeys.sent("warm-up") == [
        ("2", "wave1_vip", "sms", "2026-11-08 10:01"),
        ("4", "wave1_all", "sms", "2026-11-08 10:01"),
        ("2", "wave2_vip", "sms", "2026-11-10 20:01"),
        ("4", "wave2_all", "sms", "2026-11-10 20:01"),
    ]
    texts = {request.json()["phone"]: [] for request in sms_server.received}
    for request in sms_server.received:
        texts[request.json()["phone"]].append(request.json()["text"])
    assert texts["+8613800000002"][0].startswith("尊敬的客户2,双11专属提前购")
    assert texts["+8613800000004"][0].startswith("客户4,双11狂欢即将开始")
    assert all(
        text.endswith("回复T退订") or "退订" in text for text in texts["+8613800000004"]
    )  # marketing SMS
    assert journeys.states("warm-up") == {("2", "双11:2026"): "completed", ("4", "双11:2026"): "completed"}


# --- 调研 research -------------------------------------------------------------------------------


def test_research_sends_the_survey_and_turns_the_answer_into_a_tag_and_points(journeys: Journeys) -> None:
    journeys.clock.at_local("2026-11-01 09:00")
    grant(journeys, 1, 3)
    journeys.install("research")
    add_orders(
        journeys.warehouse,
        order(
            "R1",
            1,
            "delivered",
            "2026-10-28 10:00",
            paid_at="2026-10-28 10:01",
            delivered_at="2026-10-30 10:00",
        ),
        order(
            "R3",
            3,
            "delivered",
            "2026-10-28 10:00",
            paid_at="2026-10-28 10:01",
            delivered_at="2026-10-30 11:00",
        ),
    )
    journeys.at("2026-11-02 11:01")  # 3 days after delivery
    insert(
        journeys.warehouse,
        RAW_EVENTS,
        [event("Q1", 1, "survey_answered", "2026-11-04 09:00", '{"score": 5}')],
    )
    journeys.at("2026-11-04 09:30")
    journeys.at("2026-11-09 11:01")  # 3's week is over: the reminder
    journeys.at("2026-11-16 11:01")  # and the second week: nothing more
    assert journeys.sent("research") == [
        ("1", "survey_link", "email", "2026-11-02 11:01"),
        ("3", "survey_link", "email", "2026-11-02 11:01"),
        ("3", "reminder", "email", "2026-11-09 11:01"),
    ]
    assert tags(journeys, 1) == ["已回问卷"]
    assert tags(journeys, 3) == []
    ledger = journeys.warehouse.table(POINTS_LEDGER.name).to_pyarrow().to_pylist()
    assert [(row["customer_id"], row["points"]) for row in ledger] == [(1, 20)]
    assert journeys.states("research") == {("1", "shop:R1"): "completed", ("3", "shop:R3"): "completed"}


# --- segment entry ---------------------------------------------------------------------------------

SEGMENT_JOURNEY = """
name: 新晋 VIP 欢迎
trigger:
  kind: segment_entered
  params: {segment: vip, at: "10:00"}
reentry: {mode: every_time}
steps:
  - name: welcome
    kind: send
    channels: [email]
    content:
      email: {subject: 欢迎成为 VIP, body: 欢迎}
"""


def test_a_segment_entry_journey_fires_once_per_entry(journeys: Journeys) -> None:
    journeys.clock.at_local("2026-11-01 09:00")
    grant(journeys, 1)
    journeys.write("vip-welcome", SEGMENT_JOURNEY)

    def membership(*spells: tuple[date, date | None]) -> None:
        journeys.warehouse.drop_table(SEGMENT_MEMBERSHIP.name, force=True)
        insert(
            journeys.warehouse,
            SEGMENT_MEMBERSHIP,
            [
                {"segment_key": "vip", "customer_id": 1, "entered_on": e, "left_on": left}
                for e, left in spells
            ],
        )

    membership((date(2026, 11, 2), None))
    journeys.at("2026-11-02 10:01")
    journeys.at("2026-11-02 12:00")  # the same entry again: nothing
    membership((date(2026, 11, 2), date(2026, 11, 5)), (date(2026, 11, 9), None))  # left, came back
    journeys.at("2026-11-05 10:01")
    journeys.at("2026-11-09 10:01")
    assert journeys.sent("vip-welcome") == [
        ("1", "welcome", "email", "2026-11-02 10:01"),
        ("1", "welcome", "email", "2026-11-09 10:01"),
    ]
    assert sorted(journeys.states("vip-welcome")) == [("1", "2026-11-02"), ("1", "2026-11-09")]


def test_money_columns_are_decimal() -> None:
    assert order("X", 1, "paid", "2026-01-01 10:00")["paid_amount"] == Decimal("199.00")
