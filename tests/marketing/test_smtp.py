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
from guanxi.marketing.channels.smtp import SmtpChannel, SmtpSettings, message_id
from guanxi.marketing.errors import PermanentDeliveryError, TransientDeliveryError


class Mailbox:
    """An aiosmtpd handler that keeps every message and refuses addresses at bounce.example."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], EmailMessage]] = []

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


def channel_for(port: int) -> SmtpChannel:
    """An SMTP channel for the plain server on ``port``, built from its settings as the worker builds it."""
    local = SmtpSettings(
        host="127.0.0.1",
        port=port,
        security="plain",
        mail_from="好店 <shop@haodian.example>",
        mail_reply_to="service@haodian.example",
        timeout_seconds=5.0,
    )
    return SmtpChannel.from_settings(local)


def envelope(recipient: str, key: str = "journey:care:c42:1") -> Envelope:
    return Envelope(
        channel="email",
        recipient=recipient,
        subject="王芳，感谢您的购买 🎉",
        body="亲爱的王芳：\n您的订单已发货，预计两天内送达。\n回复TD退订",
        idempotency_key=key,
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
