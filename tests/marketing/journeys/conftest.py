"""Journey fixtures: the campaigns' tiny shop and real servers, plus a driver for journeys on a controlled clock.

:class:`Journeys` installs recipes (or writes journeys), activates them, runs
journey passes at the clock's time and delivers what they put in the outbox
through the real SMTP and SMS servers, then reads back what each customer got.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from ibis.backends import BaseBackend
from pydantic_settings import BaseSettings
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from guanxi.config import Settings
from guanxi.jobs.kinds import JobContext
from guanxi.marketing import outbox
from guanxi.marketing.channels import ChannelSet
from guanxi.marketing.journeys import service
from guanxi.marketing.journeys import tables as t
from guanxi.marketing.journeys.recipes import registered_recipes
from guanxi.marketing.journeys.runtime import PassStats, catalogue, run_pass
from guanxi.marketing.worker import Worker
from guanxi.tables import IDENTITY_MAP, RAW_ORDERS
from tests.marketing.campaigns.conftest import (
    Clock,
    campaign_settings,
    channel_settings,
    clock,
    sessions,
    shop,
    sms_server,
    webhook_sink,
)
from tests.marketing.test_smtp import mailbox
from tests.segments.scenario import insert

__all__ = [
    "Clock",
    "campaign_settings",
    "channel_settings",
    "clock",
    "mailbox",
    "sessions",
    "shop",
    "sms_server",
    "webhook_sink",
]

SHANGHAI = ZoneInfo("Asia/Shanghai")


def wall(text: str) -> datetime:
    """A naive Asia/Shanghai wall-clock time, as the warehouse holds it: ``wall("2026-11-01 10:00")``."""
    return datetime.fromisoformat(text)


@dataclass
class Journeys:
    settings: Settings
    warehouse: BaseBackend
    sessions: sessionmaker[Session]
    channels: ChannelSet
    clock: Clock

    def install(self, recipe: str, *, edit: dict[str, str] | None = None, key: str | None = None) -> str:
        """Install a recipe (with textual replacements ``edit``) and activate it at the clock's time."""
        text = registered_recipes()[recipe].text
        for old, new in (edit or {}).items():
            assert old in text, f"{old!r} is not in the recipe {recipe}"
            text = text.replace(old, new)
        chosen = key or recipe.replace("_", "-")
        return self.write(chosen, text, recipe=recipe)

    def write(self, key: str, text: str, *, recipe: str | None = None) -> str:
        with self.sessions() as session, session.begin():
            service.save_journey(
                session,
                key,
                text,
                actor="test",
                now=self.clock(),
                catalogue=catalogue(settings=self.settings),
                recipe=recipe,
            )
            service.activate(session, key, actor="test", now=self.clock())
        return key

    def context(self) -> JobContext:
        return JobContext(
            settings=self.settings, warehouse=self.warehouse, sessions=self.sessions, now=self.clock()
        )

    def run(self) -> PassStats:
        """One journey pass at the clock's time (passes until no step is due now), then delivery."""
        total = PassStats()
        for _ in range(10):
            stats = run_pass(self.context())
            assert not stats.errors, stats.errors
            total.entered += stats.entered
            total.goals += stats.goals
            total.steps += stats.steps
            if not stats.steps:
                break
        self.deliver()
        return total

    def at(self, text: str) -> PassStats:
        """Move the clock to a Shanghai wall-clock time and run a pass there."""
        self.clock.at_local(text)
        return self.run()

    def deliver(self) -> None:
        worker = Worker(
            self.sessions, self.settings, "test-worker", batch=50, stop_event=threading.Event(),
            clock=self.clock, channels=self.channels,
        )  # fmt: skip
        while worker.run_once():
            pass

    def messages(self, journey: str | None = None) -> list[outbox.OutboxMessage]:
        with self.sessions() as session:
            query = select(outbox.OutboxMessage).order_by(outbox.OutboxMessage.id)
            found = list(session.scalars(query))
            session.expunge_all()
        return [m for m in found if journey is None or (m.payload or {}).get("journey") == journey]

    def sent(self, journey: str | None = None) -> list[tuple[str, str, str, str]]:
        """``(customer, step, channel, local send time YYYY-MM-DD HH:MM)`` of every delivered message.

        Sorted by time, then customer and step (the order the database returns rows in is not fixed).
        """
        rows = []
        for message in self.messages(journey):
            if message.state != outbox.STATES.done:
                continue
            moment = (message.sent_at or message.created_at).astimezone(SHANGHAI)
            rows.append(
                (str(message.customer_id), str((message.payload or {}).get("step")), message.channel,
                 moment.strftime("%Y-%m-%d %H:%M"))
            )  # fmt: skip
        return sorted(rows, key=lambda row: (row[3], row[0], row[1]))

    def enrollments(self, journey: str) -> list[t.JourneyEnrollment]:
        with self.sessions() as session:
            found = list(
                session.scalars(
                    select(t.JourneyEnrollment)
                    .where(t.JourneyEnrollment.journey_key == journey)
                    .order_by(t.JourneyEnrollment.id)
                )
            )
            session.expunge_all()
        return found

    def states(self, journey: str) -> dict[tuple[str, str], str]:
        return {(e.customer_id, e.occurrence_key): e.state for e in self.enrollments(journey)}


@pytest.fixture
def journeys(
    campaign_settings: Settings,
    shop: BaseBackend,
    sessions: sessionmaker[Session],
    channel_settings: dict[str, BaseSettings],
    clock: Clock,
) -> Iterator[Journeys]:
    channels = ChannelSet(channel_settings=channel_settings)
    insert(
        shop,
        IDENTITY_MAP,
        [{"source": "shop", "source_customer_id": f"c{n}", "customer_id": n} for n in range(1, 10)],
    )
    yield Journeys(campaign_settings, shop, sessions, channels, clock)
    channels.close()


def order(order_id: str, customer: int, status: str, created: str, **moments: Any) -> dict[str, Any]:
    """A raw order of shop customer ``c<customer>`` (times as Shanghai wall-clock text)."""
    from decimal import Decimal

    paid = status in ("paid", "shipped", "delivered", "refunded")
    return {
        "source": "shop",
        "order_id": order_id,
        "source_customer_id": f"c{customer}",
        "status": status,
        "created_at": wall(created),
        "total_amount": Decimal("199.00"),
        "paid_amount": Decimal("199.00") if paid else None,
        **{name: wall(value) for name, value in moments.items()},
    }


def add_orders(con: BaseBackend, *rows: dict[str, Any]) -> None:
    insert(con, RAW_ORDERS, rows)


def set_order(con: BaseBackend, order_id: str, **changes: Any) -> None:
    """Replace an order's row with changed fields (how a re-import of a newer export updates it)."""
    table = con.table(RAW_ORDERS.name)
    row = table.filter(table.order_id == order_id).to_pyarrow().to_pylist()[0]
    row.update({k: wall(v) if k.endswith("_at") and isinstance(v, str) else v for k, v in changes.items()})
    kept = table.filter(table.order_id != order_id).to_pyarrow().to_pylist()
    con.drop_table(RAW_ORDERS.name)
    insert(con, RAW_ORDERS, [*kept, row])
