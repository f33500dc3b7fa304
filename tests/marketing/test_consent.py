"""The consent ledger keeps history, is idempotent, and the latest change by time wins."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from guanxi.errors import ValidationFailedError
from guanxi.marketing import consent, suppression


def record(session: Session, state: str, at: datetime, source: str = "import") -> consent.Change:
    return consent.record_consent(
        session, medium="email", address="a@shop.cn", state=state, source=source, at=at, now=at, actor="t"
    )


def test_each_change_is_kept_and_the_state_is_the_latest(app_session: Session, now: datetime) -> None:
    record(app_session, "granted", now - timedelta(days=2))
    record(app_session, "revoked", now - timedelta(days=1), source="unsubscribe")
    assert consent.state_of(app_session, "email", "a@shop.cn") == "revoked"
    assert [r.state for r in consent.history(app_session, "email", "a@shop.cn")] == ["granted", "revoked"]


def test_recording_the_same_state_or_the_same_change_again_adds_nothing(
    app_session: Session, now: datetime
) -> None:
    assert record(app_session, "granted", now).changed
    assert not record(app_session, "granted", now + timedelta(hours=1)).changed
    record(app_session, "revoked", now + timedelta(hours=2))
    again = record(app_session, "granted", now)  # an old file imported again
    assert not again.changed
    assert len(consent.history(app_session, "email", "a@shop.cn")) == 2


def test_an_older_change_is_history_only(app_session: Session, now: datetime) -> None:
    record(app_session, "revoked", now, source="unsubscribe")
    older = record(app_session, "granted", now - timedelta(days=300))
    assert (older.changed, older.state) == (False, "revoked")
    assert consent.state_of(app_session, "email", "a@shop.cn") == "revoked"
    assert len(consent.history(app_session, "email", "a@shop.cn")) == 2


def test_addresses_are_normalised_per_medium() -> None:
    assert consent.normalize_address("email", " A@Shop.CN ") == "a@shop.cn"
    assert consent.normalize_address("sms", "138 0013 8000") == "+8613800138000"
    with pytest.raises(ValidationFailedError, match="not a phone number"):
        consent.normalize_address("sms", "12345")


def test_unknown_states_and_sources_are_refused(app_session: Session, now: datetime) -> None:
    with pytest.raises(ValidationFailedError, match="consent state"):
        record(app_session, "maybe", now)
    with pytest.raises(ValidationFailedError, match="consent source"):
        record(app_session, "granted", now, source="rumour")


def test_suppressing_twice_keeps_one_entry_and_lifting_keeps_the_history(
    app_session: Session, now: datetime
) -> None:
    first = suppression.suppress(
        app_session, medium="*", address="a@shop.cn", reason="complaint", actor="t", now=now
    )
    second = suppression.suppress(
        app_session, medium="*", address="a@shop.cn", reason="manual", actor="t", now=now
    )
    app_session.flush()
    assert first.id == second.id
    assert second.reason == "complaint"
    assert suppression.active_entry(app_session, "sms", "a@shop.cn") is not None
    suppression.lift(app_session, medium="*", address="a@shop.cn", actor="t", now=now)
    assert suppression.active_entry(app_session, "email", "a@shop.cn") is None
    assert len(suppression.list_entries(app_session, include_lifted=True)) == 1
