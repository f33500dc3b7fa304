"""API keys: shown once, stored as a digest, revocable."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from guanxi.appdb import api_keys
from guanxi.appdb.audit import recent
from guanxi.appdb.roles import Role
from guanxi.errors import AuthError, PermissionDeniedError, ValidationFailedError


def issue(session: Session, now: datetime) -> api_keys.IssuedKey:
    return api_keys.issue_api_key(session, name="ERP sync", role=Role.ANALYST, actor="user:boss", now=now)


def test_issued_key_has_a_visible_prefix_and_is_stored_as_sha256(app_session: Session, now: datetime) -> None:
    issued = issue(app_session, now)
    assert issued.secret.startswith(issued.record.prefix + "_")
    assert len(issued.record.prefix) == 11
    assert issued.record.key_hash == hashlib.sha256(issued.secret.encode()).hexdigest()
    assert issued.secret not in issued.record.key_hash


def test_issuing_is_audited_without_the_secret(app_session: Session, now: datetime) -> None:
    issued = issue(app_session, now)
    entry = recent(app_session, limit=1)[0]
    assert (entry.action, entry.target) == ("api_key.issue", f"api_key:{issued.record.prefix}")
    assert entry.detail == {"name": "ERP sync", "role": "analyst", "scopes": ["api"], "source": None}


def test_authenticate_accepts_the_key_and_touches_last_use_at_most_once_a_minute(
    app_session: Session, now: datetime
) -> None:
    issued = issue(app_session, now)
    assert api_keys.authenticate_api_key(app_session, issued.secret, now=now) is issued.record
    assert issued.record.last_used_at == now
    api_keys.authenticate_api_key(app_session, issued.secret, now=now + timedelta(seconds=30))
    assert issued.record.last_used_at == now
    api_keys.authenticate_api_key(app_session, issued.secret, now=now + timedelta(minutes=2))
    assert issued.record.last_used_at == now + timedelta(minutes=2)


@pytest.mark.parametrize(
    "mangle", [lambda s: s[:-1] + ("A" if s[-1] != "A" else "B"), lambda s: "gx_", lambda s: ""]
)
def test_wrong_or_malformed_keys_are_refused(app_session: Session, now: datetime, mangle: object) -> None:
    issued = issue(app_session, now)
    with pytest.raises(AuthError):
        api_keys.authenticate_api_key(app_session, mangle(issued.secret), now=now)  # type: ignore[operator]


def test_revoked_key_is_refused_and_revocation_is_idempotent(app_session: Session, now: datetime) -> None:
    issued = issue(app_session, now)
    api_keys.revoke_api_key(app_session, issued.record, actor="user:boss", now=now)
    api_keys.revoke_api_key(app_session, issued.record, actor="user:boss", now=now + timedelta(days=1))
    assert issued.record.revoked_at == now
    with pytest.raises(AuthError, match="revoked"):
        api_keys.authenticate_api_key(app_session, issued.secret, now=now)


def test_list_puts_live_keys_first(app_session: Session, now: datetime) -> None:
    old = issue(app_session, now)
    new = api_keys.issue_api_key(
        app_session, name="BI", role=Role.VIEWER, actor="cli", now=now + timedelta(hours=1)
    )
    api_keys.revoke_api_key(app_session, new.record, actor="cli", now=now)
    assert [k.prefix for k in api_keys.list_api_keys(app_session)] == [old.record.prefix, new.record.prefix]


def test_keys_have_the_api_scope_unless_told_otherwise(app_session: Session, now: datetime) -> None:
    plain = issue(app_session, now)
    both = api_keys.issue_api_key(
        app_session, name="site", role=Role.VIEWER, actor="cli", now=now, scopes=["ingest,api"], source="Web"
    )
    assert (plain.record.scopes, plain.record.source) == ("api", None)
    assert (both.record.scopes, both.record.source) == ("api,ingest", "web")


def test_a_key_is_refused_for_a_scope_it_lacks(app_session: Session, now: datetime) -> None:
    write_key = api_keys.issue_api_key(
        app_session, name="site", role=Role.ADMIN, actor="cli", now=now, scopes=["ingest"]
    )
    assert (
        api_keys.authenticate_api_key(app_session, write_key.secret, now=now, scope="ingest")
        is write_key.record
    )
    with pytest.raises(PermissionDeniedError, match="lacks the 'api' scope"):
        api_keys.authenticate_api_key(app_session, write_key.secret, now=now)
    with pytest.raises(PermissionDeniedError, match="lacks the 'ingest' scope"):
        api_keys.authenticate_api_key(app_session, issue(app_session, now).secret, now=now, scope="ingest")


@pytest.mark.parametrize(
    ("scopes", "source", "problem"),
    [
        (["write"], None, "unknown API key scope write"),
        ([" , "], None, "at least one scope"),
        (["api"], "web", "only to keys with the ingest scope"),
        (["ingest"], "our web/site", "source 'our web/site'"),
    ],
)
def test_unknown_scopes_and_bad_sources_are_refused(
    app_session: Session, now: datetime, scopes: list[str], source: str | None, problem: str
) -> None:
    with pytest.raises(ValidationFailedError, match=problem):
        api_keys.issue_api_key(
            app_session, name="k", role=Role.VIEWER, actor="cli", now=now, scopes=scopes, source=source
        )
