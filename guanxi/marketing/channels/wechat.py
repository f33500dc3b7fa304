"""Template messages and subscription notices of a WeChat Official Account (公众号), over httpx.

The recipient is the user's ``openid`` for the configured ``appid``. What to send
is in ``message.payload["wechat"]`` (the rendered subject and body are not used:
WeChat shows only template fields)::

    {"kind": "template" | "subscribe",
     "template_id": "…",
     "data": {"thing1": "王芳", "amount2": "¥39.80"},       # key → value string
     "url": "https://…",                                       # template only, optional
     "miniprogram": {"appid": "…", "pagepath": "index?x=1"},   # optional
     "page": "…"}                                              # subscribe only, optional

``data`` is sent in WeChat's ``{"thing1": {"value": "王芳"}, …}`` shape.
``template`` posts to ``/cgi-bin/message/template/send``; ``subscribe`` posts to
``/cgi-bin/message/subscribe/bizsend`` — the Official Account's subscription
notice (订阅通知) endpoint. ``/cgi-bin/message/subscribe/send`` is the Mini Program
API and rejects an Official Account's openids, so it is not used.

Idempotency: WeChat has no idempotency header. Template sends carry
``client_msg_id`` — the first 32 hex digits of SHA-256 of the message's
idempotency key (a fixed length, safe characters, and no customer data in
WeChat's logs); WeChat sends one message per openid + ``client_msg_id`` and only
guarantees that for about 10 minutes. ``bizsend`` has no such field, so a
subscription notice resent after a crash may arrive twice.

access_token: fetched with ``POST /cgi-bin/stable_token`` (``getStableAccessToken``)
in its normal mode, never ``force_refresh``. WeChat recommends it over
``GET /cgi-bin/token``: in normal mode a call while the token is valid returns the
same token instead of invalidating the one other workers hold, so several
processes sharing one appid do not log each other out; and the secret travels in
the POST body, not in a URL that proxies log. The token is cached per channel
(thread-safe; one fetch at a time) until ``refresh_margin`` seconds before its
``expires_in`` runs out, measured on an injected monotonic ``clock``. When a send
answers 40001, 40014 or 42001 (token invalid/expired), the token is dropped,
fetched again and the send retried once; a second rejection is transient.

Outcome of a send (errcode of WeChat's JSON answer):

    0                       sent; the provider id is ``msgid`` (template), else the idempotency key
    40001 40014 42001       token refreshed, send retried once; again → transient wechat_token_rejected
    40003 (bad openid), 43004 (not following), 40037 (bad template_id),
    43101 (refused/no subscription left), 47003 (template data invalid),
    47001 (body malformed)  PermanentDeliveryError, code ``wechat_<errcode>``
    -1 (busy), 45009 (daily quota), 45047 (send-count limit), any other errcode
                            TransientDeliveryError, code ``wechat_<errcode>`` (the outbox's
                            attempt limit bounds retries of an unknown code)
    HTTP non-2xx            transient ``wechat_http_<status>``; a non-JSON answer: ``wechat_bad_response``
    timeout / unreachable   transient ``wechat_timeout`` / ``wechat_unavailable``
    token fetch refused     transient ``wechat_token_<errcode>`` (40013 appid, 40125 secret,
                            40164 IP not whitelisted: configuration, not the message)
    payload / openid wrong  permanent ``wechat_payload_invalid`` / ``wechat_openid_invalid``,
                            raised before any request

The secret and the access_token never appear in a repr, a log line or an error
message: the token is redacted from any text taken from a request or answer.

Settings: :class:`WechatSettings`, read from ``GUANXI_WECHAT_*`` (and the ``.env`` file).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

import httpx
from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from guanxi.errors import ConfigError
from guanxi.marketing.channels import ChannelSettings, Envelope
from guanxi.marketing.errors import PermanentDeliveryError, TransientDeliveryError

log = logging.getLogger("guanxi.wechat")

Clock = Callable[[], float]
"""Seconds on a monotonic scale (``time.monotonic``); only differences matter."""

TOKEN_PATH = "/cgi-bin/stable_token"  # noqa: S105 - a URL path, not a secret
SEND_PATHS = {"template": "/cgi-bin/message/template/send", "subscribe": "/cgi-bin/message/subscribe/bizsend"}
TOKEN_ERRCODES = frozenset({40001, 40014, 42001})
PERMANENT_ERRCODES = frozenset({40003, 40037, 43004, 43101, 47001, 47003})
_OPENID = re.compile(r"[A-Za-z0-9_-]{1,128}")
_TOKEN_IN_URL = re.compile(r"(access_token=)[^&\s\"']+")


class WechatSettings(ChannelSettings):
    """The ``wechat`` channel's settings: ``GUANXI_WECHAT_*``. The secret never shows in a repr or log."""

    model_config = SettingsConfigDict(env_prefix="GUANXI_WECHAT_")

    appid: str | None = Field(None, description="AppID of the Official Account.")
    secret: SecretStr | None = Field(None, description="AppSecret of the Official Account (a secret).")
    api_base: str = Field(
        "https://api.weixin.qq.com", description="WeChat API origin (a proxy, a test server)."
    )
    timeout_seconds: float = Field(10, gt=0, description="Per HTTP request.")


@dataclass(frozen=True)
class _Token:
    value: str
    refresh_at: float


class AccessTokens:
    """The Official Account's access_token, fetched on demand and cached; safe to share between threads.

    :meth:`get` returns the cached token while ``clock()`` is before its refresh
    time (``expires_in`` minus ``refresh_margin``, at most half the lifetime),
    else fetches one; only one thread fetches at a time, the others wait for it.
    Raises TransientDeliveryError when the token cannot be fetched.
    """

    def __init__(
        self,
        client: httpx.Client,
        api_base: str,
        appid: str,
        secret: str,
        *,
        clock: Clock = time.monotonic,
        refresh_margin: float = 300.0,
    ) -> None:
        self._client = client
        self._url = api_base.rstrip("/") + TOKEN_PATH
        self._appid = appid
        self._secret = secret
        self._clock = clock
        self._margin = refresh_margin
        self._lock = threading.Lock()
        self._token: _Token | None = None

    def __repr__(self) -> str:  # never shows the secret or the token
        return f"AccessTokens(appid={self._appid!r})"

    def get(self) -> str:
        """A token valid for a while yet (fetched now when the cached one is due for refresh)."""
        with self._lock:
            if self._token is None or self._clock() >= self._token.refresh_at:
                self._token = self._fetch()
            return self._token.value

    def invalidate(self, token: str) -> None:
        """Forget ``token`` (WeChat rejected it), unless another thread already replaced it."""
        with self._lock:
            if self._token is not None and self._token.value == token:
                self._token = None

    def _fetch(self) -> _Token:
        body = {"grant_type": "client_credential", "appid": self._appid, "secret": self._secret}
        answer = _post_json(self._client, self._url, body, secrets=(self._secret,))
        token, expires_in = answer.get("access_token"), answer.get("expires_in")
        if not isinstance(token, str) or not token or not isinstance(expires_in, int) or expires_in <= 0:
            errcode = answer.get("errcode")
            detail = _redact(str(answer.get("errmsg", "")), (self._secret,))[:200]
            raise TransientDeliveryError(
                f"WeChat refused the access_token request (errcode {errcode}: {detail}); "
                "check GUANXI_WECHAT_APPID/SECRET and the server IP whitelist",
                code=f"wechat_token_{errcode}" if isinstance(errcode, int) else "wechat_bad_response",
            )
        log.info("fetched a WeChat access_token for %s, valid %d s", self._appid, expires_in)
        return _Token(token, self._clock() + expires_in - min(self._margin, expires_in / 2))


def client_msg_id(idempotency_key: str) -> str:
    """The ``client_msg_id`` of a template send: the same key, the same id (32 hex digits)."""
    return hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:32]


def request_body(message: Envelope) -> tuple[str, dict[str, Any]]:
    """The API path and JSON body for ``message``; raises PermanentDeliveryError when the payload is unusable."""
    if not _OPENID.fullmatch(message.recipient):
        raise PermanentDeliveryError(
            f"{message.recipient!r} is not a WeChat openid", code="wechat_openid_invalid"
        )
    spec = message.payload.get("wechat")
    if not isinstance(spec, Mapping):
        _invalid('message payload has no "wechat" object')
    kind = spec.get("kind")
    if kind not in SEND_PATHS:
        _invalid(f'"kind" must be "template" or "subscribe", not {kind!r}')
    template_id = spec.get("template_id")
    if not isinstance(template_id, str) or not template_id:
        _invalid('"template_id" must be a non-empty string')
    data = spec.get("data")
    if not isinstance(data, Mapping) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in data.items()
    ):
        _invalid('"data" must map field names to value strings')
    body: dict[str, Any] = {
        "touser": message.recipient,
        "template_id": template_id,
        "data": {key: {"value": value} for key, value in data.items()},
    }
    miniprogram = spec.get("miniprogram")
    if miniprogram is not None:
        if not isinstance(miniprogram, Mapping) or not isinstance(miniprogram.get("appid"), str):
            _invalid('"miniprogram" must be {"appid": …, "pagepath": …}')
        body["miniprogram"] = {
            "appid": miniprogram["appid"],
            "pagepath": str(miniprogram.get("pagepath", "")),
        }
    optional = ("url",) if kind == "template" else ("page",)
    for name in optional:
        value = spec.get(name)
        if value is not None:
            if not isinstance(value, str):
                _invalid(f'"{name}" must be a string')
            body[name] = value
    if kind == "template":
        body["client_msg_id"] = client_msg_id(message.idempotency_key)
    return SEND_PATHS[kind], body


class WechatChannel:
    """Sends template messages and subscription notices of one Official Account; thread-safe."""

    def __init__(
        self,
        appid: str,
        secret: str,
        *,
        api_base: str = "https://api.weixin.qq.com",
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        self.appid = appid
        self.api_base = api_base.rstrip("/")
        self._secret = secret
        self._client = httpx.Client(timeout=timeout, transport=transport)
        self.tokens = AccessTokens(self._client, self.api_base, appid, secret, clock=clock)

    @classmethod
    def from_settings(cls, settings: WechatSettings) -> WechatChannel:
        """The channel for ``settings``; raises ConfigError when the appid or the secret is not set."""
        if not settings.appid:
            raise ConfigError("GUANXI_WECHAT_APPID must be set to send on the wechat channel")
        if settings.secret is None or not settings.secret.get_secret_value():
            raise ConfigError("GUANXI_WECHAT_SECRET must be set to send on the wechat channel")
        return cls(
            settings.appid,
            settings.secret.get_secret_value(),
            api_base=settings.api_base,
            timeout=settings.timeout_seconds,
        )

    def __repr__(self) -> str:  # never shows the secret or the token
        return f"WechatChannel(appid={self.appid!r}, api_base={self.api_base!r})"

    def send(self, message: Envelope) -> str:
        path, body = request_body(message)
        token = self.tokens.get()
        answer = self._post(path, body, token)
        if answer.get("errcode") in TOKEN_ERRCODES:
            self.tokens.invalidate(token)
            token = self.tokens.get()
            answer = self._post(path, body, token)
            if answer.get("errcode") in TOKEN_ERRCODES:
                raise TransientDeliveryError(
                    f"WeChat rejected a freshly fetched access_token (errcode {answer['errcode']})",
                    code="wechat_token_rejected",
                )
        return self._outcome(answer, message)

    def close(self) -> None:
        self._client.close()

    def _post(self, path: str, body: dict[str, Any], token: str) -> dict[str, Any]:
        url = f"{self.api_base}{path}?access_token={token}"
        return _post_json(self._client, url, body, secrets=(token, self._secret))

    def _outcome(self, answer: dict[str, Any], message: Envelope) -> str:
        errcode = answer.get("errcode", 0)
        if errcode == 0:
            msgid = answer.get("msgid")
            return str(msgid) if msgid is not None else message.idempotency_key
        detail = f"WeChat answered errcode {errcode}: {str(answer.get('errmsg', ''))[:200]}"
        if errcode in PERMANENT_ERRCODES:
            raise PermanentDeliveryError(detail, code=f"wechat_{errcode}")
        if isinstance(errcode, int):
            raise TransientDeliveryError(detail, code=f"wechat_{errcode}")
        raise TransientDeliveryError(detail, code="wechat_bad_response")


def _post_json(
    client: httpx.Client, url: str, body: Mapping[str, Any], *, secrets: tuple[str, ...]
) -> dict[str, Any]:
    """POST ``body`` as UTF-8 JSON and return the JSON object answered; every failure is transient.

    Error messages pass through :func:`_redact`; httpx's own exception (chained as
    the cause) is replaced by its redacted text, since it can carry the URL.
    """
    content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    headers = {"Content-Type": "application/json; charset=utf-8"}
    try:
        response = client.post(url, content=content, headers=headers)
    except httpx.TimeoutException as err:
        reason = _redact(str(err) or type(err).__name__, secrets)
        raise TransientDeliveryError(f"WeChat timed out: {reason}", code="wechat_timeout") from None
    except httpx.HTTPError as err:
        reason = _redact(str(err) or type(err).__name__, secrets)
        raise TransientDeliveryError(f"WeChat unreachable: {reason}", code="wechat_unavailable") from None
    if not 200 <= response.status_code < 300:
        raise TransientDeliveryError(
            f"WeChat answered HTTP {response.status_code}", code=f"wechat_http_{response.status_code}"
        )
    try:
        document = response.json()
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise TransientDeliveryError(
            "WeChat answered something other than a JSON object", code="wechat_bad_response"
        )
    return document


def _redact(text: str, secrets: tuple[str, ...]) -> str:
    text = _TOKEN_IN_URL.sub(r"\1***", text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def _invalid(problem: str) -> NoReturn:
    raise PermanentDeliveryError(f"wechat payload: {problem}", code="wechat_payload_invalid")
