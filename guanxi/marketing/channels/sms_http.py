"""SMS through any HTTP SMS provider, described by settings instead of code (httpx).

The request is built from ``GUANXI_SMS_HTTP_BODY_TEMPLATE``: a JSON object
whose string values are Jinja2 templates rendered in guanxi's sandbox
(:func:`guanxi.marketing.templates.render`) with

=====================  ===============================================================
``phone``              the recipient, E.164 (``+8613812345678``)
``phone_national``     its national number (``13812345678``)
``text``               the message body
``idempotency_key``    the message's key (also sent as the ``Idempotency-Key`` header)
``sign_name``          ``payload["sms"]["sign_name"]``, else the setting, else ``""``
``template_code``      ``payload["sms"]["template_code"]``, else the setting, else ``""``
``template_param``     ``payload["sms"]["template_param"]`` (a dict), else ``{}``
=====================  ===============================================================

A value that is exactly ``"{{ name }}"`` for a non-string variable
(``template_param``) becomes that value itself, so a JSON body can carry the
dict as an object; elsewhere ``{{ template_param | tojson }}`` gives its JSON
text. Nested objects and lists are rendered the same way. Values are rendered,
then encoded — a quote in the text can never break the body.

``body_format``: ``json`` (a JSON body), ``form`` (a form body; non-string
values JSON-encoded) or ``query`` (the same pairs in the URL; the only format
``GET`` allows). ``GUANXI_SMS_HTTP_HEADERS`` is a JSON object of extra headers
(an ``Authorization`` header, say) and a secret: it never shows in a repr, a
log line or an error.

Outcome: the status must match ``success_status`` (``2xx`` by default, or a
list such as ``200,201``); when ``success_json_path`` is set, the value at
that dotted path of the JSON answer (``code``, ``result.0.status``) must equal
``success_value`` as text (``0`` matches both ``0`` and ``"0"``). The provider
message id is the value at ``message_id_json_path``, else the idempotency key.

=========================================================  ==========  ==========================
outcome                                                    class       code
=========================================================  ==========  ==========================
timeout                                                    transient   ``sms_http_timeout``
connection refused / reset                                 transient   ``sms_http_unavailable``
HTTP 5xx                                                   transient   ``sms_http_5xx``
HTTP 429, 408, 425                                         transient   ``sms_http_throttled``
other HTTP 4xx                                             permanent   ``sms_http_rejected``
success status but the JSON rule fails                     permanent   ``sms_http_rejected``
success status, a JSON rule, and no JSON or no such path   permanent   ``sms_http_bad_response``
any other status                                           permanent   ``sms_http_unexpected``
recipient not E.164                                        permanent   ``sms_http_recipient_invalid``
=========================================================  ==========  ==========================

A template that renders with an error raises TemplateError (permanent). Bad
settings (no URL, a body template that is not a JSON object or does not
compile, headers that are not a JSON object of strings, ``GET`` with a body)
raise ConfigError when the channel is built, naming the variable, never its value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Literal

import httpx
from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from guanxi.errors import ConfigError, ValidationFailedError
from guanxi.marketing.channels import ChannelSettings, Envelope
from guanxi.marketing.errors import PermanentDeliveryError, TemplateError, TransientDeliveryError
from guanxi.marketing.sms_rules import split_e164
from guanxi.marketing.templates import compile_template, render

IDEMPOTENCY_HEADER = "Idempotency-Key"
DEFAULT_BODY_TEMPLATE = (
    '{"phone": "{{ phone }}", "text": "{{ text }}", "idempotency_key": "{{ idempotency_key }}"}'
)
_RETRYABLE_4XX = {408, 425, 429}
_WHOLE_VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


class SmsHttpSettings(ChannelSettings):
    """The ``sms`` channel's settings: ``GUANXI_SMS_HTTP_*``. The headers are a secret."""

    model_config = SettingsConfigDict(env_prefix="GUANXI_SMS_HTTP_")

    url: str | None = Field(None, description="The provider's send URL.")
    method: Literal["POST", "GET"] = Field(
        "POST", description="`POST` or `GET` (GET needs body_format query)."
    )
    body_format: Literal["json", "form", "query"] = Field("json", description="`json`, `form` or `query`.")
    body_template: str = Field(
        DEFAULT_BODY_TEMPLATE, description="JSON object whose string values are Jinja2 templates."
    )
    headers: SecretStr | None = Field(None, description="JSON object of extra headers, e.g. auth (a secret).")
    success_status: str = Field("2xx", description="`2xx`, or statuses/classes separated by commas.")
    success_json_path: str | None = Field(None, description="Dotted path in the JSON answer to check.")
    success_value: str | None = Field(None, description="What the value at success_json_path must be.")
    message_id_json_path: str | None = Field(None, description="Dotted path of the provider message id.")
    sign_name: str | None = Field(None, description="Default `sign_name` template variable.")
    template_code: str | None = Field(None, description="Default `template_code` template variable.")
    timeout_seconds: float = Field(10, gt=0, description="Per request.")


class SmsHttpChannel:
    """Sends each message as one HTTP request built from a body template, over a pooled client."""

    def __init__(
        self,
        url: str,
        *,
        method: Literal["POST", "GET"] = "POST",
        body_format: Literal["json", "form", "query"] = "json",
        body_template: str = DEFAULT_BODY_TEMPLATE,
        headers: Mapping[str, str] | None = None,
        success_status: str = "2xx",
        success_json_path: str | None = None,
        success_value: str | None = None,
        message_id_json_path: str | None = None,
        sign_name: str | None = None,
        template_code: str | None = None,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """Raises ConfigError for a body template that is not a JSON object or does not compile,
        a ``GET`` with a body, or a success rule that is half set or unreadable."""
        if method == "GET" and body_format != "query":
            raise ConfigError("GUANXI_SMS_HTTP_METHOD GET needs GUANXI_SMS_HTTP_BODY_FORMAT=query")
        if (success_json_path is None) != (success_value is None):
            raise ConfigError(
                "GUANXI_SMS_HTTP_SUCCESS_JSON_PATH and GUANXI_SMS_HTTP_SUCCESS_VALUE are set together"
            )
        self.url = url
        self.method = method
        self.body_format = body_format
        self._template = _parse_body_template(body_template)
        self._headers = dict(headers or {})
        self._success_status = _status_rule(success_status)
        self.success_json_path = success_json_path
        self.success_value = success_value
        self.message_id_json_path = message_id_json_path
        self.sign_name = sign_name or ""
        self.template_code = template_code or ""
        self._client = httpx.Client(timeout=timeout, transport=transport)

    @classmethod
    def from_settings(cls, settings: SmsHttpSettings) -> SmsHttpChannel:
        """The channel for ``settings``; raises ConfigError for a missing URL or bad settings."""
        if not settings.url:
            raise ConfigError("GUANXI_SMS_HTTP_URL must be set to send on the sms channel")
        return cls(
            settings.url,
            method=settings.method,
            body_format=settings.body_format,
            body_template=settings.body_template,
            headers=_parse_headers(settings.headers),
            success_status=settings.success_status,
            success_json_path=settings.success_json_path,
            success_value=settings.success_value,
            message_id_json_path=settings.message_id_json_path,
            sign_name=settings.sign_name,
            template_code=settings.template_code,
            timeout=settings.timeout_seconds,
        )

    def __repr__(self) -> str:  # never shows the headers
        return f"SmsHttpChannel(url={self.url!r}, method={self.method!r}, body_format={self.body_format!r})"

    def variables(self, message: Envelope) -> dict[str, Any]:
        """The template variables for ``message``; raises PermanentDeliveryError for a non-E.164 recipient."""
        try:
            parts = split_e164(message.recipient)
        except ValidationFailedError as err:
            raise PermanentDeliveryError(err.message, code="sms_http_recipient_invalid") from err
        sms = message.payload.get("sms") or {}
        return {
            "phone": message.recipient,
            "phone_national": parts.national,
            "text": message.body,
            "idempotency_key": message.idempotency_key,
            "sign_name": str(sms.get("sign_name") or self.sign_name),
            "template_code": str(sms.get("template_code") or self.template_code),
            "template_param": dict(sms.get("template_param") or {}),
        }

    def render_body(self, message: Envelope) -> dict[str, Any]:
        """The body template rendered for ``message`` (before encoding); raises TemplateError."""
        rendered = _render_value(self._template, self.variables(message))
        assert isinstance(rendered, dict)
        return rendered

    def send(self, message: Envelope) -> str:
        document = self.render_body(message)
        headers = {**self._headers, IDEMPOTENCY_HEADER: message.idempotency_key}
        request: dict[str, Any] = {}
        if self.body_format == "json":
            request["content"] = json.dumps(document, ensure_ascii=False).encode("utf-8")
            if not any(name.lower() == "content-type" for name in headers):
                headers["Content-Type"] = "application/json; charset=utf-8"
        elif self.body_format == "form":
            request["data"] = _flat(document)
        else:
            request["params"] = _flat(document)
        try:
            response = self._client.request(self.method, self.url, headers=headers, **request)
        except httpx.TimeoutException as err:
            raise TransientDeliveryError(f"SMS provider timed out: {err}", code="sms_http_timeout") from err
        except httpx.HTTPError as err:
            raise TransientDeliveryError(
                f"SMS provider unreachable: {err}", code="sms_http_unavailable"
            ) from err
        return self._outcome(response, message)

    def close(self) -> None:
        self._client.close()

    def _outcome(self, response: httpx.Response, message: Envelope) -> str:
        status = response.status_code
        detail = f"SMS provider answered {status}: {response.text[:200]}"
        if status not in self._success_status:
            if status >= 500:
                raise TransientDeliveryError(detail, code="sms_http_5xx")
            if status in _RETRYABLE_4XX:
                raise TransientDeliveryError(detail, code="sms_http_throttled")
            if 400 <= status < 500:
                raise PermanentDeliveryError(detail, code="sms_http_rejected")
            raise PermanentDeliveryError(detail, code="sms_http_unexpected")
        document: Any = None
        if self.success_json_path is not None or self.message_id_json_path is not None:
            try:
                document = response.json()
            except ValueError:
                document = None
        if self.success_json_path is not None:
            found, value = json_path(document, self.success_json_path)
            if not found:
                raise PermanentDeliveryError(
                    f"{detail} (no {self.success_json_path!r} in the answer)", code="sms_http_bad_response"
                )
            if _as_text(value) != self.success_value:
                raise PermanentDeliveryError(
                    f"{detail} ({self.success_json_path} is {_as_text(value)!r}, not {self.success_value!r})",
                    code="sms_http_rejected",
                )
        if self.message_id_json_path is not None:
            found, value = json_path(document, self.message_id_json_path)
            if found and value not in (None, ""):
                return _as_text(value)[:255]
        return message.idempotency_key


def json_path(document: Any, path: str) -> tuple[bool, Any]:
    """``(found, value)`` at a dotted ``path`` (``result.0.code``: keys, and list indexes as digits)."""
    current = document
    for step in path.split("."):
        if isinstance(current, dict) and step in current:
            current = current[step]
        elif isinstance(current, list) and step.isdigit() and int(step) < len(current):
            current = current[int(step)]
        else:
            return False, None
    return True, current


def _as_text(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _flat(document: Mapping[str, Any]) -> dict[str, str]:
    return {str(key): _as_text(value) for key, value in document.items()}


def _status_rule(rule: str) -> frozenset[int]:
    statuses: set[int] = set()
    for raw in rule.split(","):
        part = raw.strip().lower()
        if re.fullmatch(r"[1-5]xx", part):
            statuses.update(range(int(part[0]) * 100, int(part[0]) * 100 + 100))
        elif re.fullmatch(r"[1-5]\d\d", part):
            statuses.add(int(part))
        else:
            raise ConfigError(
                f"GUANXI_SMS_HTTP_SUCCESS_STATUS: {part!r} is neither a status (200) nor a class (2xx)"
            )
    return frozenset(statuses)


def _parse_body_template(source: str) -> dict[str, Any]:
    try:
        template = json.loads(source)
    except ValueError as err:
        raise ConfigError(f"GUANXI_SMS_HTTP_BODY_TEMPLATE is not JSON: {err.args[0]}") from None
    if not isinstance(template, dict):
        raise ConfigError("GUANXI_SMS_HTTP_BODY_TEMPLATE must be a JSON object")
    _compile_strings(template)
    return template


def _compile_strings(value: Any) -> None:
    if isinstance(value, str):
        try:
            compile_template(value)
        except TemplateError as err:
            raise ConfigError(f"GUANXI_SMS_HTTP_BODY_TEMPLATE: {err.message}") from err
    elif isinstance(value, dict):
        for item in value.values():
            _compile_strings(item)
    elif isinstance(value, list):
        for item in value:
            _compile_strings(item)


def _render_value(value: Any, variables: Mapping[str, Any]) -> Any:
    if isinstance(value, str):
        whole = _WHOLE_VARIABLE.fullmatch(value.strip())
        if whole and whole.group(1) in variables and not isinstance(variables[whole.group(1)], str):
            return variables[whole.group(1)]
        return render(value, variables)
    if isinstance(value, dict):
        return {key: _render_value(item, variables) for key, item in value.items()}
    if isinstance(value, list):
        return [_render_value(item, variables) for item in value]
    return value


def _parse_headers(headers: SecretStr | None) -> dict[str, str]:
    """The headers setting as a dict; the error names the variable, never the (secret) text."""
    if headers is None or not headers.get_secret_value().strip():
        return {}
    try:
        parsed = json.loads(headers.get_secret_value())
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in parsed.items()
    ):
        raise ConfigError('GUANXI_SMS_HTTP_HEADERS must be a JSON object of strings: {"Authorization": "…"}')
    return parsed
