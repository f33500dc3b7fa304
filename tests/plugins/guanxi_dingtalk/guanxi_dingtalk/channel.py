"""A DingTalk group-robot channel: each message is a signed POST to the robot's webhook.

DingTalk's custom robot protocol: ``POST <webhook>&timestamp=<ms>&sign=<sign>``
where ``sign`` is the URL-encoded base64 of HMAC-SHA256(key=secret,
message=``"<ms>\\n<secret>"``); the JSON body is a ``markdown`` message; the
answer is ``{"errcode": 0, "errmsg": "ok"}`` on success. ``errcode`` 130101
(sending too fast) and HTTP 5xx are transient, any other non-zero code is
permanent. The recipient (a mobile number) is @-mentioned in the group.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable
from urllib.parse import quote_plus

import httpx
from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from guanxi.errors import ConfigError
from guanxi.marketing.channels import ChannelSettings, Envelope
from guanxi.marketing.errors import PermanentDeliveryError, TransientDeliveryError

TRANSIENT_CODES = {130101, -1}
"""130101: the robot sends more than 20 messages a minute; -1: the platform is busy."""


class DingTalkSettings(ChannelSettings):
    """``GUANXI_DINGTALK_WEBHOOK`` (with its access_token) and ``GUANXI_DINGTALK_SECRET`` (the 加签 secret)."""

    model_config = SettingsConfigDict(env_prefix="GUANXI_DINGTALK_")

    webhook: str | None = Field(None, description="The robot's webhook URL, access_token included.")
    secret: SecretStr | None = Field(None, description="The robot's signing secret (SEC…).")
    timeout_seconds: float = Field(10, gt=0)


def sign(secret: str, timestamp_ms: int) -> str:
    """The ``sign`` query value DingTalk expects for ``timestamp_ms``."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest))


class DingTalkChannel:
    """Posts each message to one DingTalk robot."""

    def __init__(
        self,
        webhook: str,
        secret: str,
        *,
        timeout: float = 10.0,
        clock_ms: Callable[[], int] = lambda: int(time.time() * 1000),
    ) -> None:
        self.webhook = webhook
        self._secret = secret
        self._clock_ms = clock_ms
        self._client = httpx.Client(timeout=timeout)

    @classmethod
    def from_settings(cls, settings: DingTalkSettings) -> DingTalkChannel:
        if not settings.webhook or settings.secret is None:
            raise ConfigError("the dingtalk channel needs GUANXI_DINGTALK_WEBHOOK and GUANXI_DINGTALK_SECRET")
        return cls(settings.webhook, settings.secret.get_secret_value(), timeout=settings.timeout_seconds)

    def send(self, message: Envelope) -> str:
        stamp = self._clock_ms()
        url = f"{self.webhook}&timestamp={stamp}&sign={sign(self._secret, stamp)}"
        body = {
            "msgtype": "markdown",
            "markdown": {
                "title": message.subject or "guanxi",
                "text": f"{message.body}\n\n@{message.recipient}",
            },
            "at": {"atMobiles": [message.recipient], "isAtAll": False},
        }
        try:
            response = self._client.post(url, json=body, headers={"Idempotency-Key": message.idempotency_key})
        except httpx.TransportError as err:
            raise TransientDeliveryError(f"dingtalk unreachable: {err}", code="dingtalk_unavailable") from err
        if response.status_code >= 500:
            raise TransientDeliveryError(
                f"dingtalk answered {response.status_code}", code="dingtalk_http_5xx"
            )
        try:
            answer = response.json()
            code = int(answer.get("errcode", -1))
        except (ValueError, AttributeError, TypeError) as err:
            raise PermanentDeliveryError(f"dingtalk answered {response.status_code} without JSON") from err
        if code == 0:
            return f"dingtalk:{message.idempotency_key}"
        detail = f"dingtalk errcode {code}: {answer.get('errmsg', '')}"
        if code in TRANSIENT_CODES:
            raise TransientDeliveryError(detail, code="dingtalk_rate_limited")
        raise PermanentDeliveryError(detail, code="dingtalk_refused")

    def close(self) -> None:
        self._client.close()
