"""The generic HTTP SMS channel against a real local provider server."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from guanxi.errors import ConfigError
from guanxi.marketing.channels import Envelope
from guanxi.marketing.channels.sms_http import SmsHttpChannel, SmsHttpSettings, json_path
from guanxi.marketing.errors import PermanentDeliveryError, TemplateError, TransientDeliveryError
from tests.marketing.channels_sms.servers import ProviderServer

AUTH = "Bearer sms-token-0123456789"  # a test secret

# A provider shaped like the common Chinese SMS gateways: JSON in, {"code": "0", "msgid": …} out.
TEMPLATE = json.dumps(
    {
        "mobile": "{{ phone_national }}",
        "to": "{{ phone }}",
        "content": "【{{ sign_name }}】{{ text }}",
        "template": "{{ template_code }}",
        "params": "{{ template_param }}",
        "params_json": "{{ template_param | tojson }}",
        "request_id": "{{ idempotency_key }}",
        "meta": {"channel": "guanxi", "tags": ["营销", "{{ template_code }}"]},
        "priority": 1,
    },
    ensure_ascii=False,
)


@pytest.fixture
def provider() -> Iterator[ProviderServer]:
    server = ProviderServer()
    server.start()
    yield server
    server.stop()


def settings_for(url: str | None, **changes: Any) -> SmsHttpSettings:
    values: dict[str, Any] = {
        "url": url,
        "body_template": TEMPLATE,
        "headers": SecretStr(json.dumps({"Authorization": AUTH})),
        "success_json_path": "code",
        "success_value": "0",
        "message_id_json_path": "msgid",
        "sign_name": "关系科技",
        "timeout_seconds": 5,
    }
    values.update(changes)
    return SmsHttpSettings(**values)


def envelope(
    text: str = "您的验证码是0427，5分钟内有效", key: str = "journey:j1:c42:0", **sms: Any
) -> Envelope:
    return Envelope(
        channel="sms",
        recipient="+8613812345678",
        subject="",
        body=text,
        idempotency_key=key,
        payload={"sms": {"template_code": "SMS_001", "template_param": {"code": "0427"}, **sms}},
    )


def send(settings: SmsHttpSettings, message: Envelope | None = None) -> str:
    channel = SmsHttpChannel.from_settings(settings)
    try:
        return channel.send(message or envelope())
    finally:
        channel.close()


def test_a_json_post_carries_the_rendered_template_the_auth_header_and_the_key(
    provider: ProviderServer,
) -> None:
    provider_id = send(settings_for(provider.url))
    [request] = provider.received
    assert request.method == "POST"
    assert request.headers["authorization"] == AUTH
    assert request.headers["idempotency-key"] == "journey:j1:c42:0"
    assert request.headers["content-type"] == "application/json; charset=utf-8"
    assert request.json() == {
        "mobile": "13812345678",
        "to": "+8613812345678",
        "content": "【关系科技】您的验证码是0427，5分钟内有效",
        "template": "SMS_001",
        "params": {"code": "0427"},
        "params_json": '{"code": "0427"}',
        "request_id": "journey:j1:c42:0",
        "meta": {"channel": "guanxi", "tags": ["营销", "SMS_001"]},
        "priority": 1,
    }
    assert provider_id == "m-1"


def test_quotes_and_newlines_in_the_text_cannot_break_the_json_body(provider: ProviderServer) -> None:
    text = '双十一"五折"\n{{ 不是模板 }}回T退订'
    send(settings_for(provider.url), envelope(text))
    assert provider.received[0].json()["content"] == "【关系科技】" + text


def test_a_form_body_sends_flat_pairs(provider: ProviderServer) -> None:
    send(settings_for(provider.url, body_format="form"))
    [request] = provider.received
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    form = request.form()
    assert form["mobile"] == "13812345678"
    assert form["content"] == "【关系科技】您的验证码是0427，5分钟内有效"
    assert form["params"] == '{"code": "0427"}'
    assert form["priority"] == "1"


def test_a_get_sends_the_pairs_in_the_query(provider: ProviderServer) -> None:
    template = '{"phone": "{{ phone_national }}", "msg": "{{ text }}"}'
    send(settings_for(provider.url, method="GET", body_format="query", body_template=template))
    [request] = provider.received
    assert (request.method, request.body) == ("GET", b"")
    assert request.query == {"phone": "13812345678", "msg": "您的验证码是0427，5分钟内有效"}
    assert request.headers["idempotency-key"] == "journey:j1:c42:0"


def test_without_a_message_id_path_the_key_is_the_provider_id(provider: ProviderServer) -> None:
    assert send(settings_for(provider.url, message_id_json_path=None)) == "journey:j1:c42:0"


def test_a_numeric_code_matches_the_text_success_value(provider: ProviderServer) -> None:
    provider.script.append((200, {"code": 0, "data": [{"sid": 98765}]}))
    assert send(settings_for(provider.url, message_id_json_path="data.0.sid")) == "98765"


def test_a_failed_success_rule_is_permanent(provider: ProviderServer) -> None:
    provider.script.append((200, {"code": "1001", "msg": "手机号码格式错误"}))
    with pytest.raises(PermanentDeliveryError) as caught:
        send(settings_for(provider.url))
    assert caught.value.code == "sms_http_rejected"
    assert "手机号码格式错误" in caught.value.message
    assert AUTH not in str(caught.value)


def test_a_success_status_without_the_checked_field_is_a_bad_response(provider: ProviderServer) -> None:
    provider.script.append((200, {"result": "ok"}))
    with pytest.raises(PermanentDeliveryError) as caught:
        send(settings_for(provider.url))
    assert caught.value.code == "sms_http_bad_response"


@pytest.mark.parametrize(
    ("status", "error", "code"),
    [
        (500, TransientDeliveryError, "sms_http_5xx"),
        (503, TransientDeliveryError, "sms_http_5xx"),
        (429, TransientDeliveryError, "sms_http_throttled"),
        (400, PermanentDeliveryError, "sms_http_rejected"),
        (401, PermanentDeliveryError, "sms_http_rejected"),
        (302, PermanentDeliveryError, "sms_http_unexpected"),
    ],
)
def test_statuses_map_to_transient_or_permanent(
    provider: ProviderServer, status: int, error: type[Exception], code: str
) -> None:
    provider.script.append((status, {"code": "9", "msg": "错误"}))
    with pytest.raises(error) as caught:
        send(settings_for(provider.url))
    assert getattr(caught.value, "code", None) == code


def test_an_explicit_success_status_list_refuses_others(provider: ProviderServer) -> None:
    provider.script.append((201, {"code": "0", "msgid": "x"}))
    with pytest.raises(PermanentDeliveryError):
        send(settings_for(provider.url, success_status="200"))
    provider.script.append((201, {"code": "0", "msgid": "x"}))
    assert send(settings_for(provider.url, success_status="200, 201")) == "x"


def test_a_held_request_times_out_as_transient(provider: ProviderServer) -> None:
    provider.gate.clear()
    with pytest.raises(TransientDeliveryError) as caught:
        send(settings_for(provider.url, timeout_seconds=0.5))
    assert caught.value.code == "sms_http_timeout"
    assert provider.arrived.is_set()


def test_an_unreachable_provider_is_transient() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(TransientDeliveryError) as caught:
        send(settings_for(f"http://127.0.0.1:{port}/sms", timeout_seconds=2))
    assert caught.value.code == "sms_http_unavailable"


def test_a_recipient_that_is_not_e164_is_permanent_and_sends_nothing(provider: ProviderServer) -> None:
    message = Envelope(channel="sms", recipient="138-1234-5678", subject="", body="你好", idempotency_key="k")
    with pytest.raises(PermanentDeliveryError) as caught:
        send(settings_for(provider.url), message)
    assert caught.value.code == "sms_http_recipient_invalid"
    assert provider.received == []


def test_an_undefined_template_variable_is_a_permanent_template_error(provider: ProviderServer) -> None:
    with pytest.raises(TemplateError) as caught:
        send(settings_for(provider.url, body_template='{"to": "{{ phone }}", "x": "{{ nickname }}"}'))
    assert caught.value.code == "template_undefined"
    assert caught.value.permanent
    assert provider.received == []


@pytest.mark.parametrize(
    ("changes", "names"),
    [
        ({"url": None}, "GUANXI_SMS_HTTP_URL"),
        ({"body_template": "[1, 2]"}, "GUANXI_SMS_HTTP_BODY_TEMPLATE"),
        ({"body_template": "{not json"}, "GUANXI_SMS_HTTP_BODY_TEMPLATE"),
        ({"body_template": '{"to": "{{ phone "}'}, "GUANXI_SMS_HTTP_BODY_TEMPLATE"),
        ({"method": "GET"}, "GUANXI_SMS_HTTP_BODY_FORMAT"),
        ({"success_value": None}, "GUANXI_SMS_HTTP_SUCCESS_VALUE"),
        ({"success_status": "ok"}, "GUANXI_SMS_HTTP_SUCCESS_STATUS"),
        ({"headers": SecretStr('{"Authorization": 42}')}, "GUANXI_SMS_HTTP_HEADERS"),
    ],
)
def test_bad_settings_are_config_errors_naming_the_variable(changes: dict[str, Any], names: str) -> None:
    given = {"url": "http://127.0.0.1:9/sms", **changes}
    with pytest.raises(ConfigError, match=names) as caught:
        SmsHttpChannel.from_settings(settings_for(**given))
    assert "42" not in str(caught.value)


def test_the_headers_never_show(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUANXI_SMS_HTTP_URL", "http://127.0.0.1:9/sms")
    monkeypatch.setenv("GUANXI_SMS_HTTP_HEADERS", json.dumps({"Authorization": AUTH}))
    settings = SmsHttpSettings()
    channel = SmsHttpChannel.from_settings(settings)
    assert settings.url == "http://127.0.0.1:9/sms"
    assert AUTH not in repr(settings)
    assert AUTH not in repr(channel)
    channel.close()


def test_json_paths_walk_keys_and_list_indexes() -> None:
    document = {"result": [{"code": 0}], "msg": "成功"}
    assert json_path(document, "result.0.code") == (True, 0)
    assert json_path(document, "msg") == (True, "成功")
    assert json_path(document, "result.1.code") == (False, None)
    assert json_path(None, "code") == (False, None)
