"""The SMTP channel against a real aiosmtpd server on 127.0.0.1."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from pydantic import SecretStr

from guanxi.marketing.channels import Envelope
from guanxi.marketing.channels.smtp import (
    SmtpChannel,
    SmtpSettings,
    message_id,
    verp_address,
    verp_token,
)
from guanxi.marketing.errors import PermanentDeliveryError, TransientDeliveryError


class Mailbox:
    """An aiosmtpd handler that keeps every message and refuses addresses at bounce.example."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], EmailMessage]] = []
        self.raw: list[bytes] = []
        self.sessions: list[object] = []
        """The client address of each message's SMTP session, in order."""

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address.endswith("@bounce.example"):
            return "550 5.1.1 no such user"
        if address.endswith("@busy.example"):
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.original_content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), parsed))
        self.raw.append(envelope.original_content)
        self.sessions.append(tuple(session.peer))
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    handler = Mailbox()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


def channel_for(port: int, **extra: Any) -> SmtpChannel:
    """An SMTP channel for the plain server on ``port``, built from its settings as the worker builds it."""
    local = SmtpSettings(
        **extra,
        host="127.0.0.1",
        port=port,
        security="plain",
        mail_from="好店 <shop@haodian.example>",
        mail_reply_to="service@haodian.example",
        timeout_seconds=5.0,
    )
    return SmtpChannel.from_settings(local)


def envelope(recipient: str, key: str = "journey:care:c42:1", **payload: Any) -> Envelope:
    return Envelope(
        channel="email",
        recipient=recipient,
        subject="王芳，感谢您的购买 🎉",
        body="亲爱的王芳：\n您的订单已发货，预计两天内送达。\n回复TD退订",
        idempotency_key=key,
        payload=payload,
    )


def test_a_chinese_message_arrives_with_its_headers(mailbox: tuple[Mailbox, int]) -> None:
    handler, port = mailbox
    channel = channel_for(port)

    provider_id = channel.send(envelope("wangfang@example.com"))

    [(mail_from, rcpt_tos, message)] = handler.messages
    assert mail_from == "shop@haodian.example"
    assert rcpt_tos == ["wangfang@example.com"]
    assert message["Subject"] == "王芳，感谢您的购买 🎉"
    assert message["From"] == "好店 <shop@haodian.example>"
    assert message["Reply-To"] == "service@haodian.example"
    assert message["To"] == "wangfang@example.com"
    assert message["X-Guanxi-Idempotency-Key"] == "journey:care:c42:1"
    assert message["Message-ID"] == provider_id == message_id("journey:care:c42:1", "haodian.example")
    assert message.get_content_charset() == "utf-8"
    assert message.get_content() == "亲爱的王芳：\n您的订单已发货，预计两天内送达。\n回复TD退订\n"


def test_the_same_key_gives_the_same_message_id_on_a_resend(mailbox: tuple[Mailbox, int]) -> None:
    handler, port = mailbox
    channel = channel_for(port)
    first = channel.send(envelope("a@example.com", key="k-1"))
    again = channel.send(envelope("a@example.com", key="k-1"))
    other = channel.send(envelope("a@example.com", key="k-2"))
    assert first == again != other
    assert [m["Message-ID"] for _, _, m in handler.messages] == [first, first, other]
    assert first.startswith("<")
    assert first.endswith("@haodian.example>")


def test_a_refused_recipient_is_permanent(mailbox: tuple[Mailbox, int]) -> None:
    _, port = mailbox
    with pytest.raises(PermanentDeliveryError) as caught:
        channel_for(port).send(envelope("nobody@bounce.example"))
    assert caught.value.code == "smtp_recipient_refused"
    assert "550" in caught.value.message


def test_a_deferred_recipient_is_transient(mailbox: tuple[Mailbox, int]) -> None:
    _, port = mailbox
    with pytest.raises(TransientDeliveryError) as caught:
        channel_for(port).send(envelope("x@busy.example"))
    assert caught.value.code == "smtp_deferred"


def test_a_malformed_address_is_permanent_without_connecting() -> None:
    with pytest.raises(PermanentDeliveryError) as caught:
        channel_for(free_port()).send(envelope("not an address"))
    assert caught.value.code == "email_address_invalid"


def test_an_unreachable_server_is_transient() -> None:
    with pytest.raises(TransientDeliveryError) as caught:
        channel_for(free_port()).send(envelope("a@example.com"))
    assert caught.value.code == "smtp_unavailable"


def test_the_password_never_shows_in_the_channel_or_settings_repr() -> None:
    local = SmtpSettings(username="u", password=SecretStr("hunter2-secret"))
    assert "hunter2" not in repr(SmtpChannel.from_settings(local))
    assert "hunter2" not in repr(local)


@pytest.fixture
def certificate_authority(tmp_path: Path) -> tuple[trustme.CA, Path]:
    ca = trustme.CA()
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    return ca, bundle


def server_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    return context


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_tls_modes_deliver_to_a_server_with_a_trusted_certificate(
    certificate_authority: tuple[trustme.CA, Path], security: str
) -> None:
    ca, bundle = certificate_authority
    handler = Mailbox()
    port = free_port()
    if security == "starttls":
        controller = Controller(
            handler, hostname="127.0.0.1", port=port, tls_context=server_context(ca), require_starttls=True
        )
    else:
        controller = Controller(handler, hostname="127.0.0.1", port=port, ssl_context=server_context(ca))
    controller.start()
    try:
        channel = channel_for(port)
        channel.security = security
        channel.ca_file = str(bundle)
        channel.send(envelope("wangfang@example.com"))
    finally:
        controller.stop()
    [(_, _, message)] = handler.messages
    assert message["Subject"] == "王芳，感谢您的购买 🎉"


def test_an_untrusted_certificate_is_refused_as_transient(
    certificate_authority: tuple[trustme.CA, Path],
) -> None:
    ca, _ = certificate_authority
    port = free_port()
    controller = Controller(Mailbox(), hostname="127.0.0.1", port=port, tls_context=server_context(ca))
    controller.start()
    try:
        channel = channel_for(port)
        channel.security = "starttls"
        with pytest.raises(TransientDeliveryError, match="CERTIFICATE_VERIFY_FAILED"):
            channel.send(envelope("wangfang@example.com"))
    finally:
        controller.stop()


HTML = "<p>亲爱的<b>王芳</b>：</p><p>您的订单已发货，预计两天内送达。</p>"
LONG_URL = "https://haodian.example/unsubscribe?list=care&token=" + "c42a" * 20
MAILTO = "unsubscribe+c42@haodian.example"


def test_an_html_message_arrives_as_plain_then_html_alternatives(mailbox: tuple[Mailbox, int]) -> None:
    handler, port = mailbox

    channel_for(port).send(envelope("wangfang@example.com", html=HTML))

    [(_, _, message)] = handler.messages
    assert message.get_content_type() == "multipart/alternative"
    plain, html = message.iter_parts()
    assert (plain.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
    assert plain.get_content_charset() == html.get_content_charset() == "utf-8"
    assert plain.get_content() == "亲爱的王芳：\n您的订单已发货，预计两天内送达。\n回复TD退订\n"
    assert html.get_content() == HTML + "\n"
    assert message["Subject"] == "王芳，感谢您的购买 🎉"


def test_a_message_without_html_stays_plain_text(mailbox: tuple[Mailbox, int]) -> None:
    handler, port = mailbox
    channel_for(port).send(envelope("wangfang@example.com", html=None))
    [(_, _, message)] = handler.messages
    assert not message.is_multipart()
    assert message.get_content_type() == "text/plain"


def test_unsubscribe_headers_name_both_ways_and_one_click(mailbox: tuple[Mailbox, int]) -> None:
    handler, port = mailbox

    channel_for(port).send(envelope("wangfang@example.com", unsubscribe={"url": LONG_URL, "mailto": MAILTO}))

    [(_, _, message)] = handler.messages
    assert message["List-Unsubscribe"] == f"<{LONG_URL}>, <mailto:{MAILTO}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    raw = handler.raw[0].decode("ascii")
    assert (
        f"\r\nList-Unsubscribe: <{LONG_URL}>,\r\n <mailto:{MAILTO}>\r\n" in raw
    )  # folded between entries only


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"mailto": "mailto:" + MAILTO}, f"<mailto:{MAILTO}>"),
        ({"url": "http://haodian.example/u?c=42"}, "<http://haodian.example/u?c=42>"),
    ],
)
def test_one_click_is_offered_only_with_an_https_url(
    mailbox: tuple[Mailbox, int], spec: dict[str, str], expected: str
) -> None:
    handler, port = mailbox
    channel_for(port).send(envelope("wangfang@example.com", unsubscribe=spec))
    [(_, _, message)] = handler.messages
    assert message["List-Unsubscribe"] == expected
    assert message["List-Unsubscribe-Post"] is None


@pytest.mark.parametrize(
    "spec",
    [
        {},
        "https://haodian.example/u",
        {"url": "javascript:alert(1)"},
        {"url": "https://haodian.example/u>, <https://evil.example"},
        {"mailto": "not an address"},
    ],
)
def test_a_malformed_unsubscribe_is_permanent_without_connecting(spec: Any) -> None:
    with pytest.raises(PermanentDeliveryError) as caught:
        channel_for(free_port()).send(envelope("wangfang@example.com", unsubscribe=spec))
    assert caught.value.code == "email_unsubscribe_invalid"


def test_with_a_bounce_address_mail_from_is_the_verp_address(mailbox: tuple[Mailbox, int]) -> None:
    handler, port = mailbox
    channel = channel_for(port)
    channel.bounce_address = "bounces@haodian.example"

    provider_id = channel.send(envelope("wangfang@example.com", key="journey:care:c42:1"))

    [(mail_from, _, message)] = handler.messages
    assert mail_from == verp_address("bounces@haodian.example", "journey:care:c42:1")
    token = verp_token(mail_from)
    assert token is not None
    assert mail_from == f"bounces+{token}@haodian.example"
    assert provider_id == message["Message-ID"] == f"<{token}@haodian.example>"
    assert message["From"] == "好店 <shop@haodian.example>"


def test_a_verp_token_reads_back_and_ordinary_tags_are_not_tokens() -> None:
    address = verp_address("bounces@haodian.example", "k-1")
    token = verp_token(address)
    assert token is not None
    assert len(token) == 40
    assert (
        verp_address("bounces@haodian.example", "k-1")
        == address
        != verp_address("bounces@haodian.example", "k-2")
    )
    assert verp_token(f"Mail Delivery <{address.upper()}>") == token
    assert verp_token("wangfang+shopping@example.com") is None
    assert verp_token("bounces@haodian.example") is None
    assert verp_token("not an address") is None


def test_the_bounce_address_is_read_from_guanxi_mail_bounce_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUANXI_MAIL_BOUNCE_ADDRESS", "bounces@haodian.example")
    assert SmtpChannel.from_settings(SmtpSettings()).bounce_address == "bounces@haodian.example"
    with pytest.raises(ValueError, match="bare address"):
        SmtpSettings(bounce_address="Bounces <bounces@haodian.example>")


def test_messages_share_a_session_until_its_limit_then_a_new_one_opens(mailbox: tuple[Mailbox, int]) -> None:
    handler, port = mailbox
    channel = channel_for(port, messages_per_session=2)
    for number in range(5):
        channel.send(envelope(f"c{number}@example.com", key=f"k-{number}"))
    channel.close()
    first, second, third = handler.sessions[0], handler.sessions[2], handler.sessions[4]
    assert handler.sessions == [first, first, second, second, third]
    assert len({first, second, third}) == 3


def test_a_refused_recipient_keeps_the_session_for_the_next_message(mailbox: tuple[Mailbox, int]) -> None:
    handler, port = mailbox
    channel = channel_for(port)
    channel.send(envelope("a@example.com", key="k-a"))
    with pytest.raises(PermanentDeliveryError):
        channel.send(envelope("nobody@bounce.example", key="k-x"))
    channel.send(envelope("b@example.com", key="k-b"))
    channel.close()
    assert [rcpt for _, rcpt, _ in handler.messages] == [["a@example.com"], ["b@example.com"]]
    assert handler.sessions[0] == handler.sessions[1]


def test_a_session_the_server_dropped_is_reopened_and_the_message_still_delivered() -> None:
    port = free_port()
    before, after = Mailbox(), Mailbox()
    controller = Controller(before, hostname="127.0.0.1", port=port)
    controller.start()
    channel = channel_for(port)
    channel.send(envelope("a@example.com", key="k-a"))
    controller.stop()  # the server goes away with the kept session; another one takes the port
    controller = Controller(after, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        channel.send(envelope("b@example.com", key="k-b"))
    finally:
        channel.close()
        controller.stop()
    assert [rcpt for _, rcpt, _ in before.messages] == [["a@example.com"]]
    assert [rcpt for _, rcpt, _ in after.messages] == [["b@example.com"]]


def test_an_idle_session_is_not_reused(mailbox: tuple[Mailbox, int]) -> None:
    handler, port = mailbox
    channel = channel_for(port, idle_seconds=0)
    channel.send(envelope("a@example.com", key="k-a"))
    channel.send(envelope("b@example.com", key="k-b"))
    channel.close()
    assert handler.sessions[0] != handler.sessions[1]
