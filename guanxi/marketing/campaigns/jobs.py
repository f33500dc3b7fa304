"""The ``campaigns.wave`` job kind and the ``campaign-waves`` service that queues it.

The service looks every ``campaigns_wave_seconds`` for waves that are due
(``waiting``, ``due_at`` passed, campaign scheduled or running) and submits one
``campaigns.wave`` job per wave (slot key ``campaign-wave:<id>``: any number of
schedulers, one job). It also fails waves whose job failed and completes
campaigns with nothing left to send.

The job evaluates the wave at its send time — ``max(due_at, now)``: consent,
suppressions and caps as they are when it runs, so an unsubscribe between two
waves stops the next — renders the messages, then writes outbox, recipients
and contacts in one transaction. Re-running a built wave changes nothing.
"""

from __future__ import annotations

from typing import Any

import ibis
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from guanxi.jobs import store
from guanxi.jobs.kinds import JobContext, JobKind, Params, Result, Service, checked_by
from guanxi.jobs.registry import job_kinds
from guanxi.jobs.tables import CANCELLED as JOB_CANCELLED
from guanxi.jobs.tables import STATES as JOB_STATES
from guanxi.jobs.tables import Job
from guanxi.marketing.campaigns import build
from guanxi.marketing.campaigns.audience import members
from guanxi.marketing.campaigns.service import (
    definition_of,
    earlier_or_current,
    finish_if_done,
    get_campaign,
    next_batch_wave,
)
from guanxi.marketing.campaigns.tables import (
    PAUSED,
    RUNNING,
    SCHEDULED,
    WAVE_BUILDING,
    WAVE_FAILED,
    WAVE_QUEUED,
    WAVE_WAITING,
    Campaign,
    CampaignWave,
)
from guanxi.marketing.channels import registered_channels

KIND = "campaigns.wave"


class WaveParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    campaign: str = Field(min_length=1, max_length=64)
    wave: int = Field(ge=0)


def run_wave(context: JobContext, params: Params) -> Result:
    wanted = WaveParams.model_validate(dict(params))
    definitions = registered_channels()
    with context.sessions() as session:
        campaign = get_campaign(session, wanted.campaign)
        wave = session.scalars(
            select(CampaignWave).where(
                CampaignWave.campaign_id == campaign.id, CampaignWave.wave_index == wanted.wave
            )
        ).one()
        if wave.state == WAVE_QUEUED:
            return {
                "campaign": campaign.key,
                "wave": wave.wave_index,
                "skipped": "built already",
                **wave.counts,
            }
        if campaign.status not in (SCHEDULED, RUNNING):
            return {
                "campaign": campaign.key,
                "wave": wave.wave_index,
                "skipped": f"campaign {campaign.status}",
            }
        definition = definition_of(campaign)
        send_at = max(wave.due_at, context.now)
        context.progress(0, 3, "audience")
        evaluation = build.evaluate(
            context.warehouse,
            session,
            campaign,
            definition,
            wave.wave_index,
            send_at=send_at,
            settings=context.settings,
            definitions=definitions,
        )
        session.expunge(campaign)  # render with its loaded values, no read transaction left open
        session.rollback()
    context.progress(1, 3, "rendering")
    rendered, errors = build.render_queued(
        evaluation, campaign, definition, settings=context.settings, definitions=definitions
    )
    context.progress(2, 3, "writing")
    with context.sessions() as session, session.begin():
        campaign = session.get(Campaign, campaign.id) or campaign
        wave = session.scalars(
            select(CampaignWave).where(
                CampaignWave.campaign_id == campaign.id, CampaignWave.wave_index == wanted.wave
            )
        ).one()
        if campaign.status not in (SCHEDULED, RUNNING):
            return {
                "campaign": campaign.key,
                "wave": wave.wave_index,
                "skipped": f"campaign {campaign.status}",
            }
        result = build.build_wave(
            session,
            evaluation,
            campaign,
            definition,
            rendered,
            errors,
            definitions=definitions,
            now=context.now,
        )
        remaining = _remaining(context, session, campaign, definition, wave.wave_index)
        wave.state, wave.counts, wave.version, wave.built_at = (
            WAVE_QUEUED,
            result.counts,
            campaign.version,
            context.now,
        )
        wave.job_id = context.job_id
        campaign.status = RUNNING
        following = next_batch_wave(session, campaign, wave, remaining)
    context.log(
        f"wave {wanted.wave} of {campaign.key}: {result.queued} queued of {result.counts['audience']}"
        + (f", {result.render_failed} could not be rendered" if result.render_failed else "")
        + (f"; next wave at {following.due_at:%Y-%m-%d %H:%M} UTC" if following else "")
    )
    context.progress(3, 3, "done")
    return {
        "campaign": campaign.key,
        "wave": wanted.wave,
        "counts": result.counts,
        "by_channel": result.by_channel,
        "errors": errors[:20],
        "remaining": remaining,
    }


def _remaining(
    context: JobContext, session: Any, campaign: Campaign, definition: Any, wave_index: int
) -> int:
    """Audience members not yet a recipient of any wave up to ``wave_index`` (``batches`` only)."""
    if definition.schedule.mode != "batches":
        return 0
    as_of = context.now.astimezone(context.settings.zone).date()
    ids = members(context.warehouse, session, definition.audience, as_of=as_of)
    taken = earlier_or_current(session, campaign, wave_index)
    if taken:
        ids = ids.anti_join(
            ibis.memtable(pa.table({"customer_id": pa.array(taken, pa.int64())})), "customer_id"
        )
    return int(ids.count().to_pyarrow().as_py())


WAVE_KIND = JobKind(
    KIND,
    run_wave,
    "Build one campaign wave: audience, consent, caps, quiet hours, render, outbox",
    title={"zh-CN": "活动波次", "en": "Campaign wave"},
    check=checked_by(WaveParams),
    writes_warehouse=True,
    permission="edit",
)


def queue_due_waves(context: JobContext) -> int:
    """One pass of the wave scheduler; returns how many waves were queued, failed or completed."""
    kind = job_kinds()[KIND]
    handled = 0
    with context.sessions() as session, session.begin():
        due = session.execute(
            select(CampaignWave, Campaign)
            .join(Campaign, Campaign.id == CampaignWave.campaign_id)
            .where(
                CampaignWave.state == WAVE_WAITING,
                CampaignWave.due_at <= context.now,
                Campaign.status.in_((SCHEDULED, RUNNING)),
            )
            .order_by(CampaignWave.due_at)
        ).all()
        for wave, campaign in due:
            job = store.submit(
                session,
                kind,
                {"campaign": campaign.key, "wave": wave.wave_index},
                owner=campaign.launched_by or "system",
                origin="schedule",
                now=context.now,
                slot_key=f"campaign-wave:{wave.id}:{int(campaign.updated_at.timestamp())}",
            )
            wave.state = WAVE_BUILDING
            if job is not None:
                wave.job_id = job.id
            handled += 1
        building = session.execute(
            select(CampaignWave, Job)
            .join(Job, Job.id == CampaignWave.job_id)
            .where(CampaignWave.state == WAVE_BUILDING)
        ).all()
        for wave, job in building:
            if job.state == JOB_STATES.done:
                # the job ran but skipped the wave (its campaign was paused meanwhile): wait again
                wave.state = WAVE_WAITING
            elif job.state == JOB_CANCELLED:
                owner = session.get(Campaign, wave.campaign_id)
                paused = owner is not None and owner.status == PAUSED
                wave.state, wave.error = (WAVE_WAITING, None) if paused else (WAVE_FAILED, "job cancelled")
            elif job.state == JOB_STATES.dead:
                wave.state, wave.error = WAVE_FAILED, job.error or "job failed"
            else:
                continue
            handled += 1
        for campaign in session.scalars(select(Campaign).where(Campaign.status == RUNNING)):
            handled += finish_if_done(session, campaign, now=context.now)
    return handled


WAVES_SERVICE = Service(
    "campaign-waves",
    queue_due_waves,
    lambda settings: settings.campaigns_wave_seconds,
    "Queue due campaign waves as jobs; complete campaigns with nothing left to send",
    writes_warehouse=False,
)
