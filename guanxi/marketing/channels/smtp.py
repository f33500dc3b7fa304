"""E-mail through an SMTP server (smtplib): STARTTLS, implicit TLS or plain.

Subjects and bodies are UTF-8 (Chinese included; the subject is RFC 2047
encoded, the body base64 so it passes servers without 8BITMIME). The
``Message-ID`` is derived from the idempotency key, so a resend after a crash
carries the same id and a receiving system can drop it as a duplicate; it is
also the provider message id returned by :meth:`SmtpChannel.send`.

With ``message.payload["html"]`` (a string) the e-mail is multipart/alternative:
the plain body first, the HTML second, both UTF-8 (base64). With
``message.payload["unsubscribe"] = {"url": "https://…", "mailto": "unsubscribe@…"}``
(either may be left out) it carries ``List-Unsubscribe: <https://…>, <mailto:…>``
(RFC 2369) and, when the URL is https, ``List-Unsubscribe-Post:
List-Unsubscribe=One-Click`` (RFC 8058, which requires HTTPS). The header is
folded only between its ``<…>`` entries, never inside a URL. A URL that is not
http(s), contains spaces, commas or angle brackets, or a mailto that is not an
address, is permanent ``email_unsubscribe_invalid``.

Bounces: with ``GUANXI_MAIL_BOUNCE_ADDRESS`` (``bounces@haodian.example``) the
envelope sender (MAIL FROM, which becomes the Return-Path) is the VERP address
``bounces+<token>@haodian.example``, where the token is the 40 hex digits of the
message's ``Message-ID`` — a SHA-256 prefix of the idempotency key
(:func:`verp_address`, :func:`verp_token`). So a bounce is traced to its message
by the address it was returned to, even when the DSN quotes none of our
headers: ``<token@domain>`` is the provider message id the outbox stored. A
hash, not a reversible encoding: base32 of a key would pass the 64-octet limit of
a local part for keys past ~35 bytes and show customer and journey ids to every
relay on the way. Without the setting MAIL FROM is the From address, as before.

Sessions: one SMTP session is kept open between sends (no EHLO, STARTTLS
and login per message) and re-opened after ``messages_per_session`` messages,
after ``idle_seconds`` without a send, after any error other than a refused
recipient, and by :meth:`SmtpChannel.close`. A kept session the server has
dropped meanwhile is re-opened once and the message sent on the new one (the
server had not taken it). The TLS context is built once per channel.

Reply classes: 5xx replies for a recipient or the message are permanent;
4xx replies, dropped connections, timeouts and a failed login are transient
(the message is fine; the server or the configuration must recover).

Settings: :class:`SmtpSettings`, read from ``GUANXI_SMTP_*`` plus
``GUANXI_MAIL_FROM``, ``GUANXI_MAIL_REPLY_TO`` and ``GUANXI_MAIL_BOUNCE_ADDRESS``
(and the ``.env`` file).
"""

from __future__ import annotations

import hashlib
import re
import smtplib
import ssl
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import Policy
from email.utils import formatdate, parseaddr
from pathlib import Path
from typing import Any, Literal, NoReturn

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from guanxi.marketing.channels import ChannelSettings, Envelope
from guanxi.marketing.errors import PermanentDeliveryError, TransientDeliveryError


class SmtpSettings(ChannelSettings):
    """The ``email`` channel's settings: ``GUANXI_SMTP_*`` and ``GUANXI_MAIL_FROM/REPLY_TO/BOUNCE_ADDRESS``.

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
    messages_per_session: int = Field(
        100, ge=1, description="Messages sent over one SMTP session before it is re-opened."
    )
    idle_seconds: float = Field(
        30, ge=0, description="A kept SMTP session unused this long is closed and re-opened."
    )
    mail_from: str = Field(
        "guanxi <noreply@localhost>",
        validation_alias="GUANXI_MAIL_FROM",
        description="From; its domain is the Message-ID domain.",
    )
    mail_reply_to: str | None = Field(None, validation_alias="GUANXI_MAIL_REPLY_TO", description="Reply-To.")
    bounce_address: str | None = Field(
        None,
        validation_alias="GUANXI_MAIL_BOUNCE_ADDRESS",
        description="Return-path mailbox; MAIL FROM becomes its VERP form local+<token>@domain.",
    )

    @field_validator("bounce_address")
    @classmethod
    def _bounce_address_is_an_address(cls, value: str | None) -> str | None:
        if value is not None and _ADDRESS.fullmatch(value) is None:
            raise ValueError("must be a bare address like bounces@example.com")
        return value


_ADDRESS = re.compile(r"[^@\s<>,;\"]+@[^@\s<>,;\"]+")
_TOKEN = re.compile(r"[0-9a-f]{40}")
_URL = re.compile(r"https?://[^\s<>,\"]+")


def _digest(idempotency_key: str) -> str:
    return hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:40]


def message_id(idempotency_key: str, domain: str) -> str:
    """The ``Message-ID`` of the message with ``idempotency_key``: the same key, the same id."""
    return f"<{_digest(idempotency_key)}@{domain}>"


def verp_address(bounce_address: str, idempotency_key: str) -> str:
    """The VERP envelope sender: ``local+<token>@domain``, the token being the Message-ID's 40 hex digits.

    The same key, the same address; :func:`verp_token` reads the token back.
    """
    local, _, domain = bounce_address.rpartition("@")
    return f"{local}+{_digest(idempotency_key)}@{domain}"


def verp_token(address: str) -> str | None:
    """The token of a VERP address (``bounces+<40 hex>@…``, also inside ``Name <…>``), else None.

    Case-insensitive (some relays lower- or upper-case local parts); an ordinary
    ``user+tag@`` address gives None.
    """
    local, at, _ = parseaddr(address)[1].rpartition("@")
    tag = local.rpartition("+")[2].lower() if "+" in local else ""
    return tag if at and _TOKEN.fullmatch(tag) else None


class _ListHeader(str):
    """A header of ``<…>`` entries that folds only between entries, so no URL is split or encoded.

    ``EmailMessage`` stores a value that has a ``name`` as it is and asks it to
    fold itself; the default folding would turn a long URL into RFC 2047
    encoded words, which no mail client resolves.
    """

    name: str
    entries: tuple[str, ...]

    def __new__(cls, name: str, entries: Sequence[str]) -> _ListHeader:
        header = super().__new__(cls, ", ".join(entries))
        header.name = name
        header.entries = tuple(entries)
        return header

    def fold(self, *, policy: Policy) -> str:
        linesep = policy.linesep
        limit = policy.max_line_length or 78
        lines = [f"{self.name}: {self.entries[0]}"]
        for entry in self.entries[1:]:
            if len(lines[-1]) + len(entry) + 2 <= limit:
                lines[-1] += f", {entry}"
            else:
                lines[-1] += ","
                lines.append(f" {entry}")
        return linesep.join(lines) + linesep


def unsubscribe_headers(spec: Any) -> dict[str, str]:
    """``List-Unsubscribe`` (and, for an https URL, ``List-Unsubscribe-Post``) for ``payload["unsubscribe"]``.

    Raises PermanentDeliveryError (``email_unsubscribe_invalid``) when ``spec`` is
    not ``{"url": "http(s)://…", "mailto": "…@…"}`` with at least one of them.
    """
    if not isinstance(spec, Mapping):
        _bad_unsubscribe("must be an object with url and/or mailto")
    url, mailto = spec.get("url"), spec.get("mailto")
    entries: list[str] = []
    if url is not None:
        if not isinstance(url, str) or _URL.fullmatch(url) is None:
            _bad_unsubscribe("url must be an http(s) URL without spaces, commas or angle brackets")
        entries.append(f"<{url}>")
    if mailto is not None:
        address = mailto.removeprefix("mailto:") if isinstance(mailto, str) else ""
        if _ADDRESS.fullmatch(address.partition("?")[0]) is None:
            _bad_unsubscribe("mailto must be an e-mail address")
        entries.append(f"<mailto:{address}>")
    if not entries:
        _bad_unsubscribe("needs a url or a mailto")
    headers: dict[str, str] = {"List-Unsubscribe": _ListHeader("List-Unsubscribe", entries)}
    if isinstance(url, str) and url.startswith("https://"):
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return headers


def _bad_unsubscribe(problem: str) -> NoReturn:
    raise PermanentDeliveryError(f"payload unsubscribe: {problem}", code="email_unsubscribe_invalid")


@dataclass
class SmtpChannel:
    """Sends messages over a kept SMTP session (see the module docstring); safe to share between threads."""

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
    bounce_address: str | None = None
    """When set, MAIL FROM is :func:`verp_address` of it; else the From address."""
    messages_per_session: int = 100
    idle_seconds: float = 30.0
    _client: smtplib.SMTP | None = field(default=None, init=False, repr=False)
    _sent_on_client: int = field(default=0, init=False, repr=False)
    _used_at: float = field(default=0.0, init=False, repr=False)
    _context: ssl.SSLContext | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

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
            bounce_address=settings.bounce_address,
            messages_per_session=settings.messages_per_session,
            idle_seconds=settings.idle_seconds,
        )

    def __repr__(self) -> str:  # never shows the password
        return f"SmtpChannel(host={self.host!r}, port={self.port!r}, security={self.security!r})"

    @property
    def domain(self) -> str:
        address = parseaddr(self.mail_from)[1]
        return address.rpartition("@")[2] or "localhost"

    def build(self, message: Envelope) -> EmailMessage:
        """The e-mail for ``message``: headers, the UTF-8 text body and, with ``payload["html"]``, its HTML twin.

        Raises PermanentDeliveryError when ``payload["unsubscribe"]`` is malformed.
        """
        email = EmailMessage()
        email["From"] = self.mail_from
        email["To"] = message.recipient
        if self.reply_to:
            email["Reply-To"] = self.reply_to
        email["Subject"] = message.subject
        email["Date"] = formatdate(localtime=False, usegmt=True)
        email["Message-ID"] = message_id(message.idempotency_key, self.domain)
        email["X-Guanxi-Idempotency-Key"] = message.idempotency_key
        if message.payload.get("unsubscribe") is not None:
            for name, value in unsubscribe_headers(message.payload["unsubscribe"]).items():
                email[name] = value
        email.set_content(message.body, charset="utf-8", cte="base64")
        html = message.payload.get("html")
        if isinstance(html, str):
            email.add_alternative(html, subtype="html", charset="utf-8", cte="base64")
        return email

    def envelope_sender(self, message: Envelope) -> str | None:
        """MAIL FROM for ``message``: the VERP bounce address, or None (smtplib then uses From)."""
        if self.bounce_address is None:
            return None
        return verp_address(self.bounce_address, message.idempotency_key)

    def _tls(self) -> ssl.SSLContext:
        if self._context is None:
            self._context = ssl.create_default_context(cafile=self.ca_file)
        return self._context

    def _connect(self) -> smtplib.SMTP:
        client: smtplib.SMTP
        if self.security == "ssl":
            client = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=self._tls())
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            if self.security == "starttls":
                client.starttls(context=self._tls())
        if self.username:
            client.login(self.username, self.password or "")
        return client

    def _drop(self) -> None:
        """Close the kept session, if any (QUIT when the server still listens)."""
        client, self._client, self._sent_on_client = self._client, None, 0
        if client is None:
            return
        try:
            client.quit()
        except (smtplib.SMTPException, OSError):
            client.close()

    def _session(self) -> tuple[smtplib.SMTP, bool]:
        """The session to send on, and whether it was kept from an earlier send."""
        fresh = (
            self._client is not None
            and self._sent_on_client < self.messages_per_session
            and time.monotonic() - self._used_at <= self.idle_seconds
        )
        if self._client is not None and not fresh:
            self._drop()
        if self._client is None:
            self._client = self._connect()
            return self._client, False
        return self._client, True

    def _transmit(self, email: EmailMessage, sender: str | None) -> None:
        client, kept = self._session()
        try:
            try:
                client.send_message(email, from_addr=sender)
            except smtplib.SMTPServerDisconnected:
                if not kept:
                    raise
                self._drop()  # the server closed the idle session; it has not taken the message
                client, _ = self._session()
                client.send_message(email, from_addr=sender)
        except smtplib.SMTPRecipientsRefused:
            self._sent_on_client += 1  # smtplib reset the transaction: the session is still good
            self._used_at = time.monotonic()
            raise
        except BaseException:
            self._drop()
            raise
        self._sent_on_client += 1
        self._used_at = time.monotonic()

    def send(self, message: Envelope) -> str:
        if "@" not in parseaddr(message.recipient)[1]:
            raise PermanentDeliveryError(
                f"{message.recipient!r} is not an e-mail address", code="email_address_invalid"
            )
        email = self.build(message)
        try:
            with self._lock:
                self._transmit(email, self.envelope_sender(message))
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
        """End the kept session (the next send opens a new one)."""
        with self._lock:
            self._drop()
