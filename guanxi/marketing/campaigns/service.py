"""Campaigns service: definitions, versions, launch and the controls (pause, resume, cancel), status.

Every function works in the caller's session and never commits; each change is
audited. Rules:

* a definition can be changed while the campaign is a ``draft`` or ``paused``;
  each change is a new version (waves not yet built use the newest);
* **launch** plans the waves (one for ``now``/``at``, the first for
  ``batches``, every listed one for ``waves``) and makes the campaign
  ``scheduled``; the wave scheduler queues each wave's build as a job when due;
* **pause** stops new waves and holds every message of the campaign not yet
  handed to a channel (``held``); **resume** lets them go (at once, or after
  quiet hours via the send-time check) and waits for the next waves again;
* **cancel** withdraws every unsent message (``cancelled``: it never counts
  towards a cap) and every waiting wave; it cannot be undone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from guanxi.appdb.audit import record
from guanxi.errors import AlreadyExistsError, NotFoundError, ValidationFailedError
from guanxi.marketing import outbox
from guanxi.marketing.campaigns.definition import CampaignDefinition, parse_definition
from guanxi.marketing.campaigns.tables import (
    CANCELLED,
    COMPLETED,
    DRAFT,
    PAUSED,
    RUNNING,
    SCHEDULED,
    WAVE_BUILDING,
    WAVE_CANCELLED,
    WAVE_QUEUED,
    WAVE_WAITING,
    Campaign,
    CampaignRecipient,
    CampaignVersion,
    CampaignWave,
)

KEY_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
UNSENT = (outbox.STATES.pending, outbox.STATES.failed)


class CampaignStateError(ValidationFailedError):
    """The campaign is not in a state that allows the action (HTTP 409)."""

    code = "campaign_state"
    http_status = 409


def get_campaign(session: Session, key: str) -> Campaign:
    """The campaign called ``key``; NotFoundError when there is none."""
    found = session.scalars(select(Campaign).where(Campaign.key == key)).first()
    if found is None:
        raise NotFoundError(f"no campaign {key!r}")
    return found


def definition_of(campaign: Campaign) -> CampaignDefinition:
    return CampaignDefinition.model_validate(campaign.definition)


def list_campaigns(session: Session) -> list[Campaign]:
    return list(session.scalars(select(Campaign).order_by(Campaign.id.desc())))


def create_campaign(
    session: Session,
    key: str,
    data: Any,
    *,
    actor: str,
    now: datetime,
    known_channels: set[str] | None = None,
) -> Campaign:
    """A new draft (version 1); raises ValidationFailedError (every problem) or AlreadyExistsError."""
    if not KEY_PATTERN.fullmatch(key):
        raise ValidationFailedError(
            f"campaign key {key!r}: use lower-case letters, digits, _ and -, at most 64 characters"
        )
    definition = parse_definition(data, known_channels=known_channels)
    if session.scalars(select(Campaign.id).where(Campaign.key == key)).first() is not None:
        raise AlreadyExistsError(f"a campaign {key!r} exists already")
    stored = definition.model_dump(mode="json", exclude_none=True)
    campaign = Campaign(
        key=key,
        name=definition.name,
        purpose=definition.purpose,
        transactional=definition.transactional,
        status=DRAFT,
        version=1,
        definition=stored,
        created_at=now,
        created_by=actor,
        updated_at=now,
    )
    session.add(campaign)
    session.flush()
    session.add(
        CampaignVersion(
            campaign_id=campaign.id, version=1, definition=stored, created_at=now, created_by=actor
        )
    )
    record(
        session, actor=actor, action="campaign.create", target=key, now=now, detail={"name": definition.name}
    )
    return campaign


def update_campaign(
    session: Session,
    key: str,
    data: Any,
    *,
    actor: str,
    now: datetime,
    known_channels: set[str] | None = None,
) -> Campaign:
    """Save a new version; only a draft or a paused campaign can change."""
    campaign = get_campaign(session, key)
    if campaign.status not in (DRAFT, PAUSED):
        raise CampaignStateError(f"campaign {key!r} is {campaign.status}: pause it to change it")
    definition = parse_definition(data, known_channels=known_channels)
    stored = definition.model_dump(mode="json", exclude_none=True)
    if stored == campaign.definition:
        return campaign
    campaign.version += 1
    campaign.definition, campaign.name, campaign.purpose = stored, definition.name, definition.purpose
    campaign.transactional, campaign.updated_at = definition.transactional, now
    session.add(
        CampaignVersion(
            campaign_id=campaign.id,
            version=campaign.version,
            definition=stored,
            created_at=now,
            created_by=actor,
        )
    )
    record(
        session,
        actor=actor,
        action="campaign.update",
        target=key,
        now=now,
        detail={"version": campaign.version},
    )
    return campaign


def versions(session: Session, campaign: Campaign) -> list[CampaignVersion]:
    return list(
        session.scalars(
            select(CampaignVersion)
            .where(CampaignVersion.campaign_id == campaign.id)
            .order_by(CampaignVersion.version)
        )
    )


def planned_times(definition: CampaignDefinition, launched_at: datetime) -> list[tuple[str, datetime]]:
    """(name, due time) of the waves known at launch (``batches``: the first only; the rest follow builds)."""
    schedule = definition.schedule
    start = schedule.at or launched_at
    if schedule.mode in ("now", "at", "batches"):
        return [("", start if schedule.mode != "now" else launched_at)]
    return [
        (
            wave.name,
            wave.at if wave.at is not None else launched_at + timedelta(minutes=wave.offset_minutes or 0),
        )
        for wave in schedule.waves
    ]


def waves_of(session: Session, campaign: Campaign) -> list[CampaignWave]:
    return list(
        session.scalars(
            select(CampaignWave)
            .where(CampaignWave.campaign_id == campaign.id)
            .order_by(CampaignWave.wave_index)
        )
    )


def launch(session: Session, key: str, *, actor: str, now: datetime) -> Campaign:
    """Plan the waves and schedule the campaign; only a draft can be launched."""
    campaign = get_campaign(session, key)
    if campaign.status != DRAFT:
        raise CampaignStateError(f"campaign {key!r} is {campaign.status}, not a draft")
    definition = definition_of(campaign)
    for index, (name, due) in enumerate(planned_times(definition, now)):
        session.add(
            CampaignWave(campaign_id=campaign.id, wave_index=index, name=name, due_at=due, state=WAVE_WAITING)
        )
    campaign.status, campaign.launched_at, campaign.launched_by, campaign.updated_at = (
        SCHEDULED,
        now,
        actor,
        now,
    )
    record(
        session,
        actor=actor,
        action="campaign.launch",
        target=key,
        now=now,
        detail={"version": campaign.version},
    )
    return campaign


def next_batch_wave(
    session: Session, campaign: Campaign, built: CampaignWave, remaining: int
) -> CampaignWave | None:
    """After a ``batches`` wave was built: the next wave when audience members remain."""
    definition = definition_of(campaign)
    schedule = definition.schedule
    if schedule.mode != "batches" or remaining <= 0 or schedule.interval_minutes is None:
        return None
    wave = CampaignWave(
        campaign_id=campaign.id,
        wave_index=built.wave_index + 1,
        name="",
        due_at=built.due_at + timedelta(minutes=schedule.interval_minutes),
        state=WAVE_WAITING,
    )
    session.add(wave)
    return wave


def pause(session: Session, key: str, *, actor: str, now: datetime) -> int:
    """Pause a scheduled or running campaign; returns how many unsent messages are now held."""
    campaign = get_campaign(session, key)
    if campaign.status not in (SCHEDULED, RUNNING):
        raise CampaignStateError(f"campaign {key!r} is {campaign.status}: only a launched campaign can pause")
    campaign.status, campaign.updated_at = PAUSED, now
    held = session.execute(
        update(outbox.OutboxMessage)
        .where(outbox.OutboxMessage.campaign_id == campaign.id, outbox.OutboxMessage.state.in_(UNSENT))
        .values(state=outbox.HELD)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    record(session, actor=actor, action="campaign.pause", target=key, now=now, detail={"held": int(held)})
    return int(held)


def resume(session: Session, key: str, *, actor: str, now: datetime) -> int:
    """Resume a paused campaign; returns how many held messages are pending again."""
    campaign = get_campaign(session, key)
    if campaign.status != PAUSED:
        raise CampaignStateError(f"campaign {key!r} is {campaign.status}, not paused")
    built = any(w.state == WAVE_QUEUED for w in waves_of(session, campaign))
    campaign.status, campaign.updated_at = (RUNNING if built else SCHEDULED), now
    message = outbox.OutboxMessage
    released = session.execute(
        update(message)
        .where(message.campaign_id == campaign.id, message.state == outbox.HELD)
        .values(state=outbox.STATES.pending)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    record(
        session,
        actor=actor,
        action="campaign.resume",
        target=key,
        now=now,
        detail={"released": int(released)},
    )
    return int(released)


def cancel(session: Session, key: str, *, actor: str, now: datetime) -> int:
    """Cancel a campaign for good; returns how many unsent messages were withdrawn."""
    campaign = get_campaign(session, key)
    if campaign.status in (COMPLETED, CANCELLED):
        raise CampaignStateError(f"campaign {key!r} is {campaign.status} already")
    campaign.status, campaign.updated_at, campaign.finished_at = CANCELLED, now, now
    message = outbox.OutboxMessage
    withdrawn = session.execute(
        update(message)
        .where(message.campaign_id == campaign.id, message.state.in_((*UNSENT, outbox.HELD)))
        .values(state=outbox.CANCELLED)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    session.execute(
        update(CampaignWave)
        .where(CampaignWave.campaign_id == campaign.id, CampaignWave.state == WAVE_WAITING)
        .values(state=WAVE_CANCELLED)
        .execution_options(synchronize_session=False)
    )
    record(
        session,
        actor=actor,
        action="campaign.cancel",
        target=key,
        now=now,
        detail={"withdrawn": int(withdrawn)},
    )
    return int(withdrawn)


@dataclass(frozen=True)
class WaveStatus:
    index: int
    name: str
    due_at: datetime
    state: str
    counts: dict[str, Any]
    messages: dict[str, int]
    """Outbox state → messages of this wave."""
    error: str | None


@dataclass(frozen=True)
class Status:
    campaign: Campaign
    waves: list[WaveStatus]
    messages: dict[str, int]
    receipts: dict[str, int]


def status(session: Session, key: str) -> Status:
    """Waves with their funnel counts and their messages by outbox state (grouped queries)."""
    campaign = get_campaign(session, key)
    message = outbox.OutboxMessage
    per_wave: dict[int, dict[str, int]] = {}
    for wave_index, state, count in session.execute(
        select(message.wave_index, message.state, func.count())
        .where(message.campaign_id == campaign.id)
        .group_by(message.wave_index, message.state)
    ):
        per_wave.setdefault(int(wave_index or 0), {})[str(state)] = int(count)
    receipts = {
        str(receipt): int(count)
        for receipt, count in session.execute(
            select(message.receipt, func.count())
            .where(message.campaign_id == campaign.id, message.receipt.is_not(None))
            .group_by(message.receipt)
        )
    }
    waves = [
        WaveStatus(
            w.wave_index, w.name, w.due_at, w.state, dict(w.counts), per_wave.get(w.wave_index, {}), w.error
        )
        for w in waves_of(session, campaign)
    ]
    totals: dict[str, int] = {}
    for counts in per_wave.values():
        for state, count in counts.items():
            totals[state] = totals.get(state, 0) + count
    return Status(campaign, waves, totals, receipts)


def finish_if_done(session: Session, campaign: Campaign, *, now: datetime) -> bool:
    """Mark a running campaign completed when no wave waits and no message is left to send."""
    if campaign.status != RUNNING:
        return False
    waves = waves_of(session, campaign)
    if any(w.state in (WAVE_WAITING, WAVE_BUILDING) for w in waves):
        return False
    message = outbox.OutboxMessage
    open_messages = session.scalar(
        select(func.count())
        .select_from(message)
        .where(
            message.campaign_id == campaign.id,
            message.state.in_((*UNSENT, outbox.STATES.claimed, outbox.HELD)),
        )
    )
    if open_messages:
        return False
    campaign.status, campaign.finished_at = COMPLETED, now
    return True


def earlier_or_current(session: Session, campaign: Campaign, wave_index: int) -> list[int]:
    """Customer ids that were people of waves ``0 … wave_index`` of ``campaign``."""
    rows = session.scalars(
        select(CampaignRecipient.customer_id)
        .where(CampaignRecipient.campaign_id == campaign.id, CampaignRecipient.wave_index <= wave_index)
        .distinct()
    )
    return [int(value) for value in rows]


def recipients_of(
    session: Session, campaign: Campaign, *, wave_index: int | None = None
) -> list[CampaignRecipient]:
    query = select(CampaignRecipient).where(CampaignRecipient.campaign_id == campaign.id)
    if wave_index is not None:
        query = query.where(CampaignRecipient.wave_index == wave_index)
    return list(session.scalars(query.order_by(CampaignRecipient.wave_index, CampaignRecipient.customer_id)))
