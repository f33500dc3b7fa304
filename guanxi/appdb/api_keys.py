"""API keys for programs calling the ``/v1`` HTTP API.

A key looks like ``gx_1a2b3c4d_<43 random characters>``. Only its SHA-256
digest is stored (a key is 256 random bits, so a fast digest is as safe as a
slow password hash); the ``gx_1a2b3c4d`` prefix is kept in clear so people can
tell their keys apart. The full key is shown once, when issued.

Each key has *scopes*: ``api`` lets it call the ``/v1`` JSON API (its role
decides what it may do there), ``ingest`` lets it send events to the
Segment-compatible intake as a *write key* (:mod:`guanxi.events`). Keys issued
before scopes existed have ``api``. :func:`authenticate_api_key` checks the
scope the caller needs and answers :class:`PermissionDeniedError` without it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.appdb import audit
from guanxi.appdb.accounts import ApiKey, User
from guanxi.appdb.roles import Role
from guanxi.errors import AuthError, NotFoundError, PermissionDeniedError, ValidationFailedError

SCHEME = "gx_"
TOUCH_EVERY = timedelta(minutes=1)
"""``last_used_at`` is written at most this often per key, so reads stay reads."""

SCOPE_API = "api"
SCOPE_INGEST = "ingest"
SCOPES: tuple[str, ...] = (SCOPE_API, SCOPE_INGEST)
"""Every scope, in the order they are stored and shown."""

_SOURCE = re.compile(r"[a-z0-9][a-z0-9_.\-]{0,63}")


def parse_scopes(values: Iterable[str]) -> tuple[str, ...]:
    """Scopes from words or comma lists (``["api,ingest"]``, ``["ingest", "api"]``), in canonical order.

    Raises :class:`ValidationFailedError` for an unknown scope or none at all.
    """
    words = {word.strip().lower() for value in values for word in value.split(",") if word.strip()}
    unknown = sorted(words - set(SCOPES))
    if unknown:
        raise ValidationFailedError(
            f"unknown API key scope {', '.join(unknown)}; choose from {', '.join(SCOPES)}"
        )
    if not words:
        raise ValidationFailedError(f"an API key needs at least one scope: {', '.join(SCOPES)}")
    return tuple(scope for scope in SCOPES if scope in words)


def check_source(source: str) -> str:
    """A key's event source, lower-cased; raises :class:`ValidationFailedError` unless it is 1-64 of a-z 0-9 _ . -."""
    value = source.strip().lower()
    if not _SOURCE.fullmatch(value):
        raise ValidationFailedError(
            f"source {source!r}: use 1-64 of a-z 0-9 _ . - starting with a letter or digit (e.g. web, app, wechat)"
        )
    return value


@dataclass(frozen=True)
class IssuedKey:
    """A new key: ``secret`` is the full key, to show once and never store."""

    secret: str
    record: ApiKey


def digest(key: str) -> str:
    """The stored form of a key: SHA-256 hex of its UTF-8 bytes."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def prefix_of(key: str) -> str | None:
    """The visible prefix (``gx_`` + 8 hex digits) of a well-formed key, else ``None``."""
    if not key.startswith(SCHEME):
        return None
    head, sep, rest = key[len(SCHEME) :].partition("_")
    if not sep or len(head) != 8 or not rest or any(c not in "0123456789abcdef" for c in head):
        return None
    return SCHEME + head


def issue_api_key(
    session: Session,
    *,
    name: str,
    role: Role,
    actor: str,
    now: datetime,
    created_by: User | None = None,
    scopes: Iterable[str] = (SCOPE_API,),
    source: str | None = None,
) -> IssuedKey:
    """Create a key with ``role`` and ``scopes``. The secret is in the result only; audited without it.

    ``source`` (only for keys with the ``ingest`` scope) names the source its
    events are stored under. Raises :class:`ValidationFailedError` for a bad
    name, scope or source.
    """
    label = name.strip()
    if not label or len(label) > 128:
        raise ValidationFailedError("an API key needs a name of 1-128 characters")
    chosen = parse_scopes(scopes)
    if source is not None and SCOPE_INGEST not in chosen:
        raise ValidationFailedError("a source applies only to keys with the ingest scope")
    event_source = check_source(source) if source is not None else None
    while True:
        prefix = SCHEME + secrets.token_hex(4)
        if session.scalar(select(ApiKey.id).where(ApiKey.prefix == prefix)) is None:
            break
    secret = f"{prefix}_{secrets.token_urlsafe(32)}"
    record = ApiKey(
        name=label,
        prefix=prefix,
        key_hash=digest(secret),
        role=role,
        created_by_id=created_by.id if created_by is not None else None,
        created_at=now,
        scopes=",".join(chosen),
        source=event_source,
    )
    session.add(record)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="api_key.issue",
        target=f"api_key:{prefix}",
        now=now,
        detail={"name": label, "role": role.value, "scopes": list(chosen), "source": event_source},
    )
    return IssuedKey(secret=secret, record=record)


def authenticate_api_key(session: Session, key: str, *, now: datetime, scope: str = SCOPE_API) -> ApiKey:
    """The live key matching ``key`` that has ``scope``.

    Raises :class:`AuthError` for unknown, malformed or revoked keys and
    :class:`PermissionDeniedError` for a key without ``scope``. The digest
    comparison is constant-time. Touches ``last_used_at`` (at most every
    :data:`TOUCH_EVERY`) in the caller's transaction.
    """
    prefix = prefix_of(key.strip())
    record = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix)) if prefix else None
    if record is None or not hmac.compare_digest(record.key_hash, digest(key.strip())):
        raise AuthError("unknown API key; issue one on the users page or with `guanxi users add-key`")
    if record.revoked:
        raise AuthError(f"API key {record.prefix} was revoked")
    if scope not in record.scope_set:
        raise PermissionDeniedError(
            f"API key {record.prefix} lacks the {scope!r} scope (it has {record.scopes}); "
            f"issue one with `guanxi users add-key NAME --scope {scope}`"
        )
    if record.last_used_at is None or now - record.last_used_at >= TOUCH_EVERY:
        record.last_used_at = now
        session.flush()
    return record


def list_api_keys(session: Session) -> list[ApiKey]:
    """Every key, live ones first, newest first."""
    query = select(ApiKey).order_by(
        ApiKey.revoked_at.is_not(None), ApiKey.created_at.desc(), ApiKey.id.desc()
    )
    return list(session.scalars(query))


def get_api_key(session: Session, *, key_id: int | None = None, prefix: str | None = None) -> ApiKey:
    """A key by id or prefix; raises :class:`NotFoundError`."""
    query = (
        select(ApiKey).where(ApiKey.id == key_id)
        if key_id is not None
        else select(ApiKey).where(ApiKey.prefix == prefix)
    )
    record = session.scalar(query)
    if record is None:
        raise NotFoundError(f"no API key {prefix or key_id}")
    return record


def revoke_api_key(session: Session, record: ApiKey, *, actor: str, now: datetime) -> ApiKey:
    """Revoke a key for good. Idempotent (the first revocation time is kept)."""
    if record.revoked:
        return record
    record.revoked_at = now
    audit.record(session, actor=actor, action="api_key.revoke", target=f"api_key:{record.prefix}", now=now)
    session.flush()
    return record
