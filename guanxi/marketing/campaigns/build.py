"""Evaluate, preview, dry-run and build one wave of a campaign.

:func:`evaluate` runs the send path's rules for a wave's audience at its send
time (:mod:`.rules`). :func:`preview` adds the funnel and three messages
rendered for real customers; :func:`dry_run` renders every message and builds
every chosen channel from its settings — everything but the provider call —
and writes nothing. :func:`build_wave` writes: one outbox message per
``queued`` person (key ``campaign:<key>:w<wave>:<customer>``, idempotent), a
recipient row per person with the outcome (a ``control`` person's row holds the
time they would have been sent to in ``not_before``, for attribution), and a contact row per
customer-facing message for the caps, all in the caller's transaction, so a
crash leaves no half-built wave and a re-run adds nothing.

Quiet hours: a customer-facing marketing message due inside the campaign's
quiet window is put in the outbox with ``not_before`` = the window's end.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import ibis
import pyarrow as pa
from ibis.backends import BaseBackend
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from guanxi.config import Settings
from guanxi.errors import GuanxiError
from guanxi.marketing import consent, frequency, outbox, suppression
from guanxi.marketing.campaigns.audience import PROFILE_FIELDS, contact_points, members, stable_order
from guanxi.marketing.campaigns.definition import CampaignDefinition, Content
from guanxi.marketing.campaigns.rules import ChannelRule, Policy, apply_rules, funnel
from guanxi.marketing.campaigns.tables import Campaign, CampaignRecipient
from guanxi.marketing.channels import ChannelDefinition, ChannelSet
from guanxi.marketing.errors import TemplateError
from guanxi.marketing.links import LinkTarget, unsubscribe_url
from guanxi.marketing.measurement.holdout import campaign_scope
from guanxi.marketing.quiet_hours import QuietHours
from guanxi.marketing.sms_rules import with_opt_out
from guanxi.marketing.templates import render
from guanxi.progress import Progress, no_progress

SAMPLES = 3
SMS_CHANNEL_MEDIUM = "sms"


@dataclass(frozen=True)
class Rendered:
    """One message as it would be put in the outbox."""

    customer_id: str
    channel: str
    recipient: str
    subject: str
    body: str
    payload: dict[str, Any]
    not_before: datetime


@dataclass
class Evaluation:
    """A wave's people with their outcomes, and the funnel."""

    wave_index: int
    send_at: datetime
    people: pa.Table
    counts: dict[str, int]
    delayed_until: datetime | None
    """When quiet hours delay the wave's marketing messages, the time they go; else None."""
    samples: list[Rendered] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)


def quiet_window(definition: CampaignDefinition, settings: Settings) -> QuietHours:
    window = definition.quiet_hours
    start = window.start if window else settings.marketing_quiet_start
    end = window.end if window else settings.marketing_quiet_end
    return QuietHours.of(start, end, settings.zone)


def channel_rules(
    definition: CampaignDefinition, definitions: Mapping[str, ChannelDefinition]
) -> list[ChannelRule]:
    rules = []
    for name in definition.channels:
        found = definitions[name]
        rules.append(
            ChannelRule(name, found.address, found.consent_medium, found.needs_consent, found.customer_facing)
        )
    return rules


def _wechat_appid(definitions: Mapping[str, ChannelDefinition], channels: Sequence[str]) -> str | None:
    for name in channels:
        found = definitions[name]
        if found.address == "wechat_openid":
            try:
                appid = getattr(found.read_settings(), "appid", None)
            except GuanxiError:
                return None
            return appid if isinstance(appid, str) and appid else None
    return None


def _arrow(rows: Sequence[tuple[Any, ...]], names: Sequence[str], types: Sequence[pa.DataType]) -> pa.Table:
    columns: list[Sequence[Any]] = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    return pa.table({n: pa.array(list(c), t) for n, c, t in zip(names, columns, types, strict=True)})


def earlier_recipients(session: Session, campaign: Campaign, wave_index: int) -> list[int]:
    """Customer ids that were people of an earlier wave of ``campaign`` (any outcome)."""
    rows = session.scalars(
        select(CampaignRecipient.customer_id)
        .where(CampaignRecipient.campaign_id == campaign.id, CampaignRecipient.wave_index < wave_index)
        .distinct()
    )
    return [int(value) for value in rows]


def evaluate(
    con: BaseBackend,
    session: Session,
    campaign: Campaign,
    definition: CampaignDefinition,
    wave_index: int,
    *,
    send_at: datetime,
    settings: Settings,
    definitions: Mapping[str, ChannelDefinition],
) -> Evaluation:
    """Every person of wave ``wave_index`` with their outcome (nothing written)."""
    as_of: date = send_at.astimezone(settings.zone).date()
    ids = members(con, session, definition.audience_for(wave_index), as_of=as_of)
    schedule = definition.schedule
    exclude = schedule.mode == "batches" or (
        schedule.mode == "waves"
        and wave_index < len(schedule.waves)
        and schedule.waves[wave_index].exclude_earlier
    )
    if exclude and wave_index > 0:
        earlier = earlier_recipients(session, campaign, wave_index)
        if earlier:
            ids = ids.anti_join(
                ibis.memtable(pa.table({"customer_id": pa.array(earlier, pa.int64())})), "customer_id"
            )
    if schedule.mode == "batches" and schedule.batch_size is not None:
        ids = ids.order_by(stable_order(ids, campaign.id)).limit(schedule.batch_size)
    contacts = contact_points(
        con, ids, wechat_appid=_wechat_appid(definitions, definition.channels)
    ).to_pyarrow()
    rules = channel_rules(definition, definitions)
    media = {rule.medium for rule in rules}
    granted = _arrow(
        [row for row in consent.states_for(session, media) if row[2] == consent.GRANTED],
        ("medium", "address", "state"),
        (pa.string(), pa.string(), pa.string()),
    )
    blocked = _arrow(
        [(m, a) for m, a, _ in suppression.active(session, media)],
        ("medium", "address"),
        (pa.string(), pa.string()),
    )
    cap = definition.cap
    cap_messages = cap.messages if cap else settings.marketing_cap_messages
    cap_days = cap.days if cap else settings.marketing_cap_days
    contacted = _arrow(
        frequency.counts_in_window(session, until=send_at, days=cap_days),
        ("customer_id", "sent"),
        (pa.string(), pa.int64()),
    )
    people = apply_rules(
        contacts,
        rules,
        consent=granted,
        suppressed=blocked,
        contacted=contacted,
        policy=Policy(
            transactional=definition.transactional,
            respect_do_not_disturb=definition.respect_do_not_disturb,
            offers_cash_coupon=definition.offers_cash_coupon,
            cap=cap_messages,
            holdout_scope=campaign_scope(campaign.key),
            control_share=definition.control_share,
        ),
    )
    quiet = quiet_window(definition, settings)
    delayed = None if definition.transactional or not quiet.contains(send_at) else quiet.next_allowed(send_at)
    counts = funnel(people)
    counts["delayed_by_quiet_hours"] = counts["target"] if delayed is not None else 0
    return Evaluation(wave_index, send_at, people, counts, delayed)


def _context(row: Mapping[str, Any]) -> dict[str, Any]:
    """Template variables: the profile fields that have a value (so ``default(…)`` applies to the rest)."""
    found: dict[str, Any] = {"customer_id": str(row["customer_id"])}
    for name in PROFILE_FIELDS:
        value = row.get(name)
        if value is not None and value != "":
            found[name] = value
    return found


def render_message(
    row: Mapping[str, Any],
    content: Content,
    *,
    campaign: Campaign,
    definition: CampaignDefinition,
    wave_index: int,
    not_before: datetime,
    settings: Settings,
    medium: str,
) -> Rendered:
    """The message for one queued person; raises TemplateError."""
    context = _context(row)
    channel = str(row["channel"])
    recipient = str(row["address"])
    subject = render(content.subject, context)
    body = render(content.body, context)
    payload: dict[str, Any] = {
        "campaign": campaign.key,
        "customer_id": context["customer_id"],
        "wave": wave_index,
    }
    marketing = not definition.transactional
    if content.html is not None:
        payload["html"] = render(content.html, context)
    if medium == "email" and marketing:
        target = LinkTarget(medium, recipient, campaign.key)
        payload["unsubscribe"] = {"url": unsubscribe_url(settings, target)}
    if medium == SMS_CHANNEL_MEDIUM:
        body = with_opt_out(body, marketing, settings.sms_opt_out_suffix)
        if content.sms is not None:
            payload["sms"] = {
                "sign_name": content.sms.sign_name,
                "template_code": content.sms.template_code,
                "template_param": {k: render(v, context) for k, v in content.sms.template_param.items()},
            }
    if content.wechat is not None:
        wechat = content.wechat
        payload["wechat"] = {
            "kind": wechat.kind,
            "template_id": wechat.template_id,
            "url": wechat.url,
            "page": wechat.page,
            "data": {k: render(v, context) for k, v in wechat.data.items()},
        }
    if content.task is not None:
        payload["task"] = {
            "due_hours": content.task.due_hours,
            "pool": list(content.task.pool),
            "customer_name": context.get("name"),
        }
    if definition.quiet_hours is not None:
        payload["quiet_hours"] = [definition.quiet_hours.start, definition.quiet_hours.end]
    return Rendered(context["customer_id"], channel, recipient, subject, body, payload, not_before)


def render_queued(
    evaluation: Evaluation,
    campaign: Campaign,
    definition: CampaignDefinition,
    *,
    settings: Settings,
    definitions: Mapping[str, ChannelDefinition],
    limit: int | None = None,
    progress: Progress = no_progress,
) -> tuple[list[Rendered], list[dict[str, str]]]:
    """Render the queued people's messages (the first ``limit`` when given): (messages, render errors)."""
    queued = evaluation.people.filter(pa.compute.equal(evaluation.people.column("outcome"), "queued"))
    if limit is not None:
        queued = queued.slice(0, limit)
    quiet = quiet_window(definition, settings)
    rendered: list[Rendered] = []
    errors: list[dict[str, str]] = []
    total = queued.num_rows
    for position, row in enumerate(queued.to_pylist()):
        if position % 5000 == 0:
            progress(position, total, "rendering")
        channel = str(row["channel"])
        found = definitions[channel]
        not_before = evaluation.send_at
        if not definition.transactional and found.customer_facing:
            not_before = quiet.next_allowed(not_before)
        try:
            rendered.append(
                render_message(
                    row,
                    definition.content_for(evaluation.wave_index, channel),
                    campaign=campaign,
                    definition=definition,
                    wave_index=evaluation.wave_index,
                    not_before=not_before,
                    settings=settings,
                    medium=found.consent_medium,
                )
            )
        except TemplateError as err:
            errors.append({"customer_id": str(row["customer_id"]), "channel": channel, "error": err.message})
    return rendered, errors


def message_key(campaign: Campaign, wave_index: int, customer_id: str) -> str:
    return f"campaign:{campaign.key}:w{wave_index}:{customer_id}"


@dataclass(frozen=True)
class BuildResult:
    counts: dict[str, int]
    queued: int
    render_failed: int
    by_channel: dict[str, int]


def build_wave(
    session: Session,
    evaluation: Evaluation,
    campaign: Campaign,
    definition: CampaignDefinition,
    rendered: Sequence[Rendered],
    errors: Sequence[Mapping[str, str]],
    *,
    definitions: Mapping[str, ChannelDefinition],
    now: datetime,
) -> BuildResult:
    """Write the wave's ``rendered`` messages, recipients and contacts (the caller commits). Idempotent.

    ``rendered`` and ``errors`` come from :func:`render_queued`, called before
    the write transaction opens (rendering reports progress, which writes
    through another connection).
    """
    rows = [
        {
            "channel": message.channel,
            "recipient": message.recipient,
            "subject": message.subject,
            "body": message.body,
            "payload": message.payload,
            "idempotency_key": message_key(campaign, evaluation.wave_index, message.customer_id),
            "next_attempt_at": message.not_before,
            "customer_id": message.customer_id,
            "medium": definitions[message.channel].consent_medium,
            "transactional": definition.transactional,
            "campaign_id": campaign.id,
            "wave_index": evaluation.wave_index,
        }
        for message in rendered
    ]
    ids = outbox.enqueue_many(session, rows, now=now)
    failed = {entry["customer_id"]: entry["error"] for entry in errors}
    by_customer = {message.customer_id: message for message in rendered}
    existing = set(
        session.scalars(
            select(CampaignRecipient.customer_id).where(
                CampaignRecipient.campaign_id == campaign.id,
                CampaignRecipient.wave_index == evaluation.wave_index,
            )
        )
    )
    recipients: list[dict[str, Any]] = []
    contacts: list[dict[str, Any]] = []
    people = evaluation.people.select(["customer_id", "outcome", "channel", "address"]).to_pylist()
    for person in people:
        customer = str(person["customer_id"])
        if customer in existing:
            continue
        message = by_customer.get(customer)
        outcome = str(person["outcome"])
        if outcome == "queued" and message is None:
            outcome = "render_failed"
        message_id = ids[message_key(campaign, evaluation.wave_index, customer)] if message else None
        recipients.append(
            {
                "campaign_id": campaign.id,
                "wave_index": evaluation.wave_index,
                "customer_id": customer,
                "outcome": outcome,
                "channel": person["channel"],
                "address": person["address"],
                "message_id": message_id,
                "not_before": message.not_before
                if message
                else (evaluation.delayed_until or evaluation.send_at)
                if outcome == "control"
                else None,
                "detail": failed.get(customer),
            }
        )
        if message is not None and definitions[message.channel].customer_facing:
            contacts.append(
                {
                    "customer_id": customer,
                    "at": message.not_before,
                    "channel": message.channel,
                    "transactional": definition.transactional,
                    "campaign_id": campaign.id,
                    "message_id": message_id,
                }
            )
    for start in range(0, len(recipients), 1000):
        session.execute(insert(CampaignRecipient), recipients[start : start + 1000])
    for start in range(0, len(contacts), 1000):
        frequency.log_contacts(session, contacts[start : start + 1000])
    by_channel: dict[str, int] = {}
    for message in rendered:
        by_channel[message.channel] = by_channel.get(message.channel, 0) + 1
    counts = {**evaluation.counts, "render_failed": len(errors), "queued": len(rendered)}
    return BuildResult(counts, len(rendered), len(errors), by_channel)


def check_channels(
    definition: CampaignDefinition, channels: ChannelSet, used: Sequence[str]
) -> dict[str, str]:
    """Channel → the configuration problem that would stop it sending (built from its settings; no send)."""
    problems: dict[str, str] = {}
    for name in used:
        try:
            channels.get(name)
        except GuanxiError as err:
            problems[name] = err.message
    return problems


@dataclass(frozen=True)
class Preview:
    """What a wave would do now: the funnel, the channel split, and messages for three real customers."""

    wave_index: int
    send_at: datetime
    counts: dict[str, int]
    by_channel: dict[str, int]
    delayed_until: datetime | None
    samples: list[Rendered]
    errors: list[dict[str, str]]


def _split(people: pa.Table) -> dict[str, int]:
    queued = people.filter(pa.compute.equal(people.column("outcome"), "queued"))
    return {
        str(entry["values"]): int(entry["counts"])
        for entry in pa.compute.value_counts(queued.column("channel")).to_pylist()
    }


def preview(
    con: BaseBackend,
    session: Session,
    campaign: Campaign,
    definition: CampaignDefinition,
    *,
    wave_index: int,
    send_at: datetime,
    settings: Settings,
    definitions: Mapping[str, ChannelDefinition],
) -> Preview:
    """The funnel of wave ``wave_index`` if it were sent at ``send_at``, with :data:`SAMPLES` rendered messages.

    Writes nothing. A template that fails for a sampled customer is reported in ``errors``.
    """
    evaluation = evaluate(
        con,
        session,
        campaign,
        definition,
        wave_index,
        send_at=send_at,
        settings=settings,
        definitions=definitions,
    )
    samples, errors = render_queued(
        evaluation, campaign, definition, settings=settings, definitions=definitions, limit=SAMPLES
    )
    return Preview(
        wave_index,
        send_at,
        evaluation.counts,
        _split(evaluation.people),
        evaluation.delayed_until,
        samples,
        errors,
    )


@dataclass(frozen=True)
class DryRun:
    """Everything but the provider call, for every wave known now: rendered counts and channel problems."""

    waves: list[Preview]
    rendered: int
    render_failed: int
    channel_problems: dict[str, str]


def dry_run(
    con: BaseBackend,
    session: Session,
    campaign: Campaign,
    definition: CampaignDefinition,
    *,
    wave_times: Sequence[datetime],
    settings: Settings,
    channels: ChannelSet,
) -> DryRun:
    """Render every message of every planned wave and build each chosen channel from its settings.

    Writes nothing and calls no provider. For ``batches`` only the first wave
    is known before launch. ``errors`` of each wave list every render failure.
    """
    definitions = channels.definitions
    waves: list[Preview] = []
    rendered_total = failed_total = 0
    used: set[str] = set()
    for index, send_at in enumerate(wave_times):
        evaluation = evaluate(
            con,
            session,
            campaign,
            definition,
            index,
            send_at=send_at,
            settings=settings,
            definitions=definitions,
        )
        rendered, errors = render_queued(
            evaluation, campaign, definition, settings=settings, definitions=definitions
        )
        split = _split(evaluation.people)
        used.update(split)
        rendered_total += len(rendered)
        failed_total += len(errors)
        waves.append(
            Preview(
                index, send_at, evaluation.counts, split, evaluation.delayed_until, rendered[:SAMPLES], errors
            )
        )
    return DryRun(waves, rendered_total, failed_total, check_channels(definition, channels, sorted(used)))
