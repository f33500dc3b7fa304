"""Preview and dry run of a stored campaign by key: the entry points of the CLI, the API and the pages.

The send time of a wave is its planned time: for a draft, as if launched at
``now``; for a launched campaign, the wave's ``due_at`` (or ``now`` once due).
"""

from __future__ import annotations

from datetime import datetime

from ibis.backends import BaseBackend
from sqlalchemy.orm import Session

from guanxi.config import Settings
from guanxi.errors import ValidationFailedError
from guanxi.marketing.campaigns import build
from guanxi.marketing.campaigns.service import definition_of, get_campaign, planned_times, waves_of
from guanxi.marketing.campaigns.tables import DRAFT
from guanxi.marketing.channels import ChannelSet


def wave_times(session: Session, key: str, *, now: datetime) -> list[datetime]:
    """The send time of each wave known now (never before ``now``)."""
    campaign = get_campaign(session, key)
    if campaign.status == DRAFT:
        times = [due for _, due in planned_times(definition_of(campaign), now)]
    else:
        times = [wave.due_at for wave in waves_of(session, campaign)]
    return [max(time, now) for time in times]


def preview_campaign(
    con: BaseBackend,
    session: Session,
    key: str,
    *,
    now: datetime,
    settings: Settings,
    channels: ChannelSet,
    wave: int = 0,
) -> build.Preview:
    """The preview of wave ``wave`` of campaign ``key`` (ValidationFailedError for a wave that is not planned)."""
    campaign = get_campaign(session, key)
    times = wave_times(session, key, now=now)
    if not 0 <= wave < len(times):
        raise ValidationFailedError(
            f"campaign {key!r} has {len(times)} planned wave(s); there is no wave {wave}"
        )
    return build.preview(
        con,
        session,
        campaign,
        definition_of(campaign),
        wave_index=wave,
        send_at=times[wave],
        settings=settings,
        definitions=channels.definitions,
    )


def dry_run_campaign(
    con: BaseBackend, session: Session, key: str, *, now: datetime, settings: Settings, channels: ChannelSet
) -> build.DryRun:
    """The dry run of every planned wave of campaign ``key``."""
    campaign = get_campaign(session, key)
    return build.dry_run(
        con,
        session,
        campaign,
        definition_of(campaign),
        wave_times=wave_times(session, key, now=now),
        settings=settings,
        channels=channels,
    )
