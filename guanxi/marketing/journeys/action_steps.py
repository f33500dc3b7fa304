"""The journey steps that do something: send a message, tag, adjust points, create a rep task, call a webhook.

* ``send`` — a campaign-style message through the one send path: the
  customer's contact points are read for the whole batch at once, then the
  campaign rules (:func:`guanxi.marketing.campaigns.rules.apply_rules`: reachable →
  consented → not suppressed → not do-not-disturb → under the cap) choose the
  channel; quiet hours delay a customer-facing message (the journey's own
  window, which then holds for transactional messages too) and the next step
  waits for the real send time. A customer the rules leave out goes on to the
  next step; the outcome names the rule (``no_consent``, ``capped`` …). The
  message key is ``journey:<journey>:<customer>:<index>@<enrollment>``.
* ``tag`` — adds / removes tags in ``customer_tags`` (model ``journey``) for the
  whole batch, before the steps commit (idempotent: a re-run writes the same rows).
* ``points`` — a ``points_ledger`` entry ``adjust:journey:<enrollment>:<step>`` (once).
* ``task`` — a task for the customer's rep (:func:`guanxi.marketing.tasks.create_task`, keyed on the step).
* ``webhook`` — a signed JSON POST through the ``webhook`` channel's outbox (keyed on the step).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

import ibis
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from guanxi.marketing import consent, frequency, outbox, suppression
from guanxi.marketing.campaigns.audience import PROFILE_FIELDS, contact_points
from guanxi.marketing.campaigns.definition import Content
from guanxi.marketing.campaigns.rules import ChannelRule, Policy, apply_rules
from guanxi.marketing.channels import registered_channels
from guanxi.marketing.journey_steps import JourneyStepRun, StepContext, StepKind, StepResult, message_key
from guanxi.marketing.quiet_hours import QuietHours
from guanxi.marketing.sms_rules import with_opt_out
from guanxi.marketing.templates import render


class SendConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channels: list[str] = Field(min_length=1, description="Channels in order of preference.")
    content: dict[str, Content] = Field(description="What each channel sends.")
    next: str | None = None
    respect_do_not_disturb: bool = True
    offers_cash_coupon: bool = False


def _arrow(rows: Sequence[tuple[Any, ...]], names: Sequence[str], types: Sequence[pa.DataType]) -> pa.Table:
    columns: list[Sequence[Any]] = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    return pa.table({n: pa.array(list(c), t) for n, c, t in zip(names, columns, types, strict=True)})


def prepare_send(context: StepContext, runs: Sequence[JourneyStepRun]) -> Mapping[int, Any]:
    """Each run's person after the send path's rules: outcome, channel, address and template fields."""
    settings = context.settings
    con = context.warehouse
    assert settings is not None
    assert con is not None
    definitions = registered_channels()
    found: dict[int, Any] = {}
    groups: dict[tuple[str, int, str], list[JourneyStepRun]] = {}
    for run in runs:
        frame = context.journey[run.id]
        groups.setdefault((frame.journey_key, frame.enrollment.version, run.step_name), []).append(run)
    for group in groups.values():
        frame = context.journey[group[0].id]
        config: SendConfig = frame.config
        journey = frame.definition
        ids = sorted({int(r.customer_id) for r in group if r.customer_id.isdigit()})
        table = ibis.memtable(pa.table({"customer_id": pa.array(ids, pa.int64())}))
        contacts = contact_points(con, table).to_pyarrow()
        rules = [
            ChannelRule(
                name,
                definitions[name].address,
                definitions[name].consent_medium,
                definitions[name].needs_consent,
                definitions[name].customer_facing,
            )
            for name in config.channels
        ]
        media = {rule.medium for rule in rules}
        granted = _arrow(
            [row for row in consent.states_for(context.session, media) if row[2] == consent.GRANTED],
            ("medium", "address", "state"),
            (pa.string(), pa.string(), pa.string()),
        )
        blocked = _arrow(
            [(m, a) for m, a, _ in suppression.active(context.session, media)],
            ("medium", "address"),
            (pa.string(), pa.string()),
        )
        cap = journey.cap
        contacted = _arrow(
            frequency.counts_in_window(
                context.session, until=context.now, days=cap.days if cap else settings.marketing_cap_days
            ),
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
                transactional=journey.transactional,
                respect_do_not_disturb=config.respect_do_not_disturb,
                offers_cash_coupon=config.offers_cash_coupon,
                cap=cap.messages if cap else settings.marketing_cap_messages,
            ),
        )
        by_customer = {str(row["customer_id"]): row for row in people.to_pylist()}
        for run in group:
            found[run.id] = by_customer.get(run.customer_id, {"outcome": "not_a_customer"})
    return found


def send_step(context: StepContext, run: JourneyStepRun) -> StepResult:
    from guanxi.marketing.journeys.runtime import frame_of  # noqa: PLC0415 - the runtime imports these kinds

    frame = frame_of(context)
    settings = context.settings
    assert settings is not None
    person: Mapping[str, Any] = context.facts or {"outcome": "not_a_customer"}
    outcome = str(person.get("outcome"))
    if outcome != "queued":
        return StepResult(outcome, frame.follow(due_at=run.due_at))
    config = frame.config
    assert isinstance(config, SendConfig)
    journey = frame.definition
    channel = str(person["channel"])
    found = registered_channels()[channel]
    variables: dict[str, Any] = {"customer_id": run.customer_id, "journey": frame.journey_key}
    variables.update({k: person[k] for k in PROFILE_FIELDS if person.get(k) not in (None, "")})
    variables["occurrence"] = frame.enrollment.occurrence_key
    content = config.content.get(channel) or next(iter(config.content.values()))
    body = render(content.body, variables)
    if found.consent_medium == "sms":
        body = with_opt_out(body, not journey.transactional, settings.sms_opt_out_suffix)
    send_at = max(run.due_at, context.now)
    window = journey.quiet_hours
    if found.customer_facing and (window is not None or not journey.transactional):
        quiet = QuietHours.of(
            window.start if window else settings.marketing_quiet_start,
            window.end if window else settings.marketing_quiet_end,
            settings.zone,
        )
        send_at = quiet.next_allowed(send_at)
    key = message_key(frame.journey_key, run.customer_id, run.step_index, frame.enrollment.id)
    message = outbox.enqueue(
        context.session,
        channel=channel,
        recipient=str(person["address"]),
        subject=render(content.subject, variables),
        body=body,
        payload={"journey": frame.journey_key, "customer_id": run.customer_id, "step": run.step_name},
        idempotency_key=key,
        now=context.now,
        not_before=send_at,
        customer_id=run.customer_id,
        medium=found.consent_medium,
        transactional=journey.transactional,
    )
    if found.customer_facing and message.created_at == context.now:
        frequency.log_contacts(
            context.session,
            [
                {
                    "customer_id": run.customer_id,
                    "at": send_at,
                    "channel": channel,
                    "transactional": journey.transactional,
                    "campaign_id": None,
                    "message_id": message.id,
                }
            ],
        )
    return StepResult(f"sent:{channel}", frame.follow(due_at=max(send_at, run.due_at)))


class TaskStepConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1)
    note: str = ""
    due_hours: float = Field(24, gt=0)
    pool: list[str] = Field(
        default_factory=list,
        description="Usernames sharing tasks of customers without an owner (default: GUANXI_TASKS_POOL).",
    )
    next: str | None = None


def _default_pool() -> list[str]:
    """The task channel's shared pool (``GUANXI_TASKS_POOL``), for a task step that names none."""
    from guanxi.marketing.channels.task import TaskSettings  # noqa: PLC0415

    return [name for name in TaskSettings().pool.split(",") if name.strip()]


def task_step(context: StepContext, run: JourneyStepRun) -> StepResult:
    from guanxi.marketing.journeys.runtime import frame_of  # noqa: PLC0415
    from guanxi.marketing.tasks import create_task  # noqa: PLC0415

    frame = frame_of(context)
    config = frame.config
    assert isinstance(config, TaskStepConfig)
    variables = {"customer_id": run.customer_id, "journey": frame.journey_key}
    create_task(
        context.session,
        idempotency_key=message_key(frame.journey_key, run.customer_id, run.step_index, frame.enrollment.id),
        customer_id=run.customer_id,
        title=render(config.title, variables),
        body=render(config.note, variables),
        due_at=context.now + timedelta(hours=config.due_hours),
        now=context.now,
        pool=config.pool or _default_pool(),
        source="journey",
        payload={"journey": frame.journey_key, "step": run.step_name},
    )
    return StepResult("task", frame.follow(due_at=run.due_at))


class TagConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    add: list[str] = Field(default_factory=list, description="Tags to put on the customer.")
    remove: list[str] = Field(default_factory=list, description="Tags to take off.")
    next: str | None = None


TAG_MODEL = "journey"
"""The ``model`` of the ``customer_tags`` rows journeys write (segments read them as ``journey.<tag>``)."""


def prepare_tags(context: StepContext, runs: Sequence[JourneyStepRun]) -> Mapping[int, Any]:
    """Write the batch's tags to the warehouse (idempotent: rows already there are not added again)."""
    from guanxi import portable  # noqa: PLC0415
    from guanxi.models.outputs import CUSTOMER_TAGS  # noqa: PLC0415
    from guanxi.tables import conform  # noqa: PLC0415

    con = context.warehouse
    assert con is not None
    add: list[tuple[int, str]] = []
    remove: list[tuple[int, str]] = []
    for run in runs:
        config = context.journey[run.id].config
        if not run.customer_id.isdigit():
            continue
        add += [(int(run.customer_id), tag) for tag in config.add]
        remove += [(int(run.customer_id), tag) for tag in config.remove]
    if CUSTOMER_TAGS.name not in con.list_tables():
        con.create_table(CUSTOMER_TAGS.name, schema=CUSTOMER_TAGS.schema)
    today = context.now.astimezone(context.settings.zone).date() if context.settings else None
    if remove:
        keys = pa.table(
            {
                "customer_id": pa.array([c for c, _ in remove], pa.int64()),
                "model": pa.array([TAG_MODEL] * len(remove), pa.string()),
                "tag": pa.array([tag for _, tag in remove], pa.string()),
            }
        )
        scratch = portable.scratch_table(con, "journey_tag_removals", ibis.memtable(keys))
        portable.delete_matching(con, CUSTOMER_TAGS.name, scratch, ["customer_id", "model", "tag"])
        con.drop_table(scratch.get_name(), force=True)
    if add:
        rows = ibis.memtable(
            pa.table(
                {
                    "customer_id": pa.array([c for c, _ in add], pa.int64()),
                    "model": pa.array([TAG_MODEL] * len(add), pa.string()),
                    "tag": pa.array([tag for _, tag in add], pa.string()),
                    "value": pa.array([tag for _, tag in add], pa.string()),
                }
            )
        ).distinct()
        tags = con.table(CUSTOMER_TAGS.name)
        new = rows.anti_join(tags, ["customer_id", "model", "tag", "value"])
        con.insert(
            CUSTOMER_TAGS.name,
            conform(
                new.mutate(
                    weight=ibis.literal(1.0), run_id=ibis.literal("journey"), as_of=ibis.literal(today)
                ),
                CUSTOMER_TAGS,
            ),
        )
    return {run.id: True for run in runs}


def tag_step(context: StepContext, run: JourneyStepRun) -> StepResult:
    from guanxi.marketing.journeys.runtime import frame_of  # noqa: PLC0415

    frame = frame_of(context)
    return StepResult("tagged", frame.follow(due_at=run.due_at))


class PointsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    points: int = Field(description="Points to add (negative: to take off).")
    reason: str = Field("journey", min_length=1, max_length=200, description="Shown in the ledger.")
    next: str | None = None


def points_entry_id(enrollment_id: int, step: str) -> str:
    """The ledger entry of a ``points`` step: one per enrollment and step."""
    return f"adjust:journey:{enrollment_id}:{step}"


def prepare_points(context: StepContext, runs: Sequence[JourneyStepRun]) -> Mapping[int, Any]:
    """Append the batch's ledger entries (each entry id once: a re-run adds nothing)."""
    from guanxi.models.outputs import POINTS_LEDGER  # noqa: PLC0415
    from guanxi.tables import conform  # noqa: PLC0415

    con = context.warehouse
    settings = context.settings
    assert con is not None
    assert settings is not None
    chosen = [r for r in runs if r.customer_id.isdigit()]
    if not chosen:
        return {}
    if POINTS_LEDGER.name not in con.list_tables():
        con.create_table(POINTS_LEDGER.name, schema=POINTS_LEDGER.schema)
    at = context.now.astimezone(settings.zone).replace(tzinfo=None)
    rows = ibis.memtable(
        pa.table(
            {
                "entry_id": pa.array(
                    [points_entry_id(context.journey[r.id].enrollment.id, r.step_name) for r in chosen],
                    pa.string(),
                ),
                "customer_id": pa.array([int(r.customer_id) for r in chosen], pa.int64()),
                "points": pa.array([int(context.journey[r.id].config.points) for r in chosen], pa.int64()),
                "reference": pa.array(
                    [str(context.journey[r.id].config.reason) for r in chosen], pa.string()
                ),
            }
        )
    )
    ledger = con.table(POINTS_LEDGER.name)
    new = rows.anti_join(ledger.select("entry_id"), "entry_id").mutate(
        source=ibis.literal("journey"),
        kind=ibis.literal("adjust"),
        occurred_at=ibis.literal(at),
        recorded_at=ibis.literal(at),
        run_id=ibis.literal("journey"),
    )
    con.insert(POINTS_LEDGER.name, conform(new, POINTS_LEDGER))
    return {r.id: True for r in chosen}


def points_step(context: StepContext, run: JourneyStepRun) -> StepResult:
    from guanxi.marketing.journeys.runtime import frame_of  # noqa: PLC0415

    frame = frame_of(context)
    return StepResult("points" if context.facts else "not_a_customer", frame.follow(due_at=run.due_at))


class WebhookStepConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    event: str = Field(min_length=1, description="The event name the receiver gets.")
    payload: dict[str, str] = Field(default_factory=dict, description="Fields (templates) sent along.")
    next: str | None = None


def webhook_step(context: StepContext, run: JourneyStepRun) -> StepResult:
    from guanxi.marketing.journeys.runtime import frame_of  # noqa: PLC0415

    frame = frame_of(context)
    config = frame.config
    assert isinstance(config, WebhookStepConfig)
    variables = {"customer_id": run.customer_id, "journey": frame.journey_key}
    outbox.enqueue(
        context.session,
        channel="webhook",
        recipient=config.event,
        body="",
        payload={
            "event": config.event,
            "journey": frame.journey_key,
            "customer_id": run.customer_id,
            "step": run.step_name,
            "data": {k: render(v, variables) for k, v in config.payload.items()},
        },
        idempotency_key=message_key(frame.journey_key, run.customer_id, run.step_index, frame.enrollment.id),
        now=context.now,
        customer_id=run.customer_id,
    )
    return StepResult("webhook", frame.follow(due_at=run.due_at))


def action_kinds() -> list[StepKind]:
    return [
        StepKind(
            "send",
            send_step,
            "Send a message through consent, caps and quiet hours",
            SendConfig,
            prepare=prepare_send,
        ),
        StepKind("task", task_step, "Create a task for the customer's sales rep", TaskStepConfig),
        StepKind(
            "tag", tag_step, "Add or remove the customer's journey tags", TagConfig, prepare=prepare_tags
        ),
        StepKind(
            "points",
            points_step,
            "Add or take off loyalty points (one ledger entry per customer and step)",
            PointsConfig,
            prepare=prepare_points,
        ),
        StepKind(
            "webhook", webhook_step, "POST a signed JSON event through the webhook channel", WebhookStepConfig
        ),
    ]
