"""The send-time check: the last look every message gets before any channel is called.

Campaign builds already leave out people without consent, suppressed, at the
cap or in quiet hours; but time passes between a build and the send (a wave
queued at 20:59 is delayed to 08:00, an SMS reply "退订" arrives at 21:30), so
the worker asks here once more, for each claimed batch in three queries:

1. **Hard suppression** — an address suppressed on the message's medium or on
   every medium gets nothing, transactional messages included → ``suppressed``.
2. **Consent** — a marketing message on a channel that needs consent goes only
   to an address whose consent is ``granted`` now → ``suppressed``.
3. **Campaign controls** — a message of a paused campaign is ``held``, of a
   cancelled one ``cancelled``.
4. **Quiet hours** — a customer-facing marketing message due inside quiet
   hours is deferred to the window's end (not an attempt, never dropped).

Transactional messages skip 2 and 4; staff-facing channels (tasks) skip 2 and
4; so do messages enqueued without a ``medium`` (put in the outbox directly
rather than through the send path, which always sets it). Messages whose channel is unknown pass (the channel lookup fails them).
Pure decisions (:func:`decide`) are kept apart from the reads (:func:`check`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from guanxi.marketing.campaigns.tables import Campaign
from guanxi.marketing.channels import ChannelDefinition
from guanxi.marketing.consent import GRANTED, ConsentState
from guanxi.marketing.outbox import CANCELLED, HELD, SUPPRESSED, OutboxMessage
from guanxi.marketing.quiet_hours import QuietHours
from guanxi.marketing.suppression import ALL_MEDIA, Suppression

SEND = "send"
DEFER = "defer"


@dataclass(frozen=True)
class Verdict:
    """What to do with one message: ``send``, ``defer`` (until ``until``), or a final state with a reason."""

    action: str
    reason: str = ""
    until: datetime | None = None


GO = Verdict(SEND)


@dataclass(frozen=True)
class Facts:
    """What the checks read for one batch."""

    suppressed: Mapping[tuple[str, str], str]
    """(medium, address) → reason; medium ``*`` for every medium."""
    consent: Mapping[tuple[str, str], str]
    campaign_status: Mapping[int, str]


def medium_of(message: OutboxMessage, definitions: Mapping[str, ChannelDefinition]) -> str:
    if message.medium:
        return message.medium
    definition = definitions.get(message.channel)
    return definition.consent_medium if definition is not None else message.channel


def decide(
    message: OutboxMessage,
    facts: Facts,
    *,
    now: datetime,
    quiet: QuietHours,
    definitions: Mapping[str, ChannelDefinition],
) -> Verdict:
    """The verdict for ``message`` given ``facts`` (pure)."""
    definition = definitions.get(message.channel)
    medium = medium_of(message, definitions)
    address = message.recipient
    reason = facts.suppressed.get((medium, address)) or facts.suppressed.get((ALL_MEDIA, address))
    if reason is not None:
        return Verdict(SUPPRESSED, f"suppressed: {reason}")
    if message.campaign_id is not None:
        status = facts.campaign_status.get(message.campaign_id)
        if status == "paused":
            return Verdict(HELD, "campaign paused")
        if status == "cancelled":
            return Verdict(CANCELLED, "campaign cancelled")
    if message.transactional or definition is None or message.medium is None:
        # no medium: put in the outbox directly, not through the send path (an API client, a test);
        # only hard suppression applies
        return GO
    if (
        definition.needs_consent
        and definition.customer_facing
        and facts.consent.get((medium, address)) != GRANTED
    ):
        return Verdict(SUPPRESSED, "no consent")
    if definition.customer_facing and quiet.contains(now):
        return Verdict(DEFER, "quiet hours", quiet.next_allowed(now))
    return GO


def read_facts(
    session: Session, messages: Iterable[OutboxMessage], definitions: Mapping[str, ChannelDefinition]
) -> Facts:
    """Suppressions, consents and campaign statuses of ``messages``' addresses (three queries)."""
    batch = list(messages)
    points = {(medium_of(m, definitions), m.recipient) for m in batch}
    addresses = {address for _, address in points}
    suppressed: dict[tuple[str, str], str] = {}
    consent: dict[tuple[str, str], str] = {}
    statuses: dict[int, str] = {}
    if addresses:
        rows = session.execute(
            select(Suppression.medium, Suppression.address, Suppression.reason).where(
                Suppression.address.in_(sorted(addresses)), Suppression.lifted_at.is_(None)
            )
        )
        suppressed = {(str(m), str(a)): str(r) for m, a, r in rows}
        found = session.execute(
            select(ConsentState.medium, ConsentState.address, ConsentState.state).where(
                tuple_(ConsentState.medium, ConsentState.address).in_(sorted(points))
            )
        )
        consent = {(str(m), str(a)): str(s) for m, a, s in found}
    campaigns = {m.campaign_id for m in batch if m.campaign_id is not None}
    if campaigns:
        statuses = {
            int(i): str(s)
            for i, s in session.execute(
                select(Campaign.id, Campaign.status).where(Campaign.id.in_(campaigns))
            )
        }
    return Facts(suppressed, consent, statuses)


def check(
    session: Session,
    messages: list[OutboxMessage],
    *,
    now: datetime,
    quiet: QuietHours,
    definitions: Mapping[str, ChannelDefinition],
) -> dict[int, Verdict]:
    """Message id → verdict for a claimed batch."""
    facts = read_facts(session, messages, definitions)
    return {m.id: decide(m, facts, now=now, quiet=quiet, definitions=definitions) for m in messages}
