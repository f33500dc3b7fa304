"""Opt-out suffixes and replies, billed SMS parts, phones and the generic inbound parser."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from guanxi.errors import ValidationFailedError
from guanxi.marketing.sms_rules import (
    InboundSms,
    PhoneParts,
    is_opt_out_reply,
    mask_phone,
    parse_generic_inbound,
    sms_segments,
    split_e164,
    with_opt_out,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2024, 5, 1, 20, 30, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("双十一全场五折", "双十一全场五折 回T退订"),
        ("双十一全场五折。", "双十一全场五折。回T退订"),
        ("双十一全场五折  \n", "双十一全场五折 回T退订"),
        ("", "回T退订"),
        ("全场五折 回T退订", "全场五折 回T退订"),
        ("全场五折，回TD退订。", "全场五折，回TD退订。"),
        ("全场五折 回ＴＤ退订", "全场五折 回ＴＤ退订"),
        ("全场五折，拒收请回复R", "全场五折，拒收请回复R"),
        ("全场五折 退订回T", "全场五折 退订回T"),
        ("回T退订后再也收不到优惠", "回T退订后再也收不到优惠 回T退订"),
    ],
)
def test_marketing_texts_end_with_exactly_one_opt_out_phrase(text: str, expected: str) -> None:
    assert with_opt_out(text, marketing=True) == expected
    assert with_opt_out(expected, marketing=True) == expected  # idempotent


def test_transactional_texts_are_never_changed() -> None:
    assert with_opt_out("您的验证码是0427", marketing=False) == "您的验证码是0427"


def test_a_custom_suffix_is_used() -> None:
    assert with_opt_out("新品上市", marketing=True, suffix="拒收请回复R") == "新品上市 拒收请回复R"


OPT_OUTS = [
    *("T", "TD", "t", "td", " T ", "Ｔ", "ＴＤ", "ｔｄ", "T。", "TD!"),
    *("退订", "退订短信", "TD退订", "N", "n", "取消", "R", "STOP"),
]


@pytest.mark.parametrize("reply", OPT_OUTS)
def test_opt_out_replies_are_recognised(reply: str) -> None:
    assert is_opt_out_reply(reply)


@pytest.mark.parametrize("reply", ["谢谢", "T恤多少钱", "不要退订", "TDD", "好的", "", "退订了吗？在哪里退"])
def test_other_replies_are_not_opt_outs(reply: str) -> None:
    assert not is_opt_out_reply(reply)


@pytest.mark.parametrize(
    ("text", "sign_name", "parts"),
    [
        ("", "", 0),
        ("你" * 70, "", 1),
        ("你" * 71, "", 2),  # 71 > 70: parts of 67 → ceil(71/67) = 2
        ("你" * 134, "", 2),
        ("你" * 135, "", 3),
        ("你" * 64, "关系科技", 1),  # 【关系科技】 is 6 characters: 6 + 64 = 70
        ("你" * 65, "关系科技", 2),  # 71
        ("Code 0427" + "a" * 151, "", 1),  # 160 ASCII characters
        ("a" * 161, "", 2),  # ceil(161/153) = 2
        ("a" * 306, "", 2),
        ("a" * 307, "", 3),
        ("{" * 80, "", 1),  # GSM-7 escape characters count twice: 160 septets
        ("{" * 81, "", 2),
        ("a" * 69 + "€", "", 1),  # any non-ASCII character makes it UCS-2
        ("😀" * 35, "", 1),  # outside the BMP: two units each → 70
        ("😀" * 36, "", 2),
    ],
)
def test_billed_parts_follow_the_70_67_and_160_153_rules(text: str, sign_name: str, parts: int) -> None:
    assert sms_segments(text, sign_name) == parts


def test_phones_split_into_country_code_and_national_number() -> None:
    assert split_e164("+8613812345678") == PhoneParts(86, "13812345678")
    assert split_e164("+85291234567").international_digits == "85291234567"
    with pytest.raises(ValidationFailedError) as caught:
        split_e164("13812345678")
    assert caught.value.code == "phone_invalid"
    assert "13812345678" not in caught.value.message
    assert mask_phone("+8613812345678") == "+86138****5678"


def test_a_generic_form_reply_is_parsed() -> None:
    reply = parse_generic_inbound({"mobile": "13812345678", "content": "退订", "msg_id": "u-1"}, now=NOW)
    assert reply == InboundSms(phone="+8613812345678", text="退订", received_at=NOW, provider_id="u-1")


def test_a_generic_json_reply_with_its_own_time_is_parsed() -> None:
    reply = parse_generic_inbound(
        {"from": "+85291234567", "message": "TD", "received_at": "2024-05-01T12:00:00+00:00"}, now=NOW
    )
    assert reply.phone == "+85291234567"
    assert reply.text == "TD"
    assert reply.received_at == datetime(2024, 5, 1, 20, 0, tzinfo=SHANGHAI)
    assert reply.provider_id is None


def test_parse_qs_style_lists_are_read() -> None:
    reply = parse_generic_inbound({"phone": ["13812345678"], "text": ["T"]}, now=NOW)
    assert (reply.phone, reply.text) == ("+8613812345678", "T")


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"text": "T"}, "phone"),
        ({"phone": "13812345678"}, "text"),
        ({"phone": "电话", "text": "T"}, "phone"),
        ({"phone": "13812345678", "text": "T", "received_at": "2024-05-01 12:00"}, "received_at"),
    ],
)
def test_a_malformed_generic_reply_names_the_field(data: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationFailedError, match=field):
        parse_generic_inbound(data, now=NOW)
