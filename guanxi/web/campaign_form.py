"""The campaign editor's form and a :class:`CampaignDefinition`, both ways.

:func:`values_of` turns a definition into the editor's field values;
:func:`values_from_form` reads the submitted fields as typed, and
:func:`definition_data` turns them into the data :func:`parse_definition`
validates, with the problems found on the way (``field: why``, the same shape
as the validation's own). :func:`form_shows` says whether the fields can show a
definition exactly; when they cannot, the editor opens on the JSON box, so
nothing a definition holds is lost by editing it in the form. Times are typed in
``Settings.timezone``. Pure: no request, no database.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from starlette.datastructures import FormData

from guanxi.config import Settings
from guanxi.errors import ValidationFailedError
from guanxi.marketing.campaigns.definition import CampaignDefinition, parse_definition
from guanxi.marketing.channels import ChannelDefinition

ID_SEPARATORS = re.compile(r"[\s,，;；]+")
"""What may separate pasted customer ids: white space, commas and semicolons (ASCII or full-width)."""
LOCAL_INPUT = "%Y-%m-%dT%H:%M"
"""The format of an ``<input type="datetime-local">`` value."""


def local_time(value: datetime | None, zone: ZoneInfo, pattern: str = "%H:%M") -> str:
    """``value`` in ``zone`` as ``pattern`` ("" for None)."""
    return "" if value is None else value.astimezone(zone).strftime(pattern)


def content_fields(definition: ChannelDefinition) -> tuple[str, ...]:
    """The content fields the editor shows for a channel (``subject`` and ``body`` for every channel)."""
    found = ["subject", "body"]
    if definition.address == "email":
        found.append("html")
    if definition.consent_medium == "sms":
        found += ["sign_name", "template_code"]
    if definition.address == "wechat_openid":
        found += ["template_id", "data"]
    return tuple(found)


def values_of(definition: CampaignDefinition, key: str, zone: ZoneInfo) -> dict[str, Any]:
    """The editor's field values showing ``definition`` (the JSON box shows all of it)."""
    audience = definition.audience
    schedule = definition.schedule
    content: dict[str, dict[str, str]] = {}
    for name, body in definition.content.items():
        fields = {"subject": body.subject, "body": body.body, "html": body.html or ""}
        if body.sms is not None:
            fields.update(sign_name=body.sms.sign_name or "", template_code=body.sms.template_code or "")
        if body.wechat is not None:
            fields["template_id"] = body.wechat.template_id
            fields["data"] = json.dumps(body.wechat.data, ensure_ascii=False) if body.wechat.data else ""
        content[name] = fields
    return {
        "key": key,
        "name": definition.name,
        "purpose": definition.purpose,
        "transactional": definition.transactional,
        "audience_kind": "customers" if audience.customers is not None else "segment",
        "audience_segment": audience.segment or "",
        "audience_customers": "\n".join(audience.customers or []),
        "channels": {name: index + 1 for index, name in enumerate(definition.channels)},
        "content": content,
        "schedule_mode": schedule.mode,
        "schedule_at": local_time(schedule.at, zone, LOCAL_INPUT),
        "batch_size": "" if schedule.batch_size is None else str(schedule.batch_size),
        "interval_minutes": "" if schedule.interval_minutes is None else f"{schedule.interval_minutes:g}",
        "cap_messages": "" if definition.cap is None else str(definition.cap.messages),
        "cap_days": "" if definition.cap is None else f"{definition.cap.days:g}",
        "quiet_start": definition.quiet_hours.start if definition.quiet_hours else "",
        "quiet_end": definition.quiet_hours.end if definition.quiet_hours else "",
        "use_json": False,
        "definition_json": json.dumps(
            definition.model_dump(mode="json", exclude_none=True), ensure_ascii=False, indent=2
        ),
    }


def blank_values() -> dict[str, Any]:
    return {
        "key": "",
        "name": "",
        "purpose": "other",
        "transactional": False,
        "audience_kind": "segment",
        "audience_segment": "",
        "audience_customers": "",
        "channels": {},
        "content": {},
        "schedule_mode": "now",
        "schedule_at": "",
        "batch_size": "",
        "interval_minutes": "",
        "cap_messages": "",
        "cap_days": "",
        "quiet_start": "",
        "quiet_end": "",
        "use_json": False,
        "definition_json": "",
    }


def values_from_form(form: FormData, channels: Mapping[str, ChannelDefinition]) -> dict[str, Any]:
    """The submitted fields, as typed (to build the definition and to show the form again)."""

    def text(name: str) -> str:
        value = form.get(name)
        return value.strip() if isinstance(value, str) else ""

    values: dict[str, Any] = {
        name: text(name) for name in blank_values() if name not in ("channels", "content")
    }
    values["transactional"] = bool(text("transactional"))
    values["use_json"] = bool(text("use_json"))
    values["definition_json"] = text("definition_json")
    values["channels"] = {
        name: text(f"channel_order_{name}") or "1" for name in channels if text(f"channel_on_{name}")
    }
    values["content"] = {
        name: {field: text(f"content_{name}_{field}") for field in content_fields(found)}
        for name, found in channels.items()
    }
    return values


def _number(text: str, kind: type[int] | type[float], label: str, problems: list[str]) -> int | float | None:
    if not text:
        return None
    try:
        return kind(text)
    except ValueError:
        problems.append(f"{label}: {text!r} is not a number")
        return None


def _content(
    name: str, found: ChannelDefinition, fields: Mapping[str, str], problems: list[str]
) -> dict[str, Any]:
    body: dict[str, Any] = {"subject": fields.get("subject", ""), "body": fields.get("body", "")}
    if fields.get("html"):
        body["html"] = fields["html"]
    if found.consent_medium == "sms" and (fields.get("sign_name") or fields.get("template_code")):
        body["sms"] = {k: fields[k] for k in ("sign_name", "template_code") if fields.get(k)}
    if found.address == "wechat_openid":
        data: Any = {}
        if fields.get("data"):
            try:
                data = json.loads(fields["data"])
            except json.JSONDecodeError as err:
                problems.append(f"content.{name}.wechat.data: not JSON ({err.msg})")
        body["wechat"] = {"template_id": fields.get("template_id", ""), "data": data}
    return body


def definition_data(
    values: Mapping[str, Any], settings: Settings, channels: Mapping[str, ChannelDefinition]
) -> tuple[Any, list[str]]:
    """The definition the editor's ``values`` describe, and the problems found before validating it."""
    problems: list[str] = []
    if values["use_json"]:
        try:
            return json.loads(values["definition_json"] or "{}"), problems
        except json.JSONDecodeError as err:
            return None, [f"JSON: {err.msg} (line {err.lineno}, column {err.colno})"]
    data: dict[str, Any] = {"name": values["name"], "purpose": values["purpose"] or "other"}
    if values["transactional"]:
        data["transactional"] = True
    if values["audience_kind"] == "customers":
        ids = [i for i in ID_SEPARATORS.split(values["audience_customers"]) if i]
        data["audience"] = {"customers": ids}
        if not ids:
            problems.append("audience: paste at least one customer id")
    else:
        data["audience"] = {"segment": values["audience_segment"] or None}
        if not values["audience_segment"]:
            problems.append("audience: choose a segment")
    order = list(channels)
    chosen: list[tuple[float, int, str]] = []
    for name, position in values["channels"].items():
        rank = _number(str(position), float, f"channels.{name}", problems)
        chosen.append((rank if rank is not None else 0.0, order.index(name) if name in order else 0, name))
    data["channels"] = [name for _, _, name in sorted(chosen)]
    data["content"] = {
        name: _content(name, channels[name], values["content"].get(name, {}), problems)
        for name in data["channels"]
        if name in channels
    }
    mode = values["schedule_mode"] or "now"
    schedule: dict[str, Any] = {"mode": mode}
    if values["schedule_at"] and mode in ("at", "batches"):
        try:
            schedule["at"] = (
                datetime.fromisoformat(values["schedule_at"]).replace(tzinfo=settings.zone).isoformat()
            )
        except ValueError:
            problems.append(f"schedule.at: {values['schedule_at']!r} is not a date and time")
    if mode == "batches":
        schedule["batch_size"] = _number(values["batch_size"], int, "schedule.batch_size", problems)
        schedule["interval_minutes"] = _number(
            values["interval_minutes"], float, "schedule.interval_minutes", problems
        )
    data["schedule"] = schedule
    if values["cap_messages"] or values["cap_days"]:
        data["cap"] = {
            "messages": _number(values["cap_messages"], int, "cap.messages", problems)
            or settings.marketing_cap_messages,
            "days": _number(values["cap_days"], float, "cap.days", problems) or settings.marketing_cap_days,
        }
    if values["quiet_start"] or values["quiet_end"]:
        data["quiet_hours"] = {
            "start": values["quiet_start"] or settings.marketing_quiet_start,
            "end": values["quiet_end"] or settings.marketing_quiet_end,
        }
    return data, problems


def problems_of(err: ValidationFailedError) -> list[str]:
    """The ``field: why`` parts of a validation message."""
    message = err.message.removeprefix("invalid campaign: ")
    return [part for part in message.split("; ") if part]


def form_shows(
    definition: CampaignDefinition, settings: Settings, channels: Mapping[str, ChannelDefinition]
) -> bool:
    """Whether the form fields represent ``definition`` exactly (else the editor opens on the JSON)."""
    values = values_of(definition, "", settings.zone)
    data, problems = definition_data(values, settings, channels)
    if problems:
        return False
    try:
        again = parse_definition(data)
    except ValidationFailedError:
        return False
    return again.model_dump(mode="json", exclude_none=True) == definition.model_dump(
        mode="json", exclude_none=True
    )
