"""Messages as signed JSON POSTs to a webhook endpoint (httpx).

The endpoint is ``GUANXI_WEBHOOK_URL`` — never a URL taken from message
content. The body is JSON (UTF-8)::

    {"idempotency_key": …, "channel": …, "recipient": …, "subject": …, "body": …, "payload": {…}}

Headers: ``Idempotency-Key`` (the message's key, identical on every resend),
``X-Guanxi-Signature: sha256=<hex>`` — HMAC-SHA256 of the exact body bytes
with ``GUANXI_WEBHOOK_SECRET`` (:func:`signature` lets a receiver check it).

Settings: :class:`WebhookSettings`, read from ``GUANXI_WEBHOOK_*`` (and the
``.env`` file).

Outcome: 2xx is sent (the provider id is the response's JSON ``id``, else its
``X-Request-Id`` header, else the idempotency key); 5xx, 408, 429, timeouts and
connection errors are transient; any other 4xx is permanent.
"""

from __future__ import annotations

import hashlib
import hmac
import json

import httpx
from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from guanxi.errors import ConfigError
from guanxi.marketing.channels import ChannelSettings, Envelope
from guanxi.marketing.errors import PermanentDeliveryError, TransientDeliveryError

SIGNATURE_HEADER = "X-Guanxi-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
_RETRYABLE_4XX = {408, 425, 429}


class WebhookSettings(ChannelSettings):
    """The ``webhook`` channel's settings: ``GUANXI_WEBHOOK_*``. The secret never shows in a repr or log."""

    model_config = SettingsConfigDict(env_prefix="GUANXI_WEBHOOK_")

    url: str | None = Field(None, description="Where the webhook channel posts.")
    secret: SecretStr | None = Field(None, description="HMAC key of the signature header (a secret).")
    timeout_seconds: float = Field(10, gt=0, description="Per request.")


def signature(secret: str, body: bytes) -> str:
    """The signature header value for ``body``: ``sha256=`` and the hex HMAC."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def encode(message: Envelope) -> bytes:
    """The exact request body for ``message``."""
    document = {
        "idempotency_key": message.idempotency_key,
        "channel": message.channel,
        "recipient": message.recipient,
        "subject": message.subject,
        "body": message.body,
        "payload": message.payload,
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class WebhookChannel:
    """POSTs each message to one URL over a kept-alive connection pool."""

    def __init__(
        self, url: str, secret: str, *, timeout: float = 10.0, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.url = url
        self._secret = secret
        self._client = httpx.Client(timeout=timeout, transport=transport)

    @classmethod
    def from_settings(cls, settings: WebhookSettings) -> WebhookChannel:
        """The channel for ``settings``; raises ConfigError when the URL or the secret is not set."""
        if not settings.url:
            raise ConfigError("GUANXI_WEBHOOK_URL must be set to send on the webhook channel")
        if settings.secret is None or not settings.secret.get_secret_value():
            raise ConfigError("GUANXI_WEBHOOK_SECRET must be set to sign webhook requests")
        return cls(settings.url, settings.secret.get_secret_value(), timeout=settings.timeout_seconds)

    def __repr__(self) -> str:  # never shows the secret
        return f"WebhookChannel(url={self.url!r})"

    def send(self, message: Envelope) -> str:
        body = encode(message)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            IDEMPOTENCY_HEADER: message.idempotency_key,
            SIGNATURE_HEADER: signature(self._secret, body),
        }
        try:
            response = self._client.post(self.url, content=body, headers=headers)
        except httpx.TimeoutException as err:
            raise TransientDeliveryError(f"webhook timed out: {err}", code="webhook_timeout") from err
        except httpx.HTTPError as err:
            raise TransientDeliveryError(f"webhook unreachable: {err}", code="webhook_unavailable") from err
        status = response.status_code
        if 200 <= status < 300:
            return _provider_id(response) or message.idempotency_key
        detail = f"webhook answered {status}: {response.text[:200]}"
        if status >= 500 or status in _RETRYABLE_4XX:
            raise TransientDeliveryError(
                detail, code="webhook_http_5xx" if status >= 500 else "webhook_http_retry"
            )
        if 400 <= status < 500:
            raise PermanentDeliveryError(detail, code="webhook_http_4xx")
        raise PermanentDeliveryError(detail, code="webhook_http_unexpected")

    def close(self) -> None:
        self._client.close()


def _provider_id(response: httpx.Response) -> str | None:
    try:
        document = response.json()
    except ValueError:
        document = None
    if isinstance(document, dict) and document.get("id") is not None:
        return str(document["id"])[:255]
    request_id = response.headers.get("X-Request-Id")
    return request_id[:255] if request_id else None
