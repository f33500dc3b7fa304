"""DSN parsing from named files, and a bounce travelling back over SMTP into a return-path Maildir."""

from __future__ import annotations

import smtplib
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox

from guanxi.errors import NotFoundError
from guanxi.marketing.bounces import Bounce, mark_done, parse_dsn, read_maildir
from guanxi.marketing.channels import Envelope
from guanxi.marketing.channels.smtp import SmtpChannel, verp_token

DATA = Path(__file__).parents[1] / "data" / "bounces"
CARE_TOKEN = "737b6af155c17975d0fc136af5d67f3a37e5517e"  # verp_token of journey:care:c42:1


def dsn(name: str) -> bytes:
    return (DATA / name).read_bytes()


def test_a_postfix_hard_bounce_names_recipient_status_and_our_message() -> None:
    assert parse_dsn(dsn("hard_bounce_5_1_1.eml")) == [
        Bounce(
            recipient="wangfang@example.com",
            action="failed",
            status="5.1.1",
            hard=True,
            diagnostic="550 5.1.1 <WangFang@example.com>: Recipient address rejected: "
            "User unknown in virtual mailbox table",
            idempotency_key="journey:care:c42:1",
            verp_token=CARE_TOKEN,
        )
    ]


def test_a_delay_warning_is_a_soft_bounce_traced_through_the_returned_headers() -> None:
    [bounce] = parse_dsn(dsn("soft_bounce_4_2_2_delayed.eml"))
    assert (bounce.recipient, bounce.action, bounce.status, bounce.hard) == (
        "li.lei@example.net",
        "delayed",
        "4.2.2",
        False,
    )
    assert bounce.diagnostic == "452 4.2.2 Mailbox full"
    assert bounce.idempotency_key == "journey:winback:c7:2"
    assert bounce.verp_token == "914faea0d10fa824a7486c453792fbe323984892"


def test_each_recipient_block_is_one_bounce_and_verp_traces_a_dsn_without_our_headers() -> None:
    failed, delayed = parse_dsn(dsn("two_recipients_no_returned_message.eml"))
    assert (failed.recipient, failed.status, failed.hard) == ("zhang.wei@example.org", "5.2.2", True)
    assert (delayed.recipient, delayed.action, delayed.hard) == ("chen.jing@example.org", "delayed", False)
    assert delayed.diagnostic == "connection timed out"
    assert failed.idempotency_key is None
    assert failed.verp_token == delayed.verp_token == CARE_TOKEN


def test_mail_that_is_no_dsn_gives_no_bounces() -> None:
    assert parse_dsn(dsn("not_a_dsn.eml")) == []
    other_report = dsn("hard_bounce_5_1_1.eml").replace(b"delivery-status;", b"disposition-notification;")
    assert parse_dsn(other_report) == []
    assert parse_dsn(b"\x00\xff not mail at all") == []
    assert parse_dsn(b"") == []


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Relay:
    """An aiosmtpd handler standing in for the outbound MTA: accepts and keeps each message."""

    def __init__(self) -> None:
        self.accepted: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.accepted.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 queued"


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[tuple[Relay, int, Path, int]]:
    """The relay the channel sends through, and the return-path mailbox (a Maildir) bounces come back to."""
    relay, returns = Relay(), tmp_path / "returns"
    relay_port, returns_port = free_port(), free_port()
    controllers = [
        Controller(relay, hostname="127.0.0.1", port=relay_port),
        Controller(Mailbox(returns), hostname="127.0.0.1", port=returns_port),
    ]
    for controller in controllers:
        controller.start()
    yield relay, relay_port, returns, returns_port
    for controller in controllers:
        controller.stop()


def postfix_dsn(mail_from: str, recipient: str, original: bytes) -> bytes:
    """The DSN Postfix writes when the remote MX refuses ``recipient`` with 550 5.1.1 (headers returned)."""
    returned = original.split(b"\r\n\r\n", 1)[0].decode("ascii") + "\r\n"  # verbatim, as Postfix does
    boundary = "9B1F2C0A3.1715652723/mail.haodian.example"
    return (
        f"From: MAILER-DAEMON@mail.haodian.example (Mail Delivery System)\r\n"
        f"To: {mail_from}\r\n"
        f"Subject: Undelivered Mail Returned to Sender\r\n"
        f"Auto-Submitted: auto-replied\r\n"
        f"MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary="{boundary}"\r\n'
        f"\r\n--{boundary}\r\nContent-Description: Notification\r\nContent-Type: text/plain\r\n\r\n"
        f"<{recipient}>: host mx.example.com said: 550 5.1.1 User unknown\r\n"
        f"\r\n--{boundary}\r\nContent-Description: Delivery report\r\nContent-Type: message/delivery-status\r\n\r\n"
        f"Reporting-MTA: dns; mail.haodian.example\r\nX-Postfix-Sender: rfc822; {mail_from}\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        f"Diagnostic-Code: smtp; 550 5.1.1 <{recipient}>: User unknown\r\n"
        f"\r\n--{boundary}\r\nContent-Description: Undelivered Message Headers\r\n"
        f"Content-Type: text/rfc822-headers\r\n\r\n{returned}"
        f"\r\n--{boundary}--\r\n"
    ).encode("ascii")


def test_a_bounce_returns_over_smtp_to_the_maildir_and_is_processed_once(
    servers: tuple[Relay, int, Path, int],
) -> None:
    relay, relay_port, returns, returns_port = servers
    channel = SmtpChannel("127.0.0.1", relay_port, "好店 <shop@haodian.example>", security="plain")
    channel.bounce_address = "bounces@haodian.example"
    message = Envelope(
        "email", "WangFang@example.com", "王芳，您好", "您的订单已发货。", "journey:care:c42:1"
    )
    provider_id = channel.send(message)
    [(mail_from, [recipient], original)] = relay.accepted

    with smtplib.SMTP("127.0.0.1", returns_port, timeout=5) as mta:  # the MX refused; the MTA reports
        mta.sendmail("", [mail_from], postfix_dsn(mail_from, recipient, original))

    [(key, raw)] = list(read_maildir(returns))
    [bounce] = parse_dsn(raw)
    assert bounce.hard
    assert (bounce.recipient, bounce.status) == ("wangfang@example.com", "5.1.1")
    assert bounce.idempotency_key == "journey:care:c42:1"
    assert bounce.verp_token == verp_token(mail_from) == CARE_TOKEN
    assert provider_id == f"<{bounce.verp_token}@haodian.example>"

    mark_done(returns, key)
    assert list(read_maildir(returns)) == []
    mark_done(returns, key)  # again: nothing to do
    assert [path.parent.name for path in returns.rglob("*") if path.is_file()] == ["cur"]


def test_an_unknown_maildir_key_is_not_found_and_a_missing_maildir_is_empty(tmp_path: Path) -> None:
    assert list(read_maildir(tmp_path / "returns")) == []
    with pytest.raises(NotFoundError):
        mark_done(tmp_path / "returns", "1715652723.M1P2Q3.mail")
