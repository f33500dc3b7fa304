"""The mail-bounces service: DSNs delivered over SMTP into the return-path Maildir suppress, once."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from ibis.backends import BaseBackend
from sqlalchemy import Engine, select

from guanxi.appdb.database import session_factory
from guanxi.config import Settings
from guanxi.jobs.kinds import JobContext
from guanxi.marketing import bounce_service, outbox
from guanxi.marketing.bounce_service import BOUNCES_SERVICE, read_bounces
from guanxi.marketing.outbox import OutboxMessage
from guanxi.marketing.suppression import Suppression
from tests.marketing.test_bounces import free_port

DATA = Path(__file__).parents[1] / "data" / "bounces"
RETURN_PATH = "bounces+737b6af155c17975d0fc136af5d67f3a37e5517e@haodian.example"


@pytest.fixture
def returns(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    """The return-path mailbox: an SMTP server (aiosmtpd) delivering into a Maildir; (maildir, port)."""
    maildir, port = tmp_path / "returns", free_port()
    controller = Controller(Mailbox(maildir), hostname="127.0.0.1", port=port)
    controller.start()
    yield maildir, port
    controller.stop()


def deliver(port: int, *names: str) -> None:
    """The MTA hands each named file of tests/data/bounces to the return-path mailbox."""
    with smtplib.SMTP("127.0.0.1", port, timeout=5) as mta:
        for name in names:
            raw = (DATA / name).read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")  # SMTP lines
            mta.sendmail("", [RETURN_PATH], raw)


def context(
    app_settings: Settings, app_engine: Engine, warehouse: BaseBackend, now: datetime, maildir: Path | None
) -> JobContext:
    settings = app_settings.model_copy(update={"mail_bounce_maildir": maildir})
    return JobContext(settings=settings, warehouse=warehouse, sessions=session_factory(app_engine), now=now)


def files_in(maildir: Path) -> list[str]:
    return sorted(path.parent.name for path in maildir.rglob("*") if path.is_file())


def test_a_pass_suppresses_hard_bounces_marks_the_message_and_the_next_pass_does_nothing(
    returns: tuple[Path, int],
    app_settings: Settings,
    app_engine: Engine,
    warehouse: BaseBackend,
    now: datetime,
) -> None:
    maildir, port = returns
    with session_factory(app_engine)() as session, session.begin():
        outbox.enqueue(
            session,
            channel="email",
            recipient="WangFang@example.com",
            idempotency_key="journey:care:c42:1",
            now=now,
        )
    deliver(port, "hard_bounce_5_1_1.eml", "soft_bounce_4_2_2_delayed.eml", "not_a_dsn.eml")
    ctx = context(app_settings, app_engine, warehouse, now, maildir)

    assert read_bounces(ctx) == 3
    assert read_bounces(ctx) == 0

    with session_factory(app_engine)() as session:
        entries = session.scalars(select(Suppression)).all()
        assert [(e.medium, e.address, e.reason, e.actor) for e in entries] == [
            ("email", "wangfang@example.com", "bounce", "bounce")
        ]
        message = session.scalars(select(OutboxMessage)).one()
        assert message.receipt == "undelivered"
    assert files_in(maildir) == ["cur", "cur", "cur"]


def test_a_crash_after_the_commit_re_reads_the_mail_and_changes_nothing_more(
    returns: tuple[Path, int],
    app_settings: Settings,
    app_engine: Engine,
    warehouse: BaseBackend,
    now: datetime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    maildir, port = returns
    deliver(port, "hard_bounce_5_1_1.eml")
    ctx = context(app_settings, app_engine, warehouse, now, maildir)

    def crash(path: Path, key: str) -> None:
        raise OSError("the process died before the mail was moved")

    monkeypatch.setattr(bounce_service, "mark_done", crash)
    with pytest.raises(OSError, match="died"):
        read_bounces(ctx)
    monkeypatch.undo()
    assert files_in(maildir) == ["new"]

    assert read_bounces(ctx) == 1

    with session_factory(app_engine)() as session:
        assert len(session.scalars(select(Suppression)).all()) == 1
    assert files_in(maildir) == ["cur"]


def test_without_a_maildir_setting_the_service_does_nothing(
    app_settings: Settings, app_engine: Engine, warehouse: BaseBackend, now: datetime
) -> None:
    assert read_bounces(context(app_settings, app_engine, warehouse, now, None)) == 0
    assert BOUNCES_SERVICE.name == "mail-bounces"
    assert not BOUNCES_SERVICE.writes_warehouse
    assert BOUNCES_SERVICE.interval(app_settings) > 0
