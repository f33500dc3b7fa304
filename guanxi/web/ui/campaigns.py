"""营销活动: the campaign list, the editor (with a live audience count), one campaign with its waves' live
progress, the preview of a wave, the dry run, and the controls (launch, pause, resume, cancel).

Reading needs ``view``; the editor, the dry run and the controls need ``edit``
and a CSRF token, and their buttons show only to roles that have it. A refused
control (:class:`~guanxi.marketing.campaigns.service.CampaignStateError`) or an
invalid definition comes back as a notice or next to the form, never as an error
page. Times are shown, and typed into the editor, in ``Settings.timezone``.

A scheduled or running campaign's page loads ``/static/campaigns.js``, which polls
``/campaigns/{key}/progress.json`` about every two seconds, moves the message
counts in place and reloads the page when the campaign's status or a wave's state
changes. The editor's audience count posts the audience to
``/campaigns/audience-count`` (nothing is written).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from guanxi import segments
from guanxi.appdb.roles import Permission
from guanxi.errors import GuanxiError, ValidationFailedError
from guanxi.marketing import outbox
from guanxi.marketing.campaigns import service
from guanxi.marketing.campaigns.audience import members
from guanxi.marketing.campaigns.definition import PURPOSES, Audience, CampaignDefinition
from guanxi.marketing.campaigns.previews import dry_run_campaign, preview_campaign, wave_times
from guanxi.marketing.campaigns.rules import FUNNEL, OUTCOMES
from guanxi.marketing.campaigns.tables import (
    CANCELLED,
    COMPLETED,
    DRAFT,
    PAUSED,
    RUNNING,
    SCHEDULED,
    STATUSES,
    Campaign,
    CampaignWave,
)
from guanxi.marketing.channels import ChannelDefinition, ChannelSet, registered_channels
from guanxi.web.auth import CanEdit, CanView
from guanxi.web.campaign_form import (
    blank_values,
    content_fields,
    definition_data,
    form_shows,
    local_time,
    problems_of,
    values_from_form,
    values_of,
)
from guanxi.web.csrf import CsrfChecked
from guanxi.web.customers import mask_phone
from guanxi.web.display import format_time
from guanxi.web.i18n import knows, translator
from guanxi.web.pages import flash, locale_of, render
from guanxi.web.state import AppState, DbSession, State

router = APIRouter()
CampaignKey = Annotated[str, Path(pattern=f"^{service.KEY_PATTERN.pattern}$")]
MESSAGE_STATES = outbox.ALL_STATES
RECEIPTS = ("delivered", "undelivered")
MODES = ("now", "at", "batches", "waves")
LIVE = (SCHEDULED, RUNNING)
ACTIONS: dict[str, tuple[str, ...]] = {
    DRAFT: ("preview", "dry_run", "launch", "edit", "cancel"),
    SCHEDULED: ("preview", "dry_run", "pause", "cancel"),
    RUNNING: ("preview", "pause", "cancel"),
    PAUSED: ("preview", "dry_run", "resume", "edit", "cancel"),
    COMPLETED: (),
    CANCELLED: (),
}
"""The buttons a campaign page offers in each status (labels ``campaigns.action.<name>``)."""


# ---- words and masks -------------------------------------------------------------------------------------


def words(locale: str) -> dict[str, dict[str, str]]:
    """Every computed label family of these pages in ``locale`` (templates look labels up here)."""
    t = translator(locale)
    families: dict[str, tuple[str, ...]] = {
        "purpose": PURPOSES,
        "status": STATUSES,
        "wave_state": ("waiting", "building", "queued", "sent", "cancelled", "failed"),
        "stage": (*FUNNEL, "delayed_by_quiet_hours"),
        "outcome": (*OUTCOMES, "render_failed"),
        "message": MESSAGE_STATES,
        "receipt": RECEIPTS,
        "mode": MODES,
        "action": ("preview", "dry_run", "launch", "pause", "resume", "cancel", "edit"),
    }
    return {
        family: {name: t(f"campaigns.{family}.{name}") for name in names}
        for family, names in families.items()
    }


def mask_recipient(address_kind: str, recipient: str) -> str:
    """A recipient for pages and the API: ``138****0002``, ``c***@shop.cn``, ``oOPE***`` (an openid)."""
    if address_kind == "phone":
        return mask_phone(recipient)
    if address_kind == "email" or "@" in recipient:
        local, at, domain = recipient.partition("@")
        return f"{local[:1]}***@{domain}" if at else f"{recipient[:1]}***"
    if address_kind == "customer_id":
        return recipient
    return f"{recipient[:4]}***" if len(recipient) > 4 else "***"


def channel_help(definition: ChannelDefinition, locale: str) -> str:
    key = f"campaigns.channel.{definition.name}"
    return translator(locale)(key) if knows(locale, key) else definition.description


# ---- shared page parts -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stage:
    name: str
    left: int
    dropped: int
    share: int
    """Percent of the audience left (0 … 100)."""


def funnel_rows(counts: Mapping[str, Any]) -> list[Stage]:
    """The funnel after each rule, with who each rule left out (empty before the wave is built)."""
    if "audience" not in counts:
        return []
    audience = int(counts["audience"]) or 0
    rows: list[Stage] = []
    previous = audience
    for name in FUNNEL:
        left = int(counts.get(name, 0))
        rows.append(Stage(name, left, previous - left, round(100 * left / audience) if audience else 0))
        previous = left
    return rows


STATUS_BADGES = {
    DRAFT: "cancelled",
    SCHEDULED: "queued",
    RUNNING: "running",
    PAUSED: "retrying",
    COMPLETED: "done",
    CANCELLED: "cancelled",
}
WAVE_BADGES = {
    "waiting": "queued",
    "building": "running",
    "queued": "running",
    "sent": "done",
    "cancelled": "cancelled",
    "failed": "failed",
}
"""Campaign statuses and wave states drawn with the jobs' badge colours."""


UNSETTLED = (outbox.STATES.pending, outbox.STATES.claimed, outbox.STATES.failed, outbox.HELD)
"""Message states that still wait for a send."""


def shown_wave_state(state: str, messages: dict[str, int] | None) -> str:
    """The state a wave is shown in: a ``queued`` wave none of whose messages waits any more is ``sent``."""
    if state == "queued" and messages and not any(messages.get(s) for s in UNSETTLED):
        return "sent"
    return state


def _page_words(request: Request, state: AppState) -> dict[str, Any]:
    return {"w": words(locale_of(request, state)), "status_badges": STATUS_BADGES, "wave_badges": WAVE_BADGES}


def audience_text(definition: CampaignDefinition, locale: str) -> str:
    t = translator(locale)
    audience = definition.audience
    if audience.segment is not None:
        return t("campaigns.audience_segment_of", segment=audience.segment)
    if audience.spec is not None:
        return t("campaigns.audience_spec")
    return t("campaigns.audience_listed", count=len(audience.customers or []))


def _editor(
    request: Request,
    state: AppState,
    session: Session,
    values: Mapping[str, Any],
    *,
    campaign: Campaign | None,
    problems: list[str] | None = None,
    json_only: bool = False,
    status_code: int = 200,
) -> Response:
    locale = locale_of(request, state)
    channels = registered_channels()
    settings = state.settings
    t = translator(locale)
    labels = {
        "subject": t("campaigns.field_subject"),
        "body": t("campaigns.field_body"),
        "html": t("campaigns.field_html"),
        "sign_name": t("campaigns.field_sign_name"),
        "template_code": t("campaigns.field_template_code"),
        "template_id": t("campaigns.field_template_id"),
        "data": t("campaigns.field_data"),
    }
    context = {
        "v": values,
        "campaign": campaign,
        "problems": problems or [],
        "json_only": json_only,
        "segments": segments.list_segments(session),
        "channels": [
            {
                "name": name,
                "help": channel_help(found, locale),
                "fields": [(f, labels[f]) for f in content_fields(found)],
            }
            for name, found in channels.items()
        ],
        "purposes": PURPOSES,
        "modes": ("now", "at", "batches"),
        "defaults": {
            "messages": settings.marketing_cap_messages,
            "days": f"{settings.marketing_cap_days:g}",
            "start": settings.marketing_quiet_start,
            "end": settings.marketing_quiet_end,
        },
        **_page_words(request, state),
    }
    return render(request, state, "campaign_edit.html", context, section="campaigns", status_code=status_code)


# ---- routes ----------------------------------------------------------------------------------------------


@router.get("/campaigns")
def campaign_list(request: Request, principal: CanView, session: DbSession, state: State) -> Response:
    """Every campaign, newest first, with its waves and its messages queued and sent."""
    rows = service.list_campaigns(session)
    message = outbox.OutboxMessage
    queued: dict[int, int] = {}
    sent: dict[int, int] = {}
    for campaign_id, message_state, count in session.execute(
        select(message.campaign_id, message.state, func.count())
        .where(message.campaign_id.is_not(None))
        .group_by(message.campaign_id, message.state)
    ):
        owner = int(campaign_id or 0)
        queued[owner] = queued.get(owner, 0) + int(count)
        if message_state == outbox.STATES.done:
            sent[owner] = int(count)
    waves = {
        int(campaign_id): int(count)
        for campaign_id, count in session.execute(
            select(CampaignWave.campaign_id, func.count()).group_by(CampaignWave.campaign_id)
        )
    }
    context = {
        "campaigns": [
            {
                "c": row,
                "channels": list(row.definition.get("channels", [])),
                "waves": waves.get(row.id)
                or len(service.planned_times(service.definition_of(row), state.clock())),
                "queued": queued.get(row.id, 0),
                "sent": sent.get(row.id, 0),
            }
            for row in rows
        ],
        **_page_words(request, state),
    }
    return render(request, state, "campaigns.html", context, section="campaigns")


@router.get("/campaigns/new")
def new_campaign(request: Request, principal: CanEdit, session: DbSession, state: State) -> Response:
    return _editor(request, state, session, blank_values(), campaign=None)


@router.post("/campaigns")
async def create(
    request: Request, principal: CanEdit, _csrf: CsrfChecked, session: DbSession, state: State
) -> Response:
    """Create a draft from the editor; every problem is shown next to the form (422)."""
    channels = registered_channels()
    values = values_from_form(await request.form(), channels)
    data, problems = definition_data(values, state.settings, channels)
    if not problems:
        try:
            campaign = service.create_campaign(
                session,
                values["key"],
                data,
                actor=principal.actor,
                now=state.clock(),
                known_channels=set(channels),
            )
        except GuanxiError as err:
            session.rollback()
            problems = problems_of(err) if isinstance(err, ValidationFailedError) else [err.message]
        else:
            session.commit()
            flash(request, "ok", "campaigns.created", name=campaign.name)
            return RedirectResponse(f"/campaigns/{campaign.key}", status_code=303)
    return _editor(request, state, session, values, campaign=None, problems=problems, status_code=422)


@router.post("/campaigns/audience-count")
def audience_count(
    audience: Audience, principal: CanEdit, _csrf: CsrfChecked, session: DbSession, state: State
) -> JSONResponse:
    """``{"count": n}``: the people of an audience as of today (``GUANXI_TIMEZONE``); writes nothing."""
    as_of = state.clock().astimezone(state.settings.zone).date()
    with state.warehouse_connection() as con:
        count = int(members(con, session, audience, as_of=as_of).count().execute())
    return JSONResponse({"count": count})


@router.get("/campaigns/{key}")
def campaign_page(
    request: Request, key: CampaignKey, principal: CanView, session: DbSession, state: State
) -> Response:
    """The definition, the status, each wave's funnel and messages, the buttons its status allows."""
    found = service.status(session, key)
    campaign = found.campaign
    definition = service.definition_of(campaign)
    locale = locale_of(request, state)
    channels = registered_channels()
    context = {
        "c": campaign,
        "d": definition,
        "audience_text": audience_text(definition, locale),
        "waves": [
            {
                "wave": wave,
                "number": wave.index + 1,
                "funnel": funnel_rows(wave.counts),
                "shown_state": shown_wave_state(wave.state, wave.messages),
            }
            for wave in found.waves
        ],
        "messages": found.messages,
        "receipts": found.receipts,
        "message_states": MESSAGE_STATES,
        "receipt_kinds": RECEIPTS,
        "actions": ACTIONS.get(campaign.status, ()) if principal.can(Permission.EDIT) else (),
        "live": campaign.status in LIVE,
        "phase": phase_of(found),
        "channel_help": {name: channel_help(d, locale) for name, d in channels.items()},
        "settings": state.settings,
        **_page_words(request, state),
    }
    return render(request, state, "campaign.html", context, section="campaigns")


def phase_of(found: service.Status) -> str:
    """What makes the page reload when it changes: the status and every wave's state."""
    return "|".join([found.campaign.status, *(f"{w.index}:{w.state}" for w in found.waves)])


@router.get("/campaigns/{key}/progress.json")
def progress(key: CampaignKey, principal: CanView, session: DbSession) -> JSONResponse:
    """The status, the waves' states and the messages by outbox state, for the page's poller."""
    found = service.status(session, key)
    return JSONResponse(
        {
            "status": found.campaign.status,
            "phase": phase_of(found),
            "waves": [{"index": w.index, "state": w.state, "messages": w.messages} for w in found.waves],
            "messages": {name: found.messages.get(name, 0) for name in MESSAGE_STATES},
            "receipts": found.receipts,
        }
    )


@router.get("/campaigns/{key}/edit")
def edit_campaign(
    request: Request, key: CampaignKey, principal: CanEdit, session: DbSession, state: State
) -> Response:
    campaign = service.get_campaign(session, key)
    definition = service.definition_of(campaign)
    values = values_of(definition, key, state.settings.zone)
    json_only = not form_shows(definition, state.settings, registered_channels())
    values["use_json"] = json_only
    return _editor(request, state, session, values, campaign=campaign, json_only=json_only)


@router.post("/campaigns/{key}/edit")
async def update(
    request: Request,
    key: CampaignKey,
    principal: CanEdit,
    _csrf: CsrfChecked,
    session: DbSession,
    state: State,
) -> Response:
    """Save a new version (a draft or a paused campaign); problems next to the form (422)."""
    campaign = service.get_campaign(session, key)
    channels = registered_channels()
    values = values_from_form(await request.form(), channels)
    values["key"] = key
    data, problems = definition_data(values, state.settings, channels)
    if not problems:
        try:
            saved = service.update_campaign(
                session, key, data, actor=principal.actor, now=state.clock(), known_channels=set(channels)
            )
        except ValidationFailedError as err:
            session.rollback()
            problems = problems_of(err)
        else:
            session.commit()
            flash(request, "ok", "campaigns.updated", name=saved.name, version=saved.version)
            return RedirectResponse(f"/campaigns/{key}", status_code=303)
    campaign = service.get_campaign(session, key)
    return _editor(request, state, session, values, campaign=campaign, problems=problems, status_code=422)


@router.get("/campaigns/{key}/preview")
def preview(
    request: Request,
    key: CampaignKey,
    principal: CanView,
    session: DbSession,
    state: State,
    wave: Annotated[int, Query(ge=0, le=1000)] = 0,
) -> Response:
    """Wave ``wave``'s funnel now and three messages rendered for real customers (nothing written)."""
    campaign = service.get_campaign(session, key)
    now = state.clock()
    try:
        with state.warehouse_connection() as con:
            result = preview_campaign(
                con, session, key, now=now, settings=state.settings, channels=ChannelSet(), wave=wave
            )
    except GuanxiError as err:
        flash(
            request,
            "error",
            "campaigns.refused",
            action=words(locale_of(request, state))["action"]["preview"],
            message=err.message,
        )
        return RedirectResponse(f"/campaigns/{key}", status_code=303)
    definitions = registered_channels()
    samples = [
        {
            "s": sample,
            "recipient": mask_recipient(
                definitions[sample.channel].address if sample.channel in definitions else "", sample.recipient
            ),
        }
        for sample in result.samples
    ]
    zone = state.settings.zone
    context = {
        "c": campaign,
        "p": result,
        "number": result.wave_index + 1,
        "funnel": funnel_rows(result.counts),
        "samples": samples,
        "delayed": local_time(result.delayed_until, zone),
        "times": wave_times(session, key, now=now),
        **_page_words(request, state),
    }
    return render(request, state, "campaign_preview.html", context, section="campaigns")


@router.post("/campaigns/{key}/dry-run")
def dry_run(
    request: Request,
    key: CampaignKey,
    principal: CanEdit,
    _csrf: CsrfChecked,
    session: DbSession,
    state: State,
) -> Response:
    """Render every message of every planned wave and build each channel; nothing written or sent."""
    campaign = service.get_campaign(session, key)
    channels = ChannelSet()
    try:
        with state.warehouse_connection() as con:
            result = dry_run_campaign(
                con, session, key, now=state.clock(), settings=state.settings, channels=channels
            )
    except GuanxiError as err:
        flash(
            request,
            "error",
            "campaigns.refused",
            action=words(locale_of(request, state))["action"]["dry_run"],
            message=err.message,
        )
        return RedirectResponse(f"/campaigns/{key}", status_code=303)
    finally:
        channels.close()
    context = {
        "c": campaign,
        "r": result,
        "waves": [
            {"p": p, "number": p.wave_index + 1, "funnel": funnel_rows(p.counts)} for p in result.waves
        ],
        **_page_words(request, state),
    }
    return render(request, state, "campaign_dry_run.html", context, section="campaigns")


def _control(
    request: Request, key: str, action: str, principal: Any, session: Session, state: AppState
) -> Response:
    """Run one control in one transaction; a refusal is a notice on the campaign page."""
    locale = locale_of(request, state)
    now = state.clock()
    try:
        if action == "launch":
            campaign = service.launch(session, key, actor=principal.actor, now=now)
            session.flush()
            first = service.waves_of(session, campaign)
            due = format_time(max(first[0].due_at, now) if first else now, state.settings.zone)
            params: dict[str, Any] = {"due": due}
        else:
            control = {"pause": service.pause, "resume": service.resume, "cancel": service.cancel}[action]
            affected = control(session, key, actor=principal.actor, now=now)
            campaign = service.get_campaign(session, key)
            params = {{"pause": "held", "resume": "released", "cancel": "withdrawn"}[action]: affected}
    except ValidationFailedError as err:
        session.rollback()
        flash(
            request, "error", "campaigns.refused", action=words(locale)["action"][action], message=err.message
        )
        return RedirectResponse(f"/campaigns/{key}", status_code=303)
    session.commit()
    done = {"launch": "launched", "pause": "paused", "resume": "resumed", "cancel": "cancelled"}[action]
    flash(request, "ok", f"campaigns.{done}", name=campaign.name, **params)
    return RedirectResponse(f"/campaigns/{key}", status_code=303)


@router.post("/campaigns/{key}/launch")
def launch(
    request: Request,
    key: CampaignKey,
    principal: CanEdit,
    _csrf: CsrfChecked,
    session: DbSession,
    state: State,
) -> Response:
    """Plan the waves of a draft and schedule it."""
    return _control(request, key, "launch", principal, session, state)


@router.post("/campaigns/{key}/pause")
def pause(
    request: Request,
    key: CampaignKey,
    principal: CanEdit,
    _csrf: CsrfChecked,
    session: DbSession,
    state: State,
) -> Response:
    """Stop new waves and hold every unsent message."""
    return _control(request, key, "pause", principal, session, state)


@router.post("/campaigns/{key}/resume")
def resume(
    request: Request,
    key: CampaignKey,
    principal: CanEdit,
    _csrf: CsrfChecked,
    session: DbSession,
    state: State,
) -> Response:
    """Let the held messages go and wait for the next waves again."""
    return _control(request, key, "resume", principal, session, state)


@router.post("/campaigns/{key}/cancel")
def cancel(
    request: Request,
    key: CampaignKey,
    principal: CanEdit,
    _csrf: CsrfChecked,
    session: DbSession,
    state: State,
) -> Response:
    """Withdraw every unsent message and every waiting wave, for good."""
    return _control(request, key, "cancel", principal, session, state)
