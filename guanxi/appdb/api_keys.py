"""API keys for programs calling the ``/v1`` HTTP API.

A key looks like ``gx_1a2b3c4d_<43 random characters>``. Only its SHA-256
digest is stored (a key is 256 random bits, so a fast digest is as safe as a
slow password hash); the ``gx_1a2b3c4d`` prefix is kept in clear so people can
tell their keys apart. The full key is shown once, when issued.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.appdb import audit
from guanxi.appdb.accounts import ApiKey, User
from guanxi.appdb.roles import Role
from guanxi.errors import AuthError, NotFoundError, ValidationFailedError

SCHEME = "gx_"
TOUCH_EVERY = timedelta(minutes=1)
"""``last_used_at`` is written at most this often per key, so reads stay reads."""


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
) -> IssuedKey:
    """Create a key with ``role``. The secret is in the result only; audited without it."""
    label = name.strip()
    if not label or len(label) > 128:
        raise ValidationFailedError("an API key needs a name of 1-128 characters")
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
    )
    session.add(record)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="api_key.issue",
        target=f"api_key:{prefix}",
        now=now,
        detail={"name": label, "role": role.value},
    )
    return IssuedKey(secret=secret, record=record)


def authenticate_api_key(session: Session, key: str, *, now: datetime) -> ApiKey:
    """The live key matching ``key``; raises :class:`AuthError` for unknown, malformed or revoked keys.

    The digest comparison is constant-time.
    """
    prefix = prefix_of(key.strip())
    record = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix)) if prefix else None
    if record is None or not hmac.compare_digest(record.key_hash, digest(key.strip())):
        raise AuthError("unknown API key; issue one on the users page or with `guanxi users add-key`")
    if record.revoked:
        raise AuthError(f"API key {record.prefix} was revoked")
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
