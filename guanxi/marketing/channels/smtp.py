"""E-mail through an SMTP server (smtplib): STARTTLS, implicit TLS or plain.

Subjects and bodies are UTF-8 (Chinese included; the subject is RFC 2047
encoded, the body base64 so it passes servers without 8BITMIME). The
``Message-ID`` is derived from the idempotency key, so a resend after a crash
carries the same id and a receiving system can drop it as a duplicate; it is
also the provider message id returned by :meth:`SmtpChannel.send`.

Reply classes: 5xx replies for a recipient or the message are permanent;
4xx replies, dropped connections, timeouts and a failed login are transient
(the message is fine; the server or the configuration must recover).

Settings: :class:`SmtpSettings`, read from ``GUANXI_SMTP_*`` plus
``GUANXI_MAIL_FROM`` and ``GUANXI_MAIL_REPLY_TO`` (and the ``.env`` file).
"""

from __future__ import annotations

import hashlib
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from guanxi.marketing.channels import ChannelSettings, Envelope
from guanxi.marketing.errors import PermanentDeliveryError, TransientDeliveryError


class SmtpSettings(ChannelSettings):
    """The ``email`` channel's settings: ``GUANXI_SMTP_*``, ``GUANXI_MAIL_FROM``, ``GUANXI_MAIL_REPLY_TO``.

    The password is a secret: never shown in a repr, a log line or an error.
    """

    model_config = SettingsConfigDict(env_prefix="GUANXI_SMTP_")

    host: str = Field("localhost", description="SMTP server.")
    port: int = Field(25, ge=1, le=65535, description="SMTP port.")
    security: Literal["starttls", "ssl", "plain"] = Field(
        "starttls", description="`starttls`, `ssl` (implicit TLS) or `plain`."
    )
    username: str | None = Field(None, description="Login, when the server needs one.")
    password: SecretStr | None = Field(None, description="Password of the login (a secret).")
    timeout_seconds: float = Field(30, gt=0, description="Per SMTP operation.")
    ca_file: Path | None = Field(
        None, description="PEM bundle of CAs to trust for the SMTP server, instead of the system's."
    )
    mail_from: str = Field(
        "guanxi <noreply@localhost>",
        validation_alias="GUANXI_MAIL_FROM",
        description="From; its domain is the Message-ID domain.",
    )
    mail_reply_to: str | None = Field(None, validation_alias="GUANXI_MAIL_REPLY_TO", description="Reply-To.")


def message_id(idempotency_key: str, domain: str) -> str:
    """The ``Message-ID`` of the message with ``idempotency_key``: the same key, the same id."""
    digest = hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:40]
    return f"<{digest}@{domain}>"


@dataclass
class SmtpChannel:
    """Sends each message over its own SMTP session (no connection kept between sends)."""

    host: str
    port: int
    mail_from: str
    security: str = "starttls"
    username: str | None = None
    password: str | None = None
    timeout: float = 30.0
    reply_to: str | None = None
    ca_file: str | None = None
    """CAs to trust for TLS (PEM); the system's when None. Certificates and host names are always checked."""

    @classmethod
    def from_settings(cls, settings: SmtpSettings) -> SmtpChannel:
        """The channel for ``settings``; connects to nothing until the first send."""
        return cls(
            host=settings.host,
            port=settings.port,
            mail_from=settings.mail_from,
            security=settings.security,
            username=settings.username,
            password=settings.password.get_secret_value() if settings.password else None,
            timeout=settings.timeout_seconds,
            reply_to=settings.mail_reply_to,
            ca_file=str(settings.ca_file) if settings.ca_file else None,
        )

    def __repr__(self) -> str:  # never shows the password
        return f"SmtpChannel(host={self.host!r}, port={self.port!r}, security={self.security!r})"

    @property
    def domain(self) -> str:
        address = parseaddr(self.mail_from)[1]
        return address.rpartition("@")[2] or "localhost"

    def build(self, message: Envelope) -> EmailMessage:
        """The e-mail for ``message`` (headers and UTF-8 text body)."""
        email = EmailMessage()
        email["From"] = self.mail_from
        email["To"] = message.recipient
        if self.reply_to:
            email["Reply-To"] = self.reply_to
        email["Subject"] = message.subject
        email["Date"] = formatdate(localtime=False, usegmt=True)
        email["Message-ID"] = message_id(message.idempotency_key, self.domain)
        email["X-Guanxi-Idempotency-Key"] = message.idempotency_key
        email.set_content(message.body, charset="utf-8", cte="base64")
        return email

    def _connect(self) -> smtplib.SMTP:
        context = ssl.create_default_context(cafile=self.ca_file)
        client: smtplib.SMTP
        if self.security == "ssl":
            client = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            if self.security == "starttls":
                client.starttls(context=context)
        if self.username:
            client.login(self.username, self.password or "")
        return client

    def send(self, message: Envelope) -> str:
        if "@" not in parseaddr(message.recipient)[1]:
            raise PermanentDeliveryError(
                f"{message.recipient!r} is not an e-mail address", code="email_address_invalid"
            )
        email = self.build(message)
        try:
            client = self._connect()
            try:
                client.send_message(email)
            finally:
                try:
                    client.quit()
                except smtplib.SMTPException:
                    client.close()
        except smtplib.SMTPRecipientsRefused as err:
            codes = [code for code, _ in err.recipients.values()]
            detail = "; ".join(
                f"{code} {reply.decode(errors='replace')}" for code, reply in err.recipients.values()
            )
            if any(code >= 500 for code in codes):
                raise PermanentDeliveryError(
                    f"recipient refused: {detail}", code="smtp_recipient_refused"
                ) from err
            raise TransientDeliveryError(f"recipient deferred: {detail}", code="smtp_deferred") from err
        except smtplib.SMTPAuthenticationError as err:
            raise TransientDeliveryError(
                f"SMTP login refused ({err.smtp_code}); check GUANXI_SMTP_USERNAME/PASSWORD",
                code="smtp_auth_failed",
            ) from err
        except smtplib.SMTPResponseException as err:
            raw = err.smtp_error
            reply = f"{err.smtp_code} {raw.decode(errors='replace') if isinstance(raw, bytes) else raw}"
            if err.smtp_code >= 500:
                raise PermanentDeliveryError(f"SMTP server refused: {reply}", code="smtp_rejected") from err
            raise TransientDeliveryError(f"SMTP server deferred: {reply}", code="smtp_deferred") from err
        except (smtplib.SMTPException, OSError) as err:
            raise TransientDeliveryError(
                f"SMTP server {self.host}:{self.port} unreachable: {err}", code="smtp_unavailable"
            ) from err
        return str(email["Message-ID"])

    def close(self) -> None:
        """Nothing is kept open between sends."""
