"""The campaign report: who was reached, what was sent, and what the campaign caused against its control group.

:func:`campaign_report` reads the campaign's recipients and messages from the
app database and the orders from the warehouse, and returns a
:class:`CampaignReport`:

* ``outcomes`` — recipient rows by outcome over every wave (``queued``,
  ``control``, ``no_consent`` …);
* ``messages`` — messages by channel and state;
* ``target`` / ``control`` — the arms (:mod:`.attribution`): a target customer
  counts once, from their first *sent* message; a control customer from the
  first time they would have been sent to. Purchases count within
  ``attribution_days`` after that (the campaign's, unless overridden);
* ``uplift`` — :func:`.uplift.compare` of target against control.

Nothing is written. Times are handed to the warehouse as naive wall-clock
times in ``Settings.timezone``, as it stores them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import ibis
import pyarrow as pa
import pyarrow.compute as pc
from ibis.backends import BaseBackend
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from guanxi.config import Settings
from guanxi.marketing import outbox
from guanxi.marketing.campaigns.service import definition_of, get_campaign
from guanxi.marketing.campaigns.tables import CampaignRecipient
from guanxi.marketing.measurement.attribution import CONTROL, arms
from guanxi.marketing.measurement.uplift import Arm, Uplift, compare
from guanxi.models.inputs import attach_customer
from guanxi.tables import IDENTITY_MAP, RAW_ORDERS

TARGET = "target"
"""The arm of the customers who were sent to."""

EXPOSURES = pa.schema(
    [("customer_id", pa.string()), ("arm", pa.string()), ("exposed_at", pa.timestamp("us", tz="UTC"))]
)


@dataclass(frozen=True)
class CampaignReport:
    """One campaign's report (see the module docstring)."""

    key: str
    name: str
    status: str
    attribution_days: float
    control_share: float
    outcomes: dict[str, int]
    messages: dict[str, dict[str, int]]
    target: Arm
    control: Arm
    uplift: Uplift

    @property
    def sent(self) -> int:
        """Messages sent, over every channel."""
        return sum(states.get(outbox.STATES.done, 0) for states in self.messages.values())

    @property
    def revenue_per_message(self) -> float | None:
        """The target group's attributed revenue ÷ messages sent."""
        return self.target.revenue_total / self.sent if self.sent else None


def exposures(session: Session, campaign_id: int) -> pa.Table:
    """``customer_id``, ``arm``, ``exposed_at`` (UTC) per target and control row of the campaign."""
    message = outbox.OutboxMessage
    rows = session.execute(
        select(
            CampaignRecipient.customer_id,
            CampaignRecipient.outcome,
            func.coalesce(message.sent_at, CampaignRecipient.not_before),
        )
        .outerjoin(message, message.id == CampaignRecipient.message_id)
        .where(
            CampaignRecipient.campaign_id == campaign_id,
            or_(
                and_(CampaignRecipient.outcome == CONTROL, CampaignRecipient.not_before.is_not(None)),
                and_(CampaignRecipient.outcome == "queued", message.state == outbox.STATES.done),
            ),
        )
    ).all()
    customers, outcomes, times = (
        (list(column) for column in zip(*rows, strict=True)) if rows else ([], [], [])
    )
    return pa.table(
        {
            "customer_id": pa.array(customers, pa.string()),
            "arm": pc.if_else(pc.equal(pa.array(outcomes, pa.string()), CONTROL), CONTROL, TARGET),
            "exposed_at": pa.array(times, pa.timestamp("us", tz="UTC")),
        },
        schema=EXPOSURES,
    )


def _wall(table: pa.Table, settings: Settings) -> pa.Table:
    """``exposed_at`` as naive wall-clock time in ``settings.timezone``."""
    local = pc.local_timestamp(table.column("exposed_at").cast(pa.timestamp("us", tz=settings.timezone)))
    return table.set_column(2, "exposed_at", local)


def _orders(con: BaseBackend) -> ibis.Table:
    if RAW_ORDERS.name not in con.list_tables() or IDENTITY_MAP.name not in con.list_tables():
        return ibis.memtable(
            pa.Table.from_pylist(
                [], schema=pa.schema([*RAW_ORDERS.schema.to_pyarrow(), ("customer_id", pa.string())])
            )
        )
    orders = attach_customer(con.table(RAW_ORDERS.name), con.table(IDENTITY_MAP.name))
    return orders.mutate(customer_id=orders.customer_id.cast("string"))


def campaign_report(
    session: Session,
    con: BaseBackend,
    settings: Settings,
    key: str,
    *,
    attribution_days: float | None = None,
) -> CampaignReport:
    """The report of campaign ``key`` (NotFoundError if there is none)."""
    campaign = get_campaign(session, key)
    definition = definition_of(campaign)
    days = attribution_days if attribution_days is not None else definition.attribution_days
    outcomes = {
        str(outcome): int(count)
        for outcome, count in session.execute(
            select(CampaignRecipient.outcome, func.count())
            .where(CampaignRecipient.campaign_id == campaign.id)
            .group_by(CampaignRecipient.outcome)
        )
    }
    messages: dict[str, dict[str, int]] = {}
    for channel, state, count in session.execute(
        select(outbox.OutboxMessage.channel, outbox.OutboxMessage.state, func.count())
        .where(outbox.OutboxMessage.campaign_id == campaign.id)
        .group_by(outbox.OutboxMessage.channel, outbox.OutboxMessage.state)
    ):
        messages.setdefault(str(channel), {})[str(state)] = int(count)
    exposed = ibis.memtable(_wall(exposures(session, campaign.id), settings))
    found = arms(exposed, _orders(con), window=timedelta(days=days))
    empty = Arm(0, 0, {})
    target, control = found.get(TARGET, empty), found.get(CONTROL, empty)
    return CampaignReport(
        key=campaign.key,
        name=campaign.name,
        status=campaign.status,
        attribution_days=days,
        control_share=definition.control_share,
        outcomes=outcomes,
        messages=messages,
        target=target,
        control=control,
        uplift=compare(target, control),
    )
