"""Reading Segment messages: what a ``track``, ``identify`` … payload must hold, and its corrected time.

:func:`read_request` turns one request body (a single call or a batch) into
:class:`Accepted` messages and :class:`Rejection` problems; nothing here touches
a database, so every rule is a plain function of the body and the time it was
received.

Rules (Segment's HTTP Tracking API):

* ``type`` is the call's path for a single call; in a batch each message names
  it: ``track``, ``identify``, ``page``, ``screen``, ``alias`` or ``group``.
* ``userId`` or ``anonymousId`` is required (strings, or numbers taken as text);
  ``alias`` needs ``previousId`` and ``userId``; ``track`` needs ``event``;
  ``group`` needs ``groupId``.
* ``context``, ``traits``, ``properties`` and ``integrations`` are objects when
  present; ``timestamp``, ``sentAt`` and ``originalTimestamp`` are ISO 8601 times
  (a time without an offset is UTC).
* A message is at most 32 KB as compact JSON (:data:`MAX_EVENT_BYTES`); a batch
  body at most 500 KB (:data:`MAX_BATCH_BYTES`, checked by the caller before
  parsing).
* **Time.** ``occurred_at`` is ``timestamp + (receivedAt − sentAt)`` when both
  ``timestamp`` and ``sentAt`` are given (the client's clock skew removed, as
  Segment does), ``timestamp`` when only it is given, else ``receivedAt``.
  The batch's ``sentAt``, ``context`` and ``integrations`` apply to each message
  that lacks its own (``context`` and ``integrations`` merged key by key).
* **messageId.** Kept as sent (at most 255 characters). A message without one
  gets ``h:`` + a digest of its content: retries of the same content with the
  same ``timestamp`` share the id (stored once); without a ``timestamp`` the
  receive time and position are part of the digest, so two real events are
  never taken for one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from guanxi.events.errors import BodyUnreadableError, EventInvalidError

TYPES: tuple[str, ...] = ("track", "identify", "page", "screen", "alias", "group")
MAX_EVENT_BYTES = 32 * 1024
MAX_BATCH_BYTES = 500 * 1024
MAX_ID_LENGTH = 255
_OBJECTS = ("context", "traits", "properties", "integrations")
_TIMES = ("timestamp", "sentAt", "originalTimestamp")
_IDS = ("userId", "anonymousId", "previousId", "groupId")
_NOT_HASHED = frozenset({"sentAt", "writeKey", "messageId", "receivedAt"})
_EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
_LATEST = datetime(2101, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Rejection:
    """Why one message was not accepted: ``index`` in the batch (None for a single call), field, reason."""

    index: int | None
    field: str
    reason: str

    def where(self) -> str:
        place = f"batch[{self.index}]" if self.index is not None else ""
        if not self.field:
            return place or "body"
        return f"{place}.{self.field}" if place else self.field

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "field": self.field, "reason": self.reason}


@dataclass(frozen=True)
class Accepted:
    """A valid message, ready for the spool.

    ``payload`` is the compact JSON of the message as stored: as sent, with
    ``type``, ``messageId`` (derived when absent), the effective ``sentAt``,
    ``context``, ``integrations`` and ``receivedAt`` filled in; ``writeKey`` removed.
    """

    message_id: str
    type: str
    received_at: datetime
    occurred_at: datetime
    payload: str


@dataclass(frozen=True)
class ReadResult:
    """The messages to spool (one per id), the rejected ones, and how many repeated an id of the same body."""

    accepted: list[Accepted]
    rejected: list[Rejection]
    repeated: int = 0

    @property
    def valid(self) -> int:
        """Messages accepted, repeats included (they are stored once)."""
        return len(self.accepted) + self.repeated


class _Reject(Exception):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def parse_body(body: bytes) -> dict[str, Any]:
    """The JSON object of a request body; raises :class:`BodyUnreadableError`."""
    try:
        data = json.loads(body, parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError) as err:
        raise BodyUnreadableError(f"the body is not JSON: {err}") from err
    if not isinstance(data, dict):
        raise BodyUnreadableError(f"the body must be a JSON object, not {_kind(data)}")
    return data


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def parse_time(value: Any, field: str) -> datetime | None:
    """An aware UTC time from ISO 8601 text (no offset: UTC); None for null; raises _Reject."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise _Reject(field, f"must be an ISO 8601 time string, not {_kind(value)}")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError as err:
        raise _Reject(field, f"{value[:40]!r} is not an ISO 8601 time") from err
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    parsed = parsed.astimezone(UTC)
    if not _EARLIEST <= parsed < _LATEST:
        raise _Reject(field, f"{value[:40]!r} lies outside the years 1900-2100")
    return parsed


def corrected_time(timestamp: datetime | None, sent_at: datetime | None, received_at: datetime) -> datetime:
    """When the event happened by the server's clock: see the module docstring."""
    if timestamp is None:
        return received_at
    if sent_at is None:
        return timestamp
    return timestamp + (received_at - sent_at)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _identifier(message: dict[str, Any], field: str) -> str | None:
    value = message.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _Reject(field, f"must be a string, not {_kind(value)}")
    text = str(value).strip()
    if len(text) > MAX_ID_LENGTH:
        raise _Reject(field, f"is longer than {MAX_ID_LENGTH} characters")
    if text != value:
        message[field] = text
    return text or None


def _merged(own: Any, shared: Mapping[str, Any] | None, field: str) -> Any:
    if own is not None and not isinstance(own, dict):
        raise _Reject(field, f"must be an object, not {_kind(own)}")
    if not shared:
        return own
    return {**shared, **(own or {})}


def _digest(message: dict[str, Any], extra: str) -> str:
    content = {k: v for k, v in message.items() if k not in _NOT_HASHED}
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return "h:" + hashlib.sha256((text + extra).encode("utf-8")).hexdigest()[:32]


def _check(message: dict[str, Any], kind: str) -> None:
    ids = {field: _identifier(message, field) for field in _IDS}
    if kind == "alias":
        if ids["previousId"] is None:
            raise _Reject("previousId", "alias needs previousId (the old id) and userId (the new one)")
        if ids["userId"] is None:
            raise _Reject("userId", "alias needs previousId (the old id) and userId (the new one)")
    elif ids["userId"] is None and ids["anonymousId"] is None:
        raise _Reject("userId", "userId or anonymousId is required")
    if kind == "group" and ids["groupId"] is None:
        raise _Reject("groupId", "group needs groupId")
    for field in ("traits", "properties"):
        value = message.get(field)
        if value is not None and not isinstance(value, dict):
            raise _Reject(field, f"must be an object, not {_kind(value)}")
    event = message.get("event")
    if kind == "track":
        if not isinstance(event, str) or not event.strip():
            raise _Reject("event", "track needs the event name as a non-empty string")
    elif event is not None and not isinstance(event, str):
        raise _Reject("event", f"must be a string, not {_kind(event)}")
    for field in ("name", "category", "channel"):
        value = message.get(field)
        if value is not None and not isinstance(value, str):
            raise _Reject(field, f"must be a string, not {_kind(value)}")


def read_message(
    raw: Any,
    *,
    kind: str | None,
    index: int | None,
    received_at: datetime,
    shared: Mapping[str, Any],
) -> Accepted:
    """One message checked and completed; raises _Reject naming the field.

    ``kind`` is the call's type for a single call (None in a batch: the message
    names it); ``shared`` holds the batch's ``sentAt``, ``context`` and ``integrations``.
    """
    if not isinstance(raw, dict):
        raise _Reject("", f"a message must be a JSON object, not {_kind(raw)}")
    message = dict(raw)
    message.pop("writeKey", None)
    chosen = kind or message.get("type")
    if kind is None and not isinstance(chosen, str):
        raise _Reject("type", f"must be one of {', '.join(TYPES)}")
    if chosen not in TYPES:
        raise _Reject("type", f"{str(chosen)[:40]!r} is not one of {', '.join(TYPES)}")
    message["type"] = chosen
    _check(message, chosen)
    for field in ("context", "integrations"):
        merged = _merged(message.get(field), shared.get(field), field)
        if merged is not None:
            message[field] = merged
    times = {field: parse_time(message.get(field), field) for field in _TIMES}
    sent_at = times["sentAt"]
    if sent_at is None and shared.get("sentAt") is not None:
        sent_at = parse_time(shared["sentAt"], "sentAt")
        message["sentAt"] = shared["sentAt"]
    occurred = corrected_time(times["timestamp"], sent_at, received_at)
    if not _EARLIEST <= occurred < _LATEST:
        raise _Reject("timestamp", "corrected by sentAt it lies outside the years 1900-2100")
    message_id = _identifier(message, "messageId")
    if message_id is None:
        salt = "" if times["timestamp"] is not None else f"|{received_at.isoformat()}|{index}"
        message_id = _digest(message, salt)
        message["messageId"] = message_id
    message["receivedAt"] = received_at.isoformat()
    payload = json.dumps(message, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=str)
    size = len(payload.encode("utf-8"))
    if size > MAX_EVENT_BYTES:
        raise _Reject("", f"the message is {size} bytes; at most {MAX_EVENT_BYTES} (32 KB) are accepted")
    return Accepted(message_id, chosen, received_at, occurred, payload)


def read_request(body: dict[str, Any], *, kind: str | None, received_at: datetime) -> ReadResult:
    """Every message of a single call (``kind`` given) or of a batch (``body["batch"]``).

    Raises :class:`EventInvalidError` when the batch itself is malformed (no
    ``batch`` array, a bad batch-level field); problems of single messages are
    returned in :attr:`ReadResult.rejected`, in order.
    """
    if kind is not None:
        items: list[Any] = [body]
        shared: dict[str, Any] = {}
    else:
        batch = body.get("batch")
        if not isinstance(batch, list):
            raise EventInvalidError(f"batch: must be an array of messages, not {_kind(batch)}")
        items = batch
        shared = {
            key: body[key] for key in ("sentAt", "context", "integrations") if body.get(key) is not None
        }
        try:
            parse_time(shared.get("sentAt"), "sentAt")
            for field in ("context", "integrations"):
                _merged(shared.get(field), None, field)
        except _Reject as err:
            raise EventInvalidError(f"{err.field}: {err.reason}") from err
    accepted: list[Accepted] = []
    rejected: list[Rejection] = []
    seen: set[str] = set()
    repeated = 0
    for position, raw in enumerate(items):
        index = None if kind is not None else position
        try:
            message = read_message(raw, kind=kind, index=index, received_at=received_at, shared=shared)
        except _Reject as err:
            rejected.append(Rejection(index, err.field, err.reason))
            continue
        if message.message_id in seen:
            repeated += 1
            continue
        seen.add(message.message_id)
        accepted.append(message)
    return ReadResult(accepted, rejected, repeated)


def rejection_message(rejected: list[Rejection], total: int, *, shown: int = 10) -> str:
    """A readable summary: ``2 of 2 messages rejected: batch[0].userId: … ; batch[1].event: …``."""
    parts = [f"{r.where()}: {r.reason}" for r in rejected[:shown]]
    more = f"; and {len(rejected) - shown} more" if len(rejected) > shown else ""
    if total == 1 and len(rejected) == 1:
        return parts[0]
    return f"{len(rejected)} of {total} messages rejected: " + "; ".join(parts) + more
