"""The Aliyun SMS channel against a local server that verifies every signature as Aliyun does."""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import SecretStr

from guanxi.errors import ConfigError, ValidationFailedError
from guanxi.marketing.channels import Envelope
from guanxi.marketing.channels.aliyun_sms import (
    PUSH_ANSWER,
    AliyunSmsChannel,
    AliyunSmsSettings,
    classify,
    parse_sms_report,
    parse_sms_up,
    percent_encode,
    signature,
    string_to_sign,
)
from guanxi.marketing.errors import PermanentDeliveryError, TransientDeliveryError
from guanxi.marketing.sms_rules import InboundSms, SmsReceipt
from tests.marketing.channels_sms.servers import AliyunServer, ProviderServer, documented_signature

KEY_ID = "LTAI5tTestKeyId"
SECRET = "aliyun-test-secret-0123"  # noqa: S105 - a test secret
SHANGHAI = ZoneInfo("Asia/Shanghai")

# Alibaba Cloud's published SendSms signing example (see the test's docstring for the source).
DOC_PARAMS = {
    "AccessKeyId": "testId",
    "Action": "SendSms",
    "Format": "XML",
    "OutId": "123",
    "PhoneNumbers": "15300000001",
    "RegionId": "cn-hangzhou",
    "SignName": "阿里云短信测试专用",
    "SignatureMethod": "HMAC-SHA1",
    "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
    "SignatureVersion": "1.0",
    "TemplateCode": "SMS_71390007",
    "TemplateParam": '{"customer":"test"}',
    "Timestamp": "2017-07-12T02:42:19Z",
    "Version": "2017-05-25",
}
DOC_STRING_TO_SIGN = (
    "GET&%2F&AccessKeyId%3DtestId%26Action%3DSendSms%26Format%3DXML%26OutId%3D123"
    "%26PhoneNumbers%3D15300000001%26RegionId%3Dcn-hangzhou%26SignName%3D%25E9%2598%25BF%25E9%2587%258C"
    "%25E4%25BA%2591%25E7%259F%25AD%25E4%25BF%25A1%25E6%25B5%258B%25E8%25AF%2595%25E4%25B8%2593%25E7%2594%25A8"
    "%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D45e25e9b-0a6f-4070-8c85-2956eda1b466"
    "%26SignatureVersion%3D1.0%26TemplateCode%3DSMS_71390007"
    "%26TemplateParam%3D%257B%2522customer%2522%253A%2522test%2522%257D"
    "%26Timestamp%3D2017-07-12T02%253A42%253A19Z%26Version%3D2017-05-25"
)
DOC_SIGNATURE = "zJDF+Lrzhj/ThnlvIToysFRq6t4="


@pytest.fixture
def aliyun() -> Iterator[AliyunServer]:
    server = AliyunServer(KEY_ID, SECRET)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def provider() -> Iterator[ProviderServer]:
    server = ProviderServer()
    server.start()
    yield server
    server.stop()


def channel_for(url: str, *, secret: str = SECRET, timeout: float = 5) -> AliyunSmsChannel:
    return AliyunSmsChannel(
        KEY_ID, secret, endpoint=url, sign_name="关系科技", template_code="SMS_123456789", timeout=timeout
    )


def envelope(recipient: str = "+8613812345678", key: str = "journey:j1:c42:0", **sms: object) -> Envelope:
    return Envelope(
        channel="aliyun_sms",
        recipient=recipient,
        subject="",
        body="张三您好，您的订单已发货",
        idempotency_key=key,
        payload={"sms": {"template_param": {"name": "张三", "order": "A1001"}, **sms}},
    )


def test_signature_equals_the_published_sendsms_example() -> None:
    """Alibaba Cloud SMS, 签名机制 (signature mechanism), the SendSms example:
    https://help.aliyun.com/document_detail/101343.html (first published as
    https://help.aliyun.com/document_detail/56189.html; algorithm also at
    https://www.alibabacloud.com/help/zh/sms/signature-method).
    AccessKeyId ``testId``, AccessKeySecret ``testSecret``, GET, the parameters of
    DOC_PARAMS → StringToSign DOC_STRING_TO_SIGN and Signature ``zJDF+Lrzhj/ThnlvIToysFRq6t4=``.
    """
    assert string_to_sign("GET", DOC_PARAMS) == DOC_STRING_TO_SIGN
    assert signature("testSecret", "GET", DOC_PARAMS) == DOC_SIGNATURE
    assert signature("testSecret", "GET", {**DOC_PARAMS, "Signature": "ignored"}) == DOC_SIGNATURE
    # the test server's independent verifier agrees with the same example
    assert documented_signature("testSecret", "GET", DOC_PARAMS) == DOC_SIGNATURE


def test_percent_encoding_follows_the_pop_rules() -> None:
    assert percent_encode("a b*c~d-e_f.g/h+i=j&k") == "a%20b%2Ac~d-e_f.g%2Fh%2Bi%3Dj%26k"
    assert percent_encode("退订") == "%E9%80%80%E8%AE%A2"


def test_a_mainland_message_goes_as_the_national_number_and_returns_the_biz_id(
    aliyun: AliyunServer,
) -> None:
    channel = channel_for(aliyun.url)
    provider_id = channel.send(envelope())
    channel.close()

    [call] = aliyun.calls
    assert (call.code, call.status) == ("OK", 200)
    assert provider_id == "900619746936498401^0"
    params = call.params
    assert params["PhoneNumbers"] == "13812345678"
    assert params["SignName"] == "关系科技"
    assert params["TemplateCode"] == "SMS_123456789"
    assert params["TemplateParam"] == '{"name":"张三","order":"A1001"}'
    assert params["OutId"] == "journey:j1:c42:0"
    assert (params["Format"], params["RegionId"], params["AccessKeyId"]) == ("JSON", "cn-hangzhou", KEY_ID)
    assert aliyun.received[0].method == "POST"
    assert aliyun.received[0].headers["content-type"].startswith("application/x-www-form-urlencoded")


def test_an_international_number_goes_with_its_country_code_and_no_plus(aliyun: AliyunServer) -> None:
    channel = channel_for(aliyun.url)
    channel.send(envelope("+85291234567"))
    channel.close()
    assert aliyun.accepted()[0]["PhoneNumbers"] == "85291234567"


def test_the_payload_overrides_the_default_sign_name_and_template(aliyun: AliyunServer) -> None:
    channel = channel_for(aliyun.url)
    channel.send(
        envelope(sign_name="关系会员", template_code="SMS_987654321", template_param={"code": "0427"})
    )
    channel.close()
    params = aliyun.accepted()[0]
    assert (params["SignName"], params["TemplateCode"], params["TemplateParam"]) == (
        "关系会员",
        "SMS_987654321",
        '{"code":"0427"}',
    )


def test_a_key_longer_than_aliyuns_limit_becomes_a_hashed_out_id(aliyun: AliyunServer) -> None:
    key = "journey:" + "长" * 300
    channel = channel_for(aliyun.url)
    channel.send(envelope(key=key))
    channel.close()
    out_id = aliyun.accepted()[0]["OutId"]
    assert out_id == "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    assert len(out_id) == 7 + 64


def test_every_attempt_is_signed_with_a_fresh_nonce(aliyun: AliyunServer) -> None:
    channel = channel_for(aliyun.url)
    first = channel.send(envelope())
    second = channel.send(envelope())
    channel.close()
    assert [call.code for call in aliyun.calls] == ["OK", "OK"]
    assert (first, second) == ("900619746936498401^0", "900619746936498402^0")
    assert len(aliyun.nonces) == 2


def test_request_parameters_use_the_utc_timestamp_and_sign_everything() -> None:
    channel = AliyunSmsChannel(
        KEY_ID,
        SECRET,
        sign_name="关系科技",
        template_code="SMS_1",
        clock=lambda: datetime(2024, 5, 1, 12, 0, 0, tzinfo=SHANGHAI),
        nonce=lambda: "nonce-1",
    )
    params = channel.request_params(envelope())
    channel.close()
    assert params["Timestamp"] == "2024-05-01T04:00:00Z"
    assert params["SignatureNonce"] == "nonce-1"
    assert params["Signature"] == documented_signature(SECRET, "POST", params)


@pytest.mark.parametrize(
    ("aliyun_code", "status", "error", "code"),
    [
        ("isv.MOBILE_NUMBER_ILLEGAL", 200, PermanentDeliveryError, "aliyun_sms_rejected"),
        ("isv.SMS_TEMPLATE_ILLEGAL", 200, PermanentDeliveryError, "aliyun_sms_rejected"),
        ("isv.SMS_SIGNATURE_ILLEGAL", 200, PermanentDeliveryError, "aliyun_sms_rejected"),
        ("isv.BLACK_KEY_CONTROL_LIMIT", 200, PermanentDeliveryError, "aliyun_sms_rejected"),
        ("isv.TEMPLATE_MISSING_PARAMETERS", 200, PermanentDeliveryError, "aliyun_sms_rejected"),
        ("isv.BUSINESS_LIMIT_CONTROL", 200, TransientDeliveryError, "aliyun_sms_throttled"),
        ("Throttling.User", 400, TransientDeliveryError, "aliyun_sms_throttled"),
        ("isp.SYSTEM_ERROR", 200, TransientDeliveryError, "aliyun_sms_provider_error"),
        ("ServiceUnavailable", 503, TransientDeliveryError, "aliyun_sms_provider_error"),
        ("isv.AMOUNT_NOT_ENOUGH", 200, TransientDeliveryError, "aliyun_sms_account"),
        ("isv.OUT_OF_SERVICE", 200, TransientDeliveryError, "aliyun_sms_account"),
        ("isv.DAY_LIMIT_CONTROL", 200, TransientDeliveryError, "aliyun_sms_account"),
        ("InvalidAccessKeyId.Inactive", 400, TransientDeliveryError, "aliyun_sms_account"),
    ],
)
def test_aliyun_codes_map_to_permanent_or_transient(
    aliyun: AliyunServer, aliyun_code: str, status: int, error: type[Exception], code: str
) -> None:
    aliyun.script.append((aliyun_code, status))
    channel = channel_for(aliyun.url)
    with pytest.raises(error) as caught:
        channel.send(envelope())
    channel.close()
    assert getattr(caught.value, "code", None) == code
    assert aliyun_code in str(caught.value)


def test_unknown_isv_codes_are_permanent_and_unknown_isp_codes_transient() -> None:
    assert classify("isv.SOMETHING_NEW") == (True, "aliyun_sms_rejected")
    assert classify("isp.SOMETHING_NEW") == (False, "aliyun_sms_provider_error")


def test_a_wrong_secret_is_refused_by_the_server_and_never_shown(aliyun: AliyunServer) -> None:
    channel = channel_for(aliyun.url, secret="not-the-secret")
    with pytest.raises(TransientDeliveryError) as caught:
        channel.send(envelope())
    channel.close()
    assert aliyun.calls[0].code == "SignatureDoesNotMatch"
    assert caught.value.code == "aliyun_sms_account"
    assert "not-the-secret" not in str(caught.value)
    assert "not-the-secret" not in repr(channel)


def test_a_recipient_that_is_not_e164_is_permanent_and_sends_nothing(aliyun: AliyunServer) -> None:
    channel = channel_for(aliyun.url)
    with pytest.raises(PermanentDeliveryError) as caught:
        channel.send(envelope("13812345678"))
    channel.close()
    assert caught.value.code == "aliyun_sms_recipient_invalid"
    assert "13812345678" not in str(caught.value)  # masked
    assert aliyun.received == []


def test_a_message_without_sign_name_or_template_is_permanent(aliyun: AliyunServer) -> None:
    channel = AliyunSmsChannel(KEY_ID, SECRET, endpoint=aliyun.url)
    with pytest.raises(PermanentDeliveryError) as caught:
        channel.send(envelope())
    channel.close()
    assert caught.value.code == "aliyun_sms_template_missing"
    assert aliyun.received == []


def test_a_held_request_times_out_as_transient(aliyun: AliyunServer) -> None:
    aliyun.gate.clear()
    channel = channel_for(aliyun.url, timeout=0.5)
    with pytest.raises(TransientDeliveryError) as caught:
        channel.send(envelope())
    channel.close()
    assert caught.value.code == "aliyun_sms_timeout"
    assert aliyun.arrived.is_set()


def test_an_unreachable_endpoint_is_transient() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    channel = channel_for(f"http://127.0.0.1:{port}", timeout=2)
    with pytest.raises(TransientDeliveryError) as caught:
        channel.send(envelope())
    assert caught.value.code == "aliyun_sms_unavailable"


@pytest.mark.parametrize(
    ("status", "body", "error", "code"),
    [
        (500, {"error": "boom"}, TransientDeliveryError, "aliyun_sms_provider_error"),
        (200, {"result": "queued"}, TransientDeliveryError, "aliyun_sms_bad_response"),
        (200, {"Code": "OK", "RequestId": "r"}, TransientDeliveryError, "aliyun_sms_bad_response"),
        (403, {"error": "forbidden"}, PermanentDeliveryError, "aliyun_sms_rejected"),
    ],
)
def test_answers_that_are_not_aliyuns_are_classified_by_status(
    provider: ProviderServer, status: int, body: object, error: type[Exception], code: str
) -> None:
    provider.script.append((status, body))
    channel = channel_for(provider.base_url)
    with pytest.raises(error) as caught:
        channel.send(envelope())
    channel.close()
    assert getattr(caught.value, "code", None) == code


def test_settings_come_from_the_environment_and_keep_the_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUANXI_ALIYUN_SMS_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("GUANXI_ALIYUN_SMS_ACCESS_KEY_SECRET", SECRET)
    monkeypatch.setenv("GUANXI_ALIYUN_SMS_SIGN_NAME", "关系科技")
    settings = AliyunSmsSettings()
    assert (settings.access_key_id, settings.sign_name, settings.region) == (
        KEY_ID,
        "关系科技",
        "cn-hangzhou",
    )
    assert settings.endpoint == "https://dysmsapi.aliyuncs.com"
    channel = AliyunSmsChannel.from_settings(settings)
    assert SECRET not in repr(settings)
    assert SECRET not in repr(channel)
    channel.close()


def test_the_channel_needs_the_access_key_pair() -> None:
    with pytest.raises(ConfigError, match="GUANXI_ALIYUN_SMS_ACCESS_KEY_ID"):
        AliyunSmsChannel.from_settings(
            AliyunSmsSettings(access_key_id=None, access_key_secret=SecretStr("s"))
        )
    with pytest.raises(ConfigError, match="GUANXI_ALIYUN_SMS_ACCESS_KEY_SECRET"):
        AliyunSmsChannel.from_settings(AliyunSmsSettings(access_key_id=KEY_ID, access_key_secret=None))


REPORT = """[
  {"phone_number": "13812345678", "send_time": "2024-05-01 12:00:00", "report_time": "2024-05-01 12:00:05",
   "success": true, "err_code": "DELIVERED", "err_msg": "用户接收成功", "sms_size": "1",
   "biz_id": "900619746936498401^0", "out_id": "journey:j1:c42:0"},
  {"phone_number": "85291234567", "send_time": "2024-05-01 12:00:00", "report_time": "2024-05-01 12:01:00",
   "success": false, "err_code": "MOBILE_NOT_ON_SERVICE", "err_msg": "停机或空号", "sms_size": "2",
   "biz_id": "900619746936498402^0", "out_id": ""}
]"""


def test_delivery_receipts_are_parsed_with_beijing_times() -> None:
    assert parse_sms_report(REPORT.encode()) == [
        SmsReceipt(
            phone="+8613812345678",
            provider_message_id="900619746936498401^0",
            out_id="journey:j1:c42:0",
            delivered=True,
            error_code=None,
            reported_at=datetime(2024, 5, 1, 12, 0, 5, tzinfo=SHANGHAI),
        ),
        SmsReceipt(
            phone="+85291234567",
            provider_message_id="900619746936498402^0",
            out_id=None,
            delivered=False,
            error_code="MOBILE_NOT_ON_SERVICE",
            reported_at=datetime(2024, 5, 1, 12, 1, 0, tzinfo=SHANGHAI),
            error_message="停机或空号",
        ),
    ]


def test_a_malformed_report_names_every_bad_item_and_field() -> None:
    body = [
        {"phone_number": "13812345678", "report_time": "2024-05-01 12:00:05", "success": True},
        "not an object",
        {"phone_number": "电话", "biz_id": "b", "report_time": "2024/05/01", "success": "yes"},
    ]
    with pytest.raises(ValidationFailedError) as caught:
        parse_sms_report(body)
    message = caught.value.message
    assert "item 0: biz_id" in message
    assert "item 1: must be an object" in message
    assert "item 2: phone_number" in message
    assert "item 2: report_time" in message
    assert "item 2: success" in message
    with pytest.raises(ValidationFailedError, match="not JSON"):
        parse_sms_report(b"{oops")
    with pytest.raises(ValidationFailedError, match="JSON array"):
        parse_sms_report('{"phone_number": "13812345678"}')


def test_replies_are_parsed_into_inbound_messages() -> None:
    body = (
        '[{"phone_number": "13812345678", "send_time": "2024-05-01 20:30:00", "content": "退订",'
        ' "sign_name": "关系科技", "dest_code": "1234", "sequence_id": 1234567890}]'
    )
    assert parse_sms_up(body) == [
        InboundSms(
            phone="+8613812345678",
            text="退订",
            received_at=datetime(2024, 5, 1, 20, 30, tzinfo=SHANGHAI),
            provider_id="1234567890",
        )
    ]
    with pytest.raises(ValidationFailedError, match="item 0: content"):
        parse_sms_up([{"phone_number": "13812345678", "send_time": "2024-05-01 20:30:00"}])


def test_the_push_answer_is_what_aliyun_expects() -> None:
    assert PUSH_ANSWER == {"code": 0, "msg": "接收成功"}
