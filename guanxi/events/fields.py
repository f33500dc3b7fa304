"""Where each part of a Segment message goes: the canonical fields of ``raw_events`` and ``raw_customers``.

The loader stages spooled messages as text tables whose column names are the
canonical field names below, so the import's own mapping, normalisation and
validation (:mod:`guanxi.ingest.transform`) read them exactly like a file with
those headers. Nothing is dropped: what has no canonical field goes to the
row's ``extra`` JSON under its Segment name.

``raw_events`` (every message):

=================== ==========================================================
event_id            ``messageId``
source_customer_id  ``userId``
anonymous_id        ``anonymousId``; for ``alias`` the ``previousId``
type                ``track`` ``identify`` ``page`` ``screen`` ``alias`` ``group``
event               ``event`` (track); ``name`` (page, screen)
occurred_at         ``timestamp`` corrected by ``sentAt`` (:mod:`guanxi.events.messages`)
channel             ``channel``, else ``context.channel``
phone, email        ``traits`` (identify), else ``context.traits``: ``phone`` / ``mobile``, ``email``
wechat_openid/…     ``integrations.WeChat.openid`` / ``unionid`` (also ``wechat``, ``openId``
                    …), else the traits' ``wechat_openid`` / ``openid``, ``wechat_unionid`` /
                    ``unionid``
properties          ``properties``; the ``traits`` for identify and group
extra               ``context``, ``integrations``, ``previousId``, ``groupId``, ``name``,
                    ``category``, ``timestamp``, ``originalTimestamp``, ``sentAt``,
                    ``receivedAt``, ``wechat_appid``
=================== ==========================================================

``raw_customers`` (``identify`` calls with a ``userId`` or an identifying
trait; several identifies of one user in a pass are folded, newest trait wins):
``source_customer_id`` ← ``userId``; ``name`` ← ``name`` or ``firstName`` +
``lastName`` (family name first for Chinese names); ``gender``, ``birthday``,
``phone`` (or ``mobile``), ``email``, ``title``, ``qq``, ``taobao_id``, ``jd_id``,
``member_no`` (or camelCase ``taobaoId`` …); ``company`` (text, or
``company.name``); ``address`` (text, or ``address.street`` with
``address.city``, ``address.state``/``province``, ``address.district``);
``registered_at`` ← ``createdAt``; ``updated_at`` ← the corrected time; the
WeChat ids as for events (``wechat_appid`` too); ``extra`` ← ``traits`` (all
of them, merged into the stored ones) and ``anonymousId``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

EVENT_FIELDS: tuple[str, ...] = (
    "event_id",
    "source_customer_id",
    "anonymous_id",
    "type",
    "event",
    "occurred_at",
    "channel",
    "phone",
    "email",
    "wechat_openid",
    "wechat_unionid",
    "properties",
)
EVENT_EXTRAS: tuple[str, ...] = (
    "previousId",
    "groupId",
    "name",
    "category",
    "context",
    "integrations",
    "timestamp",
    "originalTimestamp",
    "sentAt",
    "receivedAt",
    "wechat_appid",
)
CUSTOMER_FIELDS: tuple[str, ...] = (
    "source_customer_id",
    "name",
    "gender",
    "birthday",
    "phone",
    "email",
    "wechat_appid",
    "wechat_openid",
    "wechat_unionid",
    "qq",
    "taobao_id",
    "jd_id",
    "member_no",
    "company",
    "title",
    "province",
    "city",
    "district",
    "address",
    "registered_at",
    "updated_at",
)
CUSTOMER_EXTRAS: tuple[str, ...] = ("anonymousId", "traits")

_IDENTIFYING = ("phone", "email", "wechat_openid", "wechat_unionid", "qq", "taobao_id", "jd_id", "member_no")
_HAN = re.compile(r"[\u4e00-\u9fff]")
_WECHAT_SPELLINGS = ("WeChat", "wechat")
_WECHAT_KEYS = {
    "wechat_appid": ("appid", "appId"),
    "wechat_openid": ("openid", "openId"),
    "wechat_unionid": ("unionid", "unionId"),
}
"""Where WeChat ids are read: ``integrations.<spelling>.<key>``, else the traits' ``<field>`` or first key."""
_TRAIT_KEYS: dict[str, tuple[str, ...]] = {
    "phone": ("phone", "mobile"),
    "email": ("email",),
    "gender": ("gender", "sex"),
    "birthday": ("birthday",),
    "title": ("title",),
    "qq": ("qq",),
    "taobao_id": ("taobao_id", "taobaoId"),
    "jd_id": ("jd_id", "jdId"),
    "member_no": ("member_no", "memberNo"),
    "registered_at": ("createdAt", "created_at"),
}

Row = dict[str, str | None]


def text(value: Any) -> str | None:
    """A scalar as text (numbers too); None for empty text, objects and arrays."""
    if value is None or isinstance(value, dict | list):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    result = str(value).strip()
    return result or None


def as_json(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def first(values: Mapping[str, Any], names: Iterable[str]) -> str | None:
    """The first of ``names`` in ``values`` with a non-empty scalar value, as text."""
    for name in names:
        found = text(values.get(name))
        if found is not None:
            return found
    return None


def traits_of(message: Mapping[str, Any]) -> dict[str, Any]:
    """The person's traits: ``traits`` of an identify, else ``context.traits``."""
    if message.get("type") == "identify":
        own = _obj(message.get("traits"))
        return {**_obj(_obj(message.get("context")).get("traits")), **own}
    return _obj(_obj(message.get("context")).get("traits"))


def wechat_ids(message: Mapping[str, Any], traits: Mapping[str, Any]) -> dict[str, str | None]:
    """WeChat appid/openid/unionid from ``integrations.WeChat`` (or ``wechat``), else the traits."""
    integrations = _obj(message.get("integrations"))
    found: dict[str, str | None] = {}
    for field, keys in _WECHAT_KEYS.items():
        value: str | None = None
        for spelling in _WECHAT_SPELLINGS:
            value = value or first(_obj(integrations.get(spelling)), keys)
        found[field] = value or first(traits, (field, keys[0]))
    return found


class _Paths:
    """The JSON paths an events staging reads; each message is parsed a fixed number of times, not per path.

    ``t[i]`` is the JSON type at path ``i``, ``s[i]`` its value as text (an
    object's or array's as JSON text), both from one look-up of every path.
    """

    def __init__(self) -> None:
        self.paths: list[str] = []

    def at(self, path: str) -> int:
        if path not in self.paths:
            self.paths.append(path)
        return self.paths.index(path) + 1

    def scalar(self, *paths: str) -> str:
        """The first of ``paths`` holding a non-empty scalar, as text (objects and arrays are not text)."""
        parts = [
            f"CASE WHEN t[{i}] NOT IN ('OBJECT', 'ARRAY') THEN nullif(trim(s[{i}]), '') END"
            for i in (self.at(p) for p in paths)
        ]
        return parts[0] if len(parts) == 1 else f"coalesce({', '.join(parts)})"

    def obj(self, path: str) -> str:
        """The object at ``path`` as JSON text, else NULL."""
        i = self.at(path)
        return f"CASE WHEN t[{i}] = 'OBJECT' THEN s[{i}] END"

    def trait(self, *keys: str) -> str:
        """A person's trait: an identify's own ``traits`` first, then ``context.traits`` (other calls: only those)."""
        own = self.scalar(*(f"$.traits.{k}" for k in keys))
        context = self.scalar(*(f"$.context.traits.{k}" for k in keys))
        return f"CASE WHEN kind = 'identify' THEN coalesce({own}, {context}) ELSE {context} END"

    def wechat(self, field: str) -> str:
        keys = _WECHAT_KEYS[field]
        integration = self.scalar(
            *(f"$.integrations.{spelling}.{k}" for spelling in _WECHAT_SPELLINGS for k in keys)
        )
        return f"coalesce({integration}, {self.trait(field, keys[0])})"


def events_staging_sql(source: str) -> str:
    """SQL staging the messages of ``source`` (columns ``_row``, ``occurred``, ``payload``) as text columns.

    The result has ``c0 … cN`` in the order of :data:`EVENT_FIELDS` then
    :data:`EVENT_EXTRAS`, and ``_row``. Every value is read with DuckDB's JSON
    functions from constant paths (each payload parsed once); ``source`` is an
    internal table name.
    """
    paths = _Paths()
    kind = paths.scalar("$.type")
    exprs: dict[str, str] = {
        "event_id": paths.scalar("$.messageId"),
        "source_customer_id": paths.scalar("$.userId"),
        "anonymous_id": f"CASE WHEN kind = 'alias' THEN {paths.scalar('$.previousId')} "
        f"ELSE {paths.scalar('$.anonymousId')} END",
        "type": "kind",
        "event": f"CASE WHEN kind = 'track' THEN {paths.scalar('$.event')} ELSE {paths.scalar('$.name')} END",
        "occurred_at": "occurred",
        "channel": paths.scalar("$.channel", "$.context.channel"),
        "phone": paths.trait(*_TRAIT_KEYS["phone"]),
        "email": paths.trait(*_TRAIT_KEYS["email"]),
        "wechat_openid": paths.wechat("wechat_openid"),
        "wechat_unionid": paths.wechat("wechat_unionid"),
        "properties": f"CASE WHEN kind IN ('identify', 'group') THEN {paths.obj('$.traits')} "
        f"ELSE {paths.obj('$.properties')} END",
        "wechat_appid": paths.wechat("wechat_appid"),
        "context": paths.obj("$.context"),
        "integrations": paths.obj("$.integrations"),
    }
    for name in (
        "previousId",
        "groupId",
        "name",
        "category",
        "timestamp",
        "originalTimestamp",
        "sentAt",
        "receivedAt",
    ):
        exprs[name] = paths.scalar(f"$.{name}")
    headers = [*EVENT_FIELDS, *EVENT_EXTRAS]
    assert set(headers) == set(exprs)
    columns = ", ".join(f"{exprs[h]} AS c{i}" for i, h in enumerate(headers))
    listed = ", ".join("'" + p + "'" for p in paths.paths)
    return (
        f"SELECT {columns}, _row FROM ("  # noqa: S608 - constant paths and internal names only
        f"SELECT _row, occurred, s, t, {kind} AS kind FROM ("
        f"SELECT _row, occurred, json_extract_string(payload, [{listed}]) AS s, "
        f"json_type(payload, [{listed}]) AS t FROM {source})) ORDER BY _row"
    )


def _name(traits: Mapping[str, Any]) -> str | None:
    whole = text(traits.get("name"))
    if whole is not None:
        return whole
    given = first(traits, ("firstName", "first_name"))
    family = first(traits, ("lastName", "last_name"))
    if given and family:
        return family + given if _HAN.search(given) and _HAN.search(family) else f"{given} {family}"
    return given or family


def customer_fields(message: Mapping[str, Any], occurred_at: datetime) -> Row:
    """The canonical customer fields an identify call states (absent traits are None)."""
    traits = traits_of(message)
    row: Row = {field: first(traits, keys) for field, keys in _TRAIT_KEYS.items()}
    row.update(wechat_ids(message, traits))
    row["source_customer_id"] = text(message.get("userId"))
    row["name"] = _name(traits)
    company = traits.get("company")
    row["company"] = text(company) or first(_obj(company), ("name",))
    address = traits.get("address")
    if isinstance(address, dict):
        row["address"] = first(address, ("street", "address"))
        row["city"] = first(address, ("city",))
        row["province"] = first(address, ("province", "state", "region"))
        row["district"] = first(address, ("district",))
    else:
        row["address"] = text(address)
    row["updated_at"] = occurred_at.isoformat()
    row["anonymousId"] = text(message.get("anonymousId"))
    row["traits"] = as_json(message.get("traits")) if isinstance(message.get("traits"), dict) else None
    return row


def identifies(row: Row) -> bool:
    """Whether a customer row names a record: a userId or an identifying trait."""
    return row.get("source_customer_id") is not None or any(row.get(f) is not None for f in _IDENTIFYING)


def fold_customers(rows: list[tuple[int, datetime, Row]]) -> list[tuple[int, Row]]:
    """One row per userId (rows without one stay apart), newest first.

    ``rows`` are ``(position, occurred_at, fields)``; a newer identify's traits
    win, older ones fill what it does not say; ``traits`` are merged key by key.
    The row keeps the position of its newest identify.
    """
    folded: dict[str, tuple[int, datetime, Row]] = {}
    loose: list[tuple[int, datetime, Row]] = []
    for position, occurred, fields in sorted(rows, key=lambda r: (r[1], r[0])):
        user = fields.get("source_customer_id")
        if user is None:
            loose.append((position, occurred, fields))
            continue
        before = folded.get(user)
        if before is None:
            folded[user] = (position, occurred, dict(fields))
            continue
        merged = dict(before[2])
        for key, value in fields.items():
            if value is not None:
                merged[key] = value
        old_traits, new_traits = before[2].get("traits"), fields.get("traits")
        if old_traits and new_traits:
            merged["traits"] = as_json({**json.loads(old_traits), **json.loads(new_traits)})
        folded[user] = (position, occurred, merged)
    every = [*folded.values(), *loose]
    every.sort(key=lambda r: (r[1], r[0]), reverse=True)
    return [(position, fields) for position, _occurred, fields in every]
