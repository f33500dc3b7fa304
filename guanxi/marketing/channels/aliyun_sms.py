"""SMS through Alibaba Cloud (Aliyun) ``SendSms`` (dysmsapi, API version 2017-05-25), plus its push parsers.

Request: one ``POST /`` to ``GUANXI_ALIYUN_SMS_ENDPOINT`` with a form body,
signed with the RPC signature (``SignatureMethod=HMAC-SHA1``,
``SignatureVersion=1.0``: HMAC-SHA1 with ``<secret>&`` over
``POST&%2F&<percent-encoded canonical query>``, base64) — :func:`signature`
computes it, pinned to the example in Aliyun's documentation by a test. Each
attempt carries a fresh ``SignatureNonce`` and a UTC ``Timestamp``. Hand-written
on httpx (one pooled client per channel, like the webhook channel): the
official SDK pulls in aiohttp, requests, APScheduler, cryptography and a dozen
more packages for one form POST.

Envelope → parameters: the recipient is E.164; a mainland number (``+86…``)
is sent as its 11-digit national number, any other as country code and number
without ``+`` (what Aliyun's ``PhoneNumbers`` accepts). ``payload["sms"]`` may
set ``sign_name``, ``template_code`` and ``template_param`` (a dict of rendered
strings, sent as compact JSON) over the settings' defaults. ``OutId`` is the
idempotency key (``sha256:<hex>`` when longer than Aliyun's 255 characters), so
delivery receipts name the outbox message. Aliyun does *not* deduplicate on
``OutId``: a retry after a read timeout may send twice (Aliyun's own advice is
to wait for the receipt); receipts make such a duplicate visible.

Outcome: ``Code == "OK"`` → the ``BizId`` is the provider message id. Otherwise
by Aliyun's ``Code`` (by HTTP status when the body has none); each error's
message names the code and the ``RequestId``:

* transient ``aliyun_sms_timeout``, ``aliyun_sms_unavailable``: a timeout; a
  connection refused or reset.
* transient ``aliyun_sms_throttled``: flow control — ``isv.BUSINESS_LIMIT_CONTROL``,
  ``Throttling*``.
* transient ``aliyun_sms_provider_error``: Aliyun's side — ``isp.*``
  (``isp.SYSTEM_ERROR``), ``ServiceUnavailable``, ``InternalError``,
  ``SignatureNonceUsed``; HTTP 5xx or 429 without a code.
* transient ``aliyun_sms_account``: account and credentials, which an operator
  fixes while the message waits (as with a failed SMTP login) —
  ``InvalidAccessKeyId*``, ``SignatureDoesNotMatch``, ``InvalidTimeStamp*``,
  ``isp.RAM_PERMISSION_DENY``, ``isv.OUT_OF_SERVICE``, ``isv.AMOUNT_NOT_ENOUGH``,
  ``isv.DAY_LIMIT_CONTROL``, ``isv.MONTH_LIMIT_CONTROL``, ``isv.ACCOUNT_*``,
  ``isv.PRODUCT_UN*``.
* transient ``aliyun_sms_bad_response``: a 2xx that is not Aliyun's JSON, or
  ``OK`` without a ``BizId`` (the message may have gone out).
* permanent ``aliyun_sms_rejected``: every other ``isv.*`` — the request itself
  is wrong: ``isv.MOBILE_NUMBER_ILLEGAL``, ``isv.SMS_TEMPLATE_ILLEGAL``,
  ``isv.SMS_SIGNATURE_ILLEGAL``, ``isv.BLACK_KEY_CONTROL_LIMIT``,
  ``isv.TEMPLATE_MISSING_PARAMETERS``, ``isv.SMS_CONTENT_ILLEGAL`` … — and any
  other code, or HTTP 4xx without one.
* permanent before any request: ``aliyun_sms_recipient_invalid`` (not E.164),
  ``aliyun_sms_template_missing`` (no sign name or template code).

Pushes (HTTP batch push mode): :func:`parse_sms_report` reads delivery
receipts (``SmsReport``), :func:`parse_sms_up` replies (``SmsUp``); both take
Aliyun's Beijing wall-clock times in ``tz`` and raise ValidationFailedError
naming every bad item and field. Answer a push with :data:`PUSH_ANSWER`.

Settings: :class:`AliyunSmsSettings`, ``GUANXI_ALIYUN_SMS_*``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import httpx
from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from guanxi.errors import ConfigError, ValidationFailedError
from guanxi.marketing.channels import ChannelSettings, Envelope
from guanxi.marketing.errors import PermanentDeliveryError, TransientDeliveryError
from guanxi.marketing.sms_rules import InboundSms, SmsReceipt, split_e164

API_VERSION = "2017-05-25"
OUT_ID_MAX = 255
"""Aliyun documents ``OutId`` as a string shorter than 256 characters."""
PUSH_ANSWER: dict[str, Any] = {"code": 0, "msg": "接收成功"}
"""The JSON body a push receiver answers with HTTP 200 (Aliyun checks only that ``code`` is a number)."""
BEIJING = ZoneInfo("Asia/Shanghai")

_THROTTLED = ("isv.BUSINESS_LIMIT_CONTROL", "Throttling")
_ACCOUNT = (  # prefixes
    *("InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidTimeStamp", "IncompleteSignature"),
    *("Forbidden.RAM", "isp.RAM_PERMISSION_DENY", "isv.OUT_OF_SERVICE", "isv.AMOUNT_NOT_ENOUGH"),
    *("isv.DAY_LIMIT_CONTROL", "isv.MONTH_LIMIT_CONTROL", "isv.ACCOUNT_", "isv.PRODUCT_UN"),
)
_PROVIDER = ("isp.", "ServiceUnavailable", "InternalError", "SignatureNonceUsed", "UnknownError")


class AliyunSmsSettings(ChannelSettings):
    """The ``aliyun_sms`` channel's settings: ``GUANXI_ALIYUN_SMS_*``. The secret never shows."""

    model_config = SettingsConfigDict(env_prefix="GUANXI_ALIYUN_SMS_")

    access_key_id: str | None = Field(None, description="AccessKey ID of a RAM user allowed dysms:SendSms.")
    access_key_secret: SecretStr | None = Field(None, description="Its AccessKey secret (a secret).")
    endpoint: str = Field("https://dysmsapi.aliyuncs.com", description="SendSms endpoint.")
    region: str = Field("cn-hangzhou", description="RegionId sent with each request.")
    sign_name: str | None = Field(None, description="Default 签名 (SignName) unless the message sets one.")
    template_code: str | None = Field(None, description="Default TemplateCode unless the message sets one.")
    timeout_seconds: float = Field(10, gt=0, description="Per request.")


def percent_encode(value: str) -> str:
    """RFC 3986 encoding of UTF-8 ``value`` as Aliyun signs it: only ``A-Za-z0-9-_.~`` stay; space is ``%20``."""
    return quote(value, safe="~")


def canonical_query(params: Mapping[str, str]) -> str:
    """The canonicalised query string: every parameter but ``Signature``, sorted by name, encoded."""
    return "&".join(
        f"{percent_encode(name)}={percent_encode(params[name])}"
        for name in sorted(params)
        if name != "Signature"
    )


def string_to_sign(method: str, params: Mapping[str, str]) -> str:
    """``METHOD&%2F&`` and the percent-encoded canonical query."""
    return f"{method.upper()}&{percent_encode('/')}&{percent_encode(canonical_query(params))}"


def signature(access_key_secret: str, method: str, params: Mapping[str, str]) -> str:
    """The ``Signature`` of a request: base64 of HMAC-SHA1 keyed ``<secret>&`` over :func:`string_to_sign`."""
    digest = hmac.new(
        f"{access_key_secret}&".encode(), string_to_sign(method, params).encode(), hashlib.sha1
    ).digest()
    return base64.b64encode(digest).decode("ascii")


def aliyun_phone(e164: str) -> str:
    """``PhoneNumbers`` for an E.164 phone: 11 national digits for +86, else country code + number.

    Raises ValidationFailedError (``phone_invalid``) for anything but E.164.
    """
    parts = split_e164(e164)
    return parts.national if parts.country_code == 86 else parts.international_digits


def out_id(idempotency_key: str) -> str:
    """``OutId`` for a key: the key itself, or ``sha256:<hex>`` when longer than :data:`OUT_ID_MAX`."""
    if len(idempotency_key) <= OUT_ID_MAX:
        return idempotency_key
    return "sha256:" + hashlib.sha256(idempotency_key.encode()).hexdigest()


class AliyunSmsChannel:
    """Sends each message with one signed ``SendSms`` call over a kept-alive connection pool."""

    def __init__(
        self,
        access_key_id: str,
        access_key_secret: str,
        *,
        endpoint: str = "https://dysmsapi.aliyuncs.com",
        region: str = "cn-hangzhou",
        sign_name: str | None = None,
        template_code: str | None = None,
        timeout: float = 10.0,
        clock: Callable[[], datetime] | None = None,
        nonce: Callable[[], str] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.access_key_id = access_key_id
        self._secret = access_key_secret
        self.endpoint = endpoint.rstrip("/") + "/"
        self.region = region
        self.sign_name = sign_name
        self.template_code = template_code
        self._clock = clock or (lambda: datetime.now(UTC))
        self._nonce = nonce or (lambda: uuid.uuid4().hex)
        self._client = httpx.Client(timeout=timeout, transport=transport)

    @classmethod
    def from_settings(cls, settings: AliyunSmsSettings) -> AliyunSmsChannel:
        """The channel for ``settings``; raises ConfigError when the AccessKey pair is not set."""
        if not settings.access_key_id:
            raise ConfigError("GUANXI_ALIYUN_SMS_ACCESS_KEY_ID must be set to send on the aliyun_sms channel")
        if settings.access_key_secret is None or not settings.access_key_secret.get_secret_value():
            raise ConfigError("GUANXI_ALIYUN_SMS_ACCESS_KEY_SECRET must be set to sign Aliyun requests")
        return cls(
            settings.access_key_id,
            settings.access_key_secret.get_secret_value(),
            endpoint=settings.endpoint,
            region=settings.region,
            sign_name=settings.sign_name,
            template_code=settings.template_code,
            timeout=settings.timeout_seconds,
        )

    def __repr__(self) -> str:  # never shows the secret
        return f"AliyunSmsChannel(endpoint={self.endpoint!r}, access_key_id={self.access_key_id!r})"

    def request_params(self, message: Envelope) -> dict[str, str]:
        """Every parameter of the ``SendSms`` call for ``message``, ``Signature`` included.

        Raises PermanentDeliveryError for a recipient that is not E.164 or a
        message without a sign name or template code.
        """
        try:
            phone = aliyun_phone(message.recipient)
        except ValidationFailedError as err:
            raise PermanentDeliveryError(err.message, code="aliyun_sms_recipient_invalid") from err
        sms = message.payload.get("sms") or {}
        sign_name = sms.get("sign_name") or self.sign_name
        template_code = sms.get("template_code") or self.template_code
        if not sign_name or not template_code:
            raise PermanentDeliveryError(
                "an Aliyun SMS needs a sign name and a template code: set payload sms.sign_name/"
                "sms.template_code or GUANXI_ALIYUN_SMS_SIGN_NAME/GUANXI_ALIYUN_SMS_TEMPLATE_CODE",
                code="aliyun_sms_template_missing",
            )
        params = {
            "AccessKeyId": self.access_key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "OutId": out_id(message.idempotency_key),
            "PhoneNumbers": phone,
            "RegionId": self.region,
            "SignName": str(sign_name),
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": self._nonce(),
            "SignatureVersion": "1.0",
            "TemplateCode": str(template_code),
            "Timestamp": self._clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": API_VERSION,
        }
        template_param = sms.get("template_param")
        if template_param:
            params["TemplateParam"] = json.dumps(
                {str(k): str(v) for k, v in dict(template_param).items()},
                ensure_ascii=False,
                separators=(",", ":"),
            )
        params["Signature"] = signature(self._secret, "POST", params)
        return params

    def send(self, message: Envelope) -> str:
        params = self.request_params(message)
        body = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in params.items())
        headers = {
            "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
            "Accept": "application/json",
        }
        try:
            response = self._client.post(self.endpoint, content=body.encode("ascii"), headers=headers)
        except httpx.TimeoutException as err:
            raise TransientDeliveryError(f"Aliyun SMS timed out: {err}", code="aliyun_sms_timeout") from err
        except httpx.HTTPError as err:
            raise TransientDeliveryError(
                f"Aliyun SMS unreachable: {err}", code="aliyun_sms_unavailable"
            ) from err
        return _outcome(response)

    def close(self) -> None:
        self._client.close()


def classify(aliyun_code: str) -> tuple[bool, str]:
    """``(permanent, our error code)`` for an Aliyun error ``Code`` (see the module docstring)."""
    if aliyun_code.startswith(_THROTTLED):
        return False, "aliyun_sms_throttled"
    if aliyun_code.startswith(_ACCOUNT):
        return False, "aliyun_sms_account"
    if aliyun_code.startswith(_PROVIDER):
        return False, "aliyun_sms_provider_error"
    return True, "aliyun_sms_rejected"


def _outcome(response: httpx.Response) -> str:
    status = response.status_code
    try:
        document = response.json()
    except ValueError:
        document = None
    code = document.get("Code") if isinstance(document, dict) else None
    if not isinstance(code, str) or not code:
        detail = f"Aliyun SMS answered HTTP {status} without a result code: {response.text[:200]}"
        if status >= 500 or status == 429:
            raise TransientDeliveryError(detail, code="aliyun_sms_provider_error")
        if 200 <= status < 300:
            raise TransientDeliveryError(detail, code="aliyun_sms_bad_response")
        raise PermanentDeliveryError(detail, code="aliyun_sms_rejected")
    assert isinstance(document, dict)
    if code == "OK" and 200 <= status < 300:
        biz_id = document.get("BizId")
        if not biz_id:
            raise TransientDeliveryError(
                "Aliyun SMS answered OK without a BizId", code="aliyun_sms_bad_response"
            )
        return str(biz_id)[:255]
    permanent, our_code = classify(code)
    detail = (
        f"Aliyun SMS refused (HTTP {status}): {code}: {str(document.get('Message', ''))[:200]}"
        f" (RequestId {document.get('RequestId', '?')})"
    )
    if permanent:
        raise PermanentDeliveryError(detail, code=our_code)
    raise TransientDeliveryError(detail, code=our_code)


def parse_sms_report(body: bytes | str | list[Any], *, tz: ZoneInfo = BEIJING) -> list[SmsReceipt]:
    """Delivery receipts from an ``SmsReport`` push (a JSON array), in order.

    ``delivered`` is the item's ``success``; ``error_code`` is ``err_code`` when
    not delivered (None when delivered); ``reported_at`` is ``report_time`` read
    in ``tz`` (Aliyun writes Beijing time). Raises ValidationFailedError listing
    every malformed item by index and field. Aliyun may push a receipt twice:
    apply them idempotently (by ``provider_message_id`` and phone).
    """
    problems: list[str] = []
    receipts: list[SmsReceipt] = []
    for index, item in _items(body, "SmsReport", problems):
        phone = _phone(item, index, problems)
        biz_id = _text(item, "biz_id", index, problems)
        reported_at = _time(item, "report_time", index, problems, tz)
        success = item.get("success")
        if not isinstance(success, bool):
            problems.append(f"item {index}: success: must be true or false")
        out = item.get("out_id")
        err_code, err_msg = item.get("err_code"), item.get("err_msg")
        if phone is None or biz_id is None or reported_at is None or not isinstance(success, bool):
            continue
        receipts.append(
            SmsReceipt(
                phone=phone,
                provider_message_id=biz_id,
                out_id=str(out) if out not in (None, "") else None,
                delivered=success,
                error_code=None if success or err_code in (None, "") else str(err_code),
                reported_at=reported_at,
                error_message=None if success or err_msg in (None, "") else str(err_msg),
            )
        )
    if problems:
        raise ValidationFailedError("malformed SmsReport push: " + "; ".join(problems))
    return receipts


def parse_sms_up(body: bytes | str | list[Any], *, tz: ZoneInfo = BEIJING) -> list[InboundSms]:
    """Replies from an ``SmsUp`` push (a JSON array), in order; ``provider_id`` is the ``sequence_id``.

    ``received_at`` is ``send_time`` read in ``tz``. Raises ValidationFailedError
    listing every malformed item by index and field.
    """
    problems: list[str] = []
    replies: list[InboundSms] = []
    for index, item in _items(body, "SmsUp", problems):
        phone = _phone(item, index, problems)
        received_at = _time(item, "send_time", index, problems, tz)
        content = item.get("content")
        if not isinstance(content, str):
            problems.append(f"item {index}: content: must be a string")
        sequence = item.get("sequence_id")
        if phone is None or received_at is None or not isinstance(content, str):
            continue
        replies.append(
            InboundSms(
                phone=phone,
                text=content,
                received_at=received_at,
                provider_id=None if sequence in (None, "") else str(sequence),
            )
        )
    if problems:
        raise ValidationFailedError("malformed SmsUp push: " + "; ".join(problems))
    return replies


def _items(body: bytes | str | list[Any], kind: str, problems: list[str]) -> list[tuple[int, dict[str, Any]]]:
    document: Any = body
    if isinstance(body, bytes | str):
        try:
            document = json.loads(body)
        except ValueError as err:
            raise ValidationFailedError(f"malformed {kind} push: not JSON ({err})") from None
    if not isinstance(document, list):
        raise ValidationFailedError(f"malformed {kind} push: expected a JSON array of objects")
    items = []
    for index, item in enumerate(document):
        if isinstance(item, dict):
            items.append((index, item))
        else:
            problems.append(f"item {index}: must be an object")
    return items


def _text(item: Mapping[str, Any], name: str, index: int, problems: list[str]) -> str | None:
    value = item.get(name)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value:
        problems.append(f"item {index}: {name}: missing or not a string")
        return None
    return value


def _phone(item: Mapping[str, Any], index: int, problems: list[str]) -> str | None:
    """E.164 from Aliyun's ``phone_number``: 11 digits starting with 1 are mainland, other digits carry their country code."""
    value = _text(item, "phone_number", index, problems)
    if value is None:
        return None
    digits = value.removeprefix("+").removeprefix("00")
    if not digits.isdigit() or not 7 <= len(digits) <= 15:
        problems.append(f"item {index}: phone_number: not a phone number")
        return None
    if len(digits) == 11 and digits.startswith("1"):
        return "+86" + digits
    return "+" + digits


def _time(
    item: Mapping[str, Any], name: str, index: int, problems: list[str], tz: ZoneInfo
) -> datetime | None:
    value = _text(item, name, index, problems)
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=tz)
    except ValueError:
        problems.append(f"item {index}: {name}: expected YYYY-MM-DD HH:MM:SS")
        return None
