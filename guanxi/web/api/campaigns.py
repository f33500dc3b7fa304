"""``/v1/campaigns``: campaign definitions, their status, preview, dry run and controls.

Reading needs ``view``; creating, changing, the dry run and the controls need
``edit`` (and, through ``/v1``, an API key). A definition is the JSON of
:class:`~guanxi.marketing.campaigns.definition.CampaignDefinition`; an invalid
one answers ``422 validation_failed`` listing every problem, a control the
campaign's status does not allow ``409 campaign_state``. Recipients' addresses
are masked (``138****0002``, ``c***@shop.cn``) as on the pages. Times are UTC.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from guanxi.marketing.campaigns import build, service
from guanxi.marketing.campaigns.previews import dry_run_campaign, preview_campaign
from guanxi.marketing.campaigns.tables import Campaign
from guanxi.marketing.channels import ChannelSet, registered_channels
from guanxi.web.auth import CanEdit, CanView
from guanxi.web.state import DbSession, State
from guanxi.web.ui.campaigns import mask_recipient

router = APIRouter(tags=["campaigns"])
KEY = f"^{service.KEY_PATTERN.pattern}$"
CampaignKey = Annotated[str, Path(pattern=KEY)]


class CampaignPublic(BaseModel):
    key: str
    name: str
    purpose: str
    transactional: bool
    status: str = Field(description="draft, scheduled, running, paused, completed or cancelled")
    version: int
    definition: dict[str, Any]
    created_at: datetime
    created_by: str
    updated_at: datetime
    launched_at: datetime | None
    launched_by: str | None
    finished_at: datetime | None

    @classmethod
    def of(cls, row: Campaign) -> CampaignPublic:
        return cls.model_validate({name: getattr(row, name) for name in cls.model_fields})


class WavePublic(BaseModel):
    index: int
    name: str
    due_at: datetime
    state: str = Field(description="waiting, building, queued, cancelled or failed")
    counts: dict[str, Any] = Field(description="people left after each rule, and each outcome's count")
    messages: dict[str, int] = Field(description="outbox state → messages of this wave")
    error: str | None


class CampaignDetail(CampaignPublic):
    waves: list[WavePublic]
    messages: dict[str, int]
    receipts: dict[str, int]

    @classmethod
    def of_status(cls, found: service.Status) -> CampaignDetail:
        return cls(
            **CampaignPublic.of(found.campaign).model_dump(),
            waves=[
                WavePublic(
                    index=w.index,
                    name=w.name,
                    due_at=w.due_at,
                    state=w.state,
                    counts=w.counts,
                    messages=w.messages,
                    error=w.error,
                )
                for w in found.waves
            ],
            messages=found.messages,
            receipts=found.receipts,
        )


class CampaignCreate(BaseModel):
    key: str = Field(pattern=KEY)
    definition: dict[str, Any]


class CampaignUpdate(BaseModel):
    definition: dict[str, Any]


class SamplePublic(BaseModel):
    customer_id: str
    channel: str
    recipient: str = Field(description="masked")
    subject: str
    body: str
    not_before: datetime


class PreviewPublic(BaseModel):
    wave: int
    send_at: datetime
    counts: dict[str, int]
    by_channel: dict[str, int]
    delayed_until: datetime | None
    samples: list[SamplePublic]
    errors: list[dict[str, str]]

    @classmethod
    def of(cls, preview: build.Preview) -> PreviewPublic:
        addresses = {name: d.address for name, d in registered_channels().items()}
        return cls(
            wave=preview.wave_index,
            send_at=preview.send_at,
            counts=preview.counts,
            by_channel=preview.by_channel,
            delayed_until=preview.delayed_until,
            samples=[
                SamplePublic(
                    customer_id=s.customer_id,
                    channel=s.channel,
                    recipient=mask_recipient(addresses.get(s.channel, ""), s.recipient),
                    subject=s.subject,
                    body=s.body,
                    not_before=s.not_before,
                )
                for s in preview.samples
            ],
            errors=preview.errors,
        )


class DryRunPublic(BaseModel):
    waves: list[PreviewPublic]
    rendered: int
    render_failed: int
    channel_problems: dict[str, str] = Field(description="channel → what stops it sending")


class ControlResult(BaseModel):
    campaign: CampaignPublic
    messages: int = Field(
        description="messages held (pause), released (resume) or withdrawn (cancel); 0 on launch"
    )


class RecipientPublic(BaseModel):
    wave: int
    customer_id: str
    outcome: str
    channel: str | None
    address: str | None = Field(description="masked")
    message_id: int | None
    not_before: datetime | None
    detail: str | None


@router.get("/campaigns", summary="List campaigns")
def campaign_list(principal: CanView, session: DbSession) -> list[CampaignPublic]:
    """Every campaign, newest first."""
    return [CampaignPublic.of(row) for row in service.list_campaigns(session)]


@router.post("/campaigns", status_code=201, summary="Create a campaign")
def create_campaign(
    body: CampaignCreate, principal: CanEdit, session: DbSession, state: State
) -> CampaignPublic:
    """Validate the definition (every problem at once) and save a draft, version 1 (audited)."""
    row = service.create_campaign(
        session,
        body.key,
        body.definition,
        actor=principal.actor,
        now=state.clock(),
        known_channels=set(registered_channels()),
    )
    session.commit()
    return CampaignPublic.of(row)


@router.get("/campaigns/{key}", summary="One campaign with its waves")
def campaign(key: CampaignKey, principal: CanView, session: DbSession) -> CampaignDetail:
    """The definition, the status, each wave's funnel counts and messages by outbox state, receipts."""
    return CampaignDetail.of_status(service.status(session, key))


@router.put("/campaigns/{key}", summary="Save a new version")
def update_campaign(
    key: CampaignKey, body: CampaignUpdate, principal: CanEdit, session: DbSession, state: State
) -> CampaignPublic:
    """A new version of a draft or paused campaign (unchanged definitions keep the version)."""
    row = service.update_campaign(
        session,
        key,
        body.definition,
        actor=principal.actor,
        now=state.clock(),
        known_channels=set(registered_channels()),
    )
    session.commit()
    return CampaignPublic.of(row)


@router.get("/campaigns/{key}/preview", summary="Preview a wave")
def preview(
    key: CampaignKey,
    principal: CanView,
    session: DbSession,
    state: State,
    wave: Annotated[int, Query(ge=0, le=1000)] = 0,
) -> PreviewPublic:
    """The wave's funnel now and three messages rendered for real customers; nothing is written."""
    with state.warehouse_connection() as con:
        found = preview_campaign(
            con, session, key, now=state.clock(), settings=state.settings, channels=ChannelSet(), wave=wave
        )
    return PreviewPublic.of(found)


@router.post("/campaigns/{key}/dry-run", summary="Dry-run every planned wave")
def dry_run(key: CampaignKey, principal: CanEdit, session: DbSession, state: State) -> DryRunPublic:
    """Render every message and build each channel from its settings; no provider call, nothing written."""
    channels = ChannelSet()
    try:
        with state.warehouse_connection() as con:
            found = dry_run_campaign(
                con, session, key, now=state.clock(), settings=state.settings, channels=channels
            )
    finally:
        channels.close()
    return DryRunPublic(
        waves=[PreviewPublic.of(p) for p in found.waves],
        rendered=found.rendered,
        render_failed=found.render_failed,
        channel_problems=found.channel_problems,
    )


@router.post("/campaigns/{key}/launch", summary="Launch a draft")
def launch(key: CampaignKey, principal: CanEdit, session: DbSession, state: State) -> ControlResult:
    row = service.launch(session, key, actor=principal.actor, now=state.clock())
    session.commit()
    return ControlResult(campaign=CampaignPublic.of(row), messages=0)


@router.post("/campaigns/{key}/pause", summary="Pause a launched campaign")
def pause(key: CampaignKey, principal: CanEdit, session: DbSession, state: State) -> ControlResult:
    held = service.pause(session, key, actor=principal.actor, now=state.clock())
    session.commit()
    return ControlResult(campaign=CampaignPublic.of(service.get_campaign(session, key)), messages=held)


@router.post("/campaigns/{key}/resume", summary="Resume a paused campaign")
def resume(key: CampaignKey, principal: CanEdit, session: DbSession, state: State) -> ControlResult:
    released = service.resume(session, key, actor=principal.actor, now=state.clock())
    session.commit()
    return ControlResult(campaign=CampaignPublic.of(service.get_campaign(session, key)), messages=released)


@router.post("/campaigns/{key}/cancel", summary="Cancel a campaign for good")
def cancel(key: CampaignKey, principal: CanEdit, session: DbSession, state: State) -> ControlResult:
    withdrawn = service.cancel(session, key, actor=principal.actor, now=state.clock())
    session.commit()
    return ControlResult(campaign=CampaignPublic.of(service.get_campaign(session, key)), messages=withdrawn)


@router.get("/campaigns/{key}/recipients", summary="A campaign's recipients and their outcomes")
def recipients(
    key: CampaignKey,
    principal: CanView,
    session: DbSession,
    wave: Annotated[int | None, Query(ge=0)] = None,
    outcome: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 500,
) -> list[RecipientPublic]:
    """One row per person per built wave (by wave, then customer id), optionally of one wave or outcome."""
    row = service.get_campaign(session, key)
    addresses = {name: d.address for name, d in registered_channels().items()}
    found = [
        r
        for r in service.recipients_of(session, row, wave_index=wave)
        if outcome is None or r.outcome == outcome
    ][:limit]
    return [
        RecipientPublic(
            wave=r.wave_index,
            customer_id=r.customer_id,
            outcome=r.outcome,
            channel=r.channel,
            address=mask_recipient(addresses.get(r.channel or "", ""), r.address) if r.address else None,
            message_id=r.message_id,
            not_before=r.not_before,
            detail=r.detail,
        )
        for r in found
    ]
