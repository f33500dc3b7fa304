"""Write keys: read from Basic auth or X-API-Key, checked against the app database through a short cache."""

from __future__ import annotations

import base64
from datetime import datetime

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from guanxi.appdb.api_keys import get_api_key, issue_api_key, prefix_of, revoke_api_key
from guanxi.appdb.database import session_factory
from guanxi.appdb.roles import Role
from guanxi.errors import AuthError, PermissionDeniedError
from guanxi.events.writekeys import WriteKeys, key_from_headers


class Ticks:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def issued(
    engine: Engine, now: datetime, *, scopes: tuple[str, ...] = ("ingest",), source: str | None = None
) -> str:
    with session_factory(engine)() as session, session.begin():
        return issue_api_key(
            session, name="site", role=Role.VIEWER, actor="cli", now=now, scopes=scopes, source=source
        ).secret


def revoke(engine: Engine, secret: str, now: datetime) -> None:
    with session_factory(engine)() as session, session.begin():
        revoke_api_key(session, get_api_key(session, prefix=prefix_of(secret)), actor="cli", now=now)


@pytest.mark.parametrize(
    ("headers", "key"),
    [
        ({"authorization": "Basic " + base64.b64encode(b"gx_1:").decode()}, "gx_1"),
        ({"authorization": "basic " + base64.b64encode(b"gx_1").decode()}, "gx_1"),
        ({"x-api-key": " gx_2 "}, "gx_2"),
        ({"authorization": "Bearer token", "x-api-key": "gx_2"}, "gx_2"),
        ({}, None),
    ],
)
def test_the_key_comes_from_basic_auth_or_x_api_key(headers: dict[str, str], key: str | None) -> None:
    assert key_from_headers(headers) == key


def test_a_known_key_gives_its_source_and_a_revoked_one_is_refused_after_the_cache_period(
    app_engine: Engine, now: datetime
) -> None:
    secret = issued(app_engine, now, source="app")
    ticks = Ticks()
    keys = WriteKeys(session_factory(app_engine), lambda: now, ttl_seconds=10, monotonic=ticks)
    assert keys.check(secret).source == "app"
    revoke(app_engine, secret, now)
    ticks.now += 9
    assert keys.check(secret).source == "app"  # remembered
    ticks.now += 2
    with pytest.raises(AuthError, match="was revoked"):
        keys.check(secret)


def test_a_key_without_a_source_writes_to_segment_and_one_without_the_scope_is_denied(
    app_engine: Engine, now: datetime
) -> None:
    keys = WriteKeys(session_factory(app_engine), lambda: now, ttl_seconds=10)
    assert keys.check(issued(app_engine, now)).source == "segment"
    api_only = issued(app_engine, now, scopes=("api",))
    for _ in range(2):  # the refusal is remembered and raised again as a fresh error
        with pytest.raises(PermissionDeniedError, match="lacks the 'ingest' scope"):
            keys.check(api_only)


def test_a_verdict_is_asked_once_per_period(app_engine: Engine, app_session: Session, now: datetime) -> None:
    secret = issued(app_engine, now)
    asked: list[str] = []
    keys = WriteKeys(session_factory(app_engine), lambda: now, ttl_seconds=10)
    real = keys._ask
    keys._ask = lambda key: asked.append(key) or real(key)  # type: ignore[method-assign]
    for _ in range(50):
        keys.check(secret)
    with pytest.raises(AuthError):
        keys.check("gx_00000000_nope")
    with pytest.raises(AuthError):
        keys.check("gx_00000000_nope")
    assert len(asked) == 2


def test_no_key_at_all_says_how_to_send_one(app_engine: Engine, now: datetime) -> None:
    keys = WriteKeys(session_factory(app_engine), lambda: now, ttl_seconds=0)
    with pytest.raises(AuthError, match="HTTP Basic user name"):
        keys.check(None)
