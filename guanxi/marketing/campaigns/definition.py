"""A campaign as the user writes it: audience, channels in preference order, content, timing.

The definition is plain data (JSON/YAML in the CLI and API, a form on the
web) validated here with every problem reported at once
(:class:`~guanxi.errors.ValidationFailedError` listing ``field: why``).
Templates are checked to compile in the sandbox at validation time, so a
broken ``{{`` never reaches a launch.

Timing (``schedule.mode``):

* ``now`` — one wave, due at launch;
* ``at`` — one wave, due at ``schedule.at``;
* ``batches`` — the audience in waves of ``batch_size``, one every
  ``interval_minutes`` from launch (or ``schedule.at``); each wave takes the
  next members in a stable pseudo-random order that are not yet recipients,
  so people who joined the audience meanwhile are included and nobody twice;
* ``waves`` — an explicit list, each wave with its own time (``at`` or
  ``offset_minutes`` after launch) and optionally its own audience and wording
  (a 双11 warm-up: teaser, countdown, start, last call).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from guanxi.errors import ValidationFailedError
from guanxi.marketing.errors import TemplateError
from guanxi.marketing.measurement.holdout import DEFAULT_SHARE
from guanxi.marketing.quiet_hours import parse_clock
from guanxi.marketing.templates import compile_template

PURPOSES = ("warmup", "payment_reminder", "care", "nurture", "winback", "research", "notice", "other")
"""What a campaign is for (预热, 催付, 关怀, 培育, 唤醒, 调研, 通知, 其他)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Audience(_Strict):
    """Exactly one of: a stored segment's key, an inline segment spec, or a list of customer ids."""

    segment: str | None = None
    spec: dict[str, Any] | None = None
    customers: list[str] | None = Field(None, max_length=1_000_000)

    @model_validator(mode="after")
    def _one_source(self) -> Audience:
        given = [name for name in ("segment", "spec", "customers") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of segment, spec or customers")
        return self

    def describe(self) -> str:
        if self.segment is not None:
            return f"segment {self.segment}"
        if self.spec is not None:
            return "inline segment"
        return f"{len(self.customers or [])} listed customers"


class SmsContent(_Strict):
    """Provider template fields for SMS (Aliyun needs an approved sign name and template)."""

    sign_name: str | None = None
    template_code: str | None = None
    template_param: dict[str, str] = Field(default_factory=dict)
    """Template variable → a template rendered per customer (``{"name": "{{ name | default('亲') }}"}``)."""


class WechatContent(_Strict):
    """A WeChat Official Account template or subscribe message."""

    kind: Literal["template", "subscribe"] = "template"
    template_id: str
    url: str | None = None
    page: str | None = None
    data: dict[str, str] = Field(default_factory=dict)
    """Template keyword → a template rendered per customer."""


class TaskContent(_Strict):
    """A task for the customer's sales rep (or a pool, round-robin)."""

    due_hours: float = Field(24, gt=0)
    pool: list[str] = Field(default_factory=list)


class Content(_Strict):
    """What one channel sends: ``subject`` and ``body`` (templates), plus what the channel needs."""

    subject: str = ""
    body: str = ""
    html: str | None = None
    sms: SmsContent | None = None
    wechat: WechatContent | None = None
    task: TaskContent | None = None

    def templates(self) -> dict[str, str]:
        """Field path → template source, for compiling and rendering."""
        found = {"subject": self.subject, "body": self.body}
        if self.html is not None:
            found["html"] = self.html
        if self.sms is not None:
            found.update({f"sms.{k}": v for k, v in self.sms.template_param.items()})
        if self.wechat is not None:
            found.update({f"wechat.{k}": v for k, v in self.wechat.data.items()})
        return found


class Wave(_Strict):
    """One wave of a ``waves`` schedule."""

    name: str = ""
    at: datetime | None = None
    offset_minutes: float | None = Field(None, ge=0)
    audience: Audience | None = None
    content: dict[str, Content] | None = None
    exclude_earlier: bool = False
    """Leave out people who were recipients of an earlier wave of this campaign."""

    @model_validator(mode="after")
    def _one_time(self) -> Wave:
        if (self.at is None) == (self.offset_minutes is None):
            raise ValueError("give a wave exactly one of at or offset_minutes")
        if self.at is not None and self.at.tzinfo is None:
            raise ValueError("a wave's at needs a time zone, e.g. 2026-11-01T20:00:00+08:00")
        return self


class Schedule(_Strict):
    mode: Literal["now", "at", "batches", "waves"] = "now"
    at: datetime | None = None
    batch_size: int | None = Field(None, ge=1)
    interval_minutes: float | None = Field(None, gt=0)
    waves: list[Wave] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _complete(self) -> Schedule:
        if self.at is not None and self.at.tzinfo is None:
            raise ValueError("schedule.at needs a time zone, e.g. 2026-11-01T20:00:00+08:00")
        if self.mode == "at" and self.at is None:
            raise ValueError("mode 'at' needs schedule.at")
        if self.mode == "batches" and (self.batch_size is None or self.interval_minutes is None):
            raise ValueError("mode 'batches' needs batch_size and interval_minutes")
        if self.mode == "waves" and not self.waves:
            raise ValueError("mode 'waves' needs at least one wave")
        if self.mode != "waves" and self.waves:
            raise ValueError("waves are only given with mode 'waves'")
        return self


class Cap(_Strict):
    messages: int = Field(ge=0)
    days: float = Field(gt=0)


class QuietWindow(_Strict):
    start: str = "21:00"
    end: str = "08:00"

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, value: str) -> str:
        parse_clock(value)
        return value


class CampaignDefinition(_Strict):
    """The whole user-written campaign (stored per version as JSON)."""

    name: str = Field(min_length=1, max_length=200)
    purpose: Literal[
        "warmup", "payment_reminder", "care", "nurture", "winback", "research", "notice", "other"
    ] = "other"
    transactional: bool = False
    """Payment reminders, shipping notices: no consent, cap or quiet hours — only hard suppression."""
    audience: Audience
    channels: list[str] = Field(min_length=1, max_length=8)
    """Preference order: each person gets the first channel they are reachable and allowed on."""
    content: dict[str, Content]
    schedule: Schedule = Field(default_factory=Schedule)
    cap: Cap | None = None
    """Marketing messages per person across channels; None: the ``marketing_cap_*`` settings."""
    quiet_hours: QuietWindow | None = None
    """None: the ``marketing_quiet_*`` settings."""
    respect_do_not_disturb: bool = True
    offers_cash_coupon: bool = False
    """Leave out customers the credit model restricts (``no_cash_coupon``)."""
    control: float | None = Field(None, ge=0, le=0.5)
    """The share held out as the control group; None: 10 % for marketing, none for transactional messages."""
    attribution_days: float = Field(7, gt=0, le=90)
    """A purchase counts for the campaign when paid within this many days after the send."""

    @property
    def control_share(self) -> float:
        """The share of would-be recipients held out (see :attr:`control`)."""
        if self.control is not None:
            return self.control
        return 0.0 if self.transactional else DEFAULT_SHARE

    @model_validator(mode="after")
    def _content_for_channels(self) -> CampaignDefinition:
        if len(set(self.channels)) != len(self.channels):
            raise ValueError("a channel is listed twice")
        missing = [c for c in self.channels if c not in self.content]
        if missing:
            raise ValueError(f"no content for channel {', '.join(missing)}")
        for wave in self.schedule.waves:
            if wave.content is not None:
                absent = [c for c in self.channels if c not in wave.content]
                if absent:
                    raise ValueError(
                        f"wave {wave.name or '?'} has no content for channel {', '.join(absent)}"
                    )
        return self

    def content_for(self, wave_index: int, channel: str) -> Content:
        """The content of ``channel`` in wave ``wave_index`` (the wave's own wording when it has one)."""
        if self.schedule.mode == "waves" and wave_index < len(self.schedule.waves):
            own = self.schedule.waves[wave_index].content
            if own is not None:
                return own[channel]
        return self.content[channel]

    def audience_for(self, wave_index: int) -> Audience:
        if self.schedule.mode == "waves" and wave_index < len(self.schedule.waves):
            own = self.schedule.waves[wave_index].audience
            if own is not None:
                return own
        return self.audience


def parse_definition(data: Any, *, known_channels: set[str] | None = None) -> CampaignDefinition:
    """A validated definition; raises ValidationFailedError listing every problem.

    ``known_channels`` (the registered channel names) makes an unknown channel
    a problem too. Every template must compile in the sandbox.
    """
    try:
        definition = CampaignDefinition.model_validate(data)
    except ValidationError as err:
        found = [
            f"{'.'.join(str(p) for p in e['loc']) or 'campaign'}: {e['msg']}"
            for e in err.errors(include_url=False, include_input=False)
        ]
        raise ValidationFailedError("invalid campaign: " + "; ".join(found)) from None
    problems: list[str] = []
    if known_channels is not None:
        for channel in definition.channels:
            if channel not in known_channels:
                problems.append(
                    f"channels: no channel named {channel!r} (known: {', '.join(sorted(known_channels))})"
                )
    contents = [(f"content.{c}", body) for c, body in definition.content.items()]
    for index, wave in enumerate(definition.schedule.waves):
        contents += [
            (f"schedule.waves.{index}.content.{c}", body) for c, body in (wave.content or {}).items()
        ]
    for where, content in contents:
        for field, source in content.templates().items():
            try:
                compile_template(source)
            except TemplateError as err:
                problems.append(f"{where}.{field}: {err.message}")
    if problems:
        raise ValidationFailedError("invalid campaign: " + "; ".join(problems))
    return definition
