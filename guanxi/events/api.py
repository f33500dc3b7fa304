"""The Segment-compatible intake: ``POST /v1/track``, ``/identify``, ``/page``, ``/screen``, ``/alias``, ``/group``, ``/batch``.

Clients of Segment's HTTP Tracking API work unchanged: Segment's server
libraries post ``{"batch": [...], "sentAt", "writeKey"}`` to ``/v1/batch``
(``/v1/import`` is its older name); analytics.js posts single calls to
``/v1/t`` ``/v1/i`` ``/v1/p`` ``/v1/s`` ``/v1/a`` ``/v1/g`` and batches to
``/v1/b`` as ``text/plain`` with the key in the body. Every path answers
``{"success": true}`` with 200 once the accepted messages are committed to the
spool (:mod:`guanxi.events.spool`); a batch adds ``accepted`` and ``rejected``
(``[{"index", "field", "reason"}]``).

* **Auth.** A write key (an API key with the ``ingest`` scope,
  :mod:`guanxi.events.writekeys`): 401 without a known live key, 403 without the scope.
* **Limits.** A single call's body is at most 32 KB, a batch's 500 KB (after
  ``Content-Encoding: gzip`` is undone); beyond them: 400 ``event_too_large`` /
  ``batch_too_large``, nothing kept. Each message of a batch is at most 32 KB.
* **Batch semantics.** Good messages are kept, bad ones are reported: 200 with
  the rejected messages listed when at least one message was accepted; 400
  ``event_invalid`` naming each message's index and field when none was.
* **Durability.** 200 only after the spool commit that holds the request's
  messages (concurrent requests share commits, :mod:`guanxi.events.committer`);
  when the app database refuses it, 503 ``spool_unavailable`` and nothing is
  acknowledged (clients retry). Duplicates by ``messageId`` are stored once.

The routes need the app state to offer ``sessions``, ``clock`` and ``settings``
(:class:`Host`); the web app's ``app.state.guanxi`` does.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from guanxi.config import Settings
from guanxi.events.committer import GroupCommitter
from guanxi.events.errors import (
    BatchTooLargeError,
    BodyUnreadableError,
    EventInvalidError,
    EventTooLargeError,
)
from guanxi.events.messages import (
    MAX_BATCH_BYTES,
    MAX_EVENT_BYTES,
    TYPES,
    parse_body,
    read_request,
    rejection_message,
)
from guanxi.events.writekeys import WriteKeys, key_from_headers

router = APIRouter(tags=["events"])

CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, Content-Encoding, X-API-Key",
    "Access-Control-Max-Age": "86400",
}
"""Browsers on any site may post (a write key is public in a web page anyway)."""


class Host(Protocol):
    """What the intake needs from the running app."""

    settings: Settings
    sessions: sessionmaker[Session]
    clock: Callable[[], datetime]


class Intake:
    """Accepts request bodies for one app: checks the key, reads the messages, spools them."""

    def __init__(self, host: Host) -> None:
        self.clock = host.clock
        self.committer = GroupCommitter(host.sessions)
        self.keys = WriteKeys(host.sessions, host.clock, ttl_seconds=host.settings.events_key_cache_seconds)

    def accept(
        self, body: bytes, kind: str | None, header_key: str | None, received_at: datetime
    ) -> dict[str, Any]:
        """Spool the messages of ``body`` (a ``kind`` call, or a batch when None); the answer's JSON.

        Raises the errors of :mod:`guanxi.events.errors`, :class:`~guanxi.errors.AuthError`
        and :class:`~guanxi.errors.PermissionDeniedError`.
        """
        if header_key is not None:
            key = self.keys.check(header_key)
            data = parse_body(body)
        else:
            data = parse_body(body)
            written = data.get("writeKey")
            key = self.keys.check(written if isinstance(written, str) else None)
        result = read_request(data, kind=kind, received_at=received_at)
        total = result.valid + len(result.rejected)
        if result.rejected and not result.accepted:
            raise EventInvalidError(rejection_message(result.rejected, total))
        self.committer.write(key.source, result.accepted)
        if kind is not None:
            return {"success": True}
        return {
            "success": True,
            "accepted": result.valid,
            "rejected": [r.to_dict() for r in result.rejected],
        }


def intake_of(request: Request) -> Intake:
    """The app's :class:`Intake`, made on first use."""
    state = request.app.state
    found: Intake | None = getattr(state, "guanxi_events_intake", None)
    if found is None:
        found = Intake(state.guanxi)
        state.guanxi_events_intake = found
    return found


async def read_body(request: Request, limit: int, too_large: type[EventInvalidError]) -> bytes:
    """The request body (gzip undone), refusing more than ``limit`` bytes as soon as it is exceeded."""
    what = "a batch" if too_large is BatchTooLargeError else "a single call"
    refusal = f"{what} may carry at most {limit // 1024} KB"
    declared = request.headers.get("content-length", "")
    gzipped = request.headers.get("content-encoding", "").strip().lower() == "gzip"
    if declared.isdigit() and int(declared) > limit and not gzipped:
        raise too_large(f"{refusal}; this one has {int(declared)} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > (limit if not gzipped else 4 * limit):
            raise too_large(f"{refusal}; this one has more")
        chunks.append(chunk)
    body = b"".join(chunks)
    if not gzipped:
        return body
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = inflate.decompress(body, limit + 1)
    except zlib.error as err:
        raise BodyUnreadableError(f"Content-Encoding is gzip but the body is not: {err}") from err
    if len(data) > limit or inflate.unconsumed_tail:
        raise too_large(f"{refusal} once unzipped")
    return data


async def receive(request: Request, kind: str | None) -> Response:
    received_at = intake_of(request).clock()
    header_key = key_from_headers(request.headers)
    if kind is None:
        body = await read_body(request, MAX_BATCH_BYTES, BatchTooLargeError)
    else:
        body = await read_body(request, MAX_EVENT_BYTES, EventTooLargeError)
    answer = await run_in_threadpool(intake_of(request).accept, body, kind, header_key, received_at)
    return JSONResponse(answer, headers=CORS)


def _single(kind: str) -> Callable[[Request], Any]:
    async def call(request: Request) -> Response:
        return await receive(request, kind)

    call.__name__ = f"{kind}_call"
    call.__doc__ = (
        f"One `{kind}` message (Segment's HTTP Tracking API); the write key as the HTTP Basic user name. "
        f'Answers `{{"success": true}}` once it is durable.'
    )
    return call


async def batch_call(request: Request) -> Response:
    """Up to 500 KB of messages as `{"batch": [...], "sentAt": …}`; good ones are kept, bad ones listed."""
    return await receive(request, None)


async def preflight(request: Request) -> Response:
    """CORS preflight for browsers posting JSON from another site."""
    return Response(status_code=204, headers=CORS)


for _kind in TYPES:
    router.add_api_route(f"/{_kind}", _single(_kind), methods=["POST"], summary=f"Record a {_kind} call")
    router.add_api_route(f"/{_kind[0]}", _single(_kind), methods=["POST"], include_in_schema=False)
router.add_api_route("/batch", batch_call, methods=["POST"], summary="Record a batch of calls")
for _path in ("/import", "/b"):
    router.add_api_route(_path, batch_call, methods=["POST"], include_in_schema=False)
for _path in (*(f"/{t}" for t in TYPES), *(f"/{t[0]}" for t in TYPES), "/batch", "/import", "/b"):
    router.add_api_route(_path, preflight, methods=["OPTIONS"], include_in_schema=False)
