"""Normalisation rules, checked value by value and against the libraries they stand in for."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import duckdb
import phonenumbers
import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from guanxi.ingest import normalize
from guanxi.ingest.contacts import normalize_email, normalize_phone

CON = duckdb.connect()


def apply(rule: Callable[[str], str], value: str | None) -> object:
    """Evaluate ``rule`` on one value in DuckDB (the value is a bound parameter)."""
    return CON.execute(f"SELECT {rule('v')} FROM (SELECT CAST($v AS VARCHAR) AS v)", {"v": value}).fetchone()[
        0
    ]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  王小明  ", "王小明"),
        ("ＡＢＣ　Ｌｔｄ．", "ABC Ltd."),
        ("a \t b", "a b"),
        ("   ", None),
        (None, None),
    ],
)
def test_text_trims_folds_full_width_and_collapses_spaces(raw, expected):
    assert apply(normalize.text, raw) == expected


def test_person_name_joins_spaced_chinese_characters_only():
    assert apply(normalize.person_name, "李　四") == "李四"
    assert apply(normalize.person_name, "欧 阳 娜 娜") == "欧阳娜娜"
    assert apply(normalize.person_name, "Amy  Lin") == "Amy Lin"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('="3001000000000001"', "3001000000000001"),
        ("'0012", "0012"),
        ("\t12345", "12345"),
        ("98765.0", "98765"),
    ],
)
def test_identifier_drops_spreadsheet_guards(raw, expected):
    assert apply(normalize.identifier, raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-11-11 00:01:02", dt.datetime(2024, 11, 11, 0, 1, 2)),
        ("2024/6/18 20:15", dt.datetime(2024, 6, 18, 20, 15)),
        ("2024年11月11日 08:00", dt.datetime(2024, 11, 11, 8, 0)),
        ("2024-03-01", dt.datetime(2024, 3, 1)),
        ("20240301", dt.datetime(2024, 3, 1)),
        ("２０２４－０３－０１", dt.datetime(2024, 3, 1)),
        ("2024-03-01T10:11:12Z", dt.datetime(2024, 3, 1, 18, 11, 12)),
        ("2024-03-01 10:11:12 +0000", dt.datetime(2024, 3, 1, 18, 11, 12)),
        ("2024-03-01 10:11:12 +0800", dt.datetime(2024, 3, 1, 10, 11, 12)),
        ("45292.5", dt.datetime(2024, 1, 1, 12, 0)),
        ("2024-13-45 99:00:00", None),
        ("yesterday", None),
        ("0001-01-01", None),
    ],
)
def test_timestamps_in_export_formats_become_shanghai_wall_clock(raw, expected):
    assert (
        apply(lambda ref: normalize.plausible_time(normalize.timestamp(ref, "Asia/Shanghai")), raw)
        == expected
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("￥1,299.00", Decimal("1299.00")),
        ("¥ 59.9", Decimal("59.90")),
        ("128元", Decimal("128.00")),
        ("CNY 10", Decimal("10.00")),
        ("-5.00", Decimal("-5.00")),
        ("abc", None),
        ("", None),
    ],
)
def test_amounts_lose_currency_signs_and_separators(raw, expected):
    assert apply(normalize.amount, raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"), [("3", 3), ("3.0", 3), ("1,200", 1200), ("2.5", None), ("x", None)]
)
def test_integers_accept_whole_numbers_only(raw, expected):
    assert apply(normalize.integer, raw) == expected


@pytest.mark.parametrize(("raw", "expected"), [("男", "M"), ("Female", "F"), ("女士", "F"), ("保密", None)])
def test_gender_words(raw, expected):
    assert apply(normalize.gender, raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13812345678", "+8613812345678"),
        ("+86 138 1234 5678", "+8613812345678"),
        ("0086-138-1234-5678", "+8613812345678"),
        ("86 13812345678", "+8613812345678"),
        ("１３８１２３４５６７８", "+8613812345678"),
        ("(138)1234-5678", "+8613812345678"),
        ("12345678901", None),
        ("0571-88886666", None),  # a landline: left to phonenumbers
    ],
)
def test_fast_mobile_path(raw, expected):
    assert apply(normalize.fast_mobile, raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("138****5678", "138****5678"),
        ("+86138****5678", "138****5678"),
        ("138***5678", None),
        ("13812345678", None),
    ],
)
def test_masked_mobiles_are_partial_identifiers(raw, expected):
    assert apply(normalize.masked_phone, raw) == expected


def test_phonenumbers_fallback_handles_landlines_and_rejects_garbage():
    assert normalize_phone("0571-88886666") == "+8657188886666"
    assert normalize_phone("010 6234 5678") == "+861062345678"
    assert normalize_phone("+1 650 253 0000") == "+16502530000"
    assert normalize_phone("12345") is None
    assert normalize_phone("call me") is None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.from_regex(r"1[0-9]{10}", fullmatch=True), st.sampled_from(["", "+86", "0086", "86", "+86 "]))
@example("11000005000", "")  # phonenumbers refuses to parse it at all (too short once "110" is read)
def test_fast_mobile_agrees_with_phonenumbers(number, prefix):
    """The SQL fast path accepts a Chinese mobile exactly when phonenumbers calls it a valid CN mobile."""
    fast = apply(normalize.fast_mobile, prefix + number)
    try:
        parsed = phonenumbers.parse(number, "CN")
    except phonenumbers.NumberParseException:
        assert fast is None
        return
    is_mobile = phonenumbers.is_valid_number(parsed) and phonenumbers.number_type(parsed) in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )
    assert (fast is not None) == is_mobile
    if fast is not None:
        assert fast == phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


EMAILISH = st.from_regex(
    r"[A-Za-z0-9._+\-]{1,12}@[A-Za-z0-9\-]{1,10}(\.[A-Za-z0-9\-]{1,6}){1,2}", fullmatch=True
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(EMAILISH)
def test_fast_email_never_accepts_what_email_validator_rejects(address):
    fast = apply(normalize.fast_email, address)
    if fast is None:
        return
    try:
        result = validate_email(address, check_deliverability=False)
    except EmailNotValidError as err:  # pragma: no cover - the property under test
        pytest.fail(f"fast path accepted {address!r} but email-validator says {err}")
    assert fast == result.normalized.lower()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Xiaoming.Wang@QQ.com", "xiaoming.wang@qq.com"),
        (" amy@example.com ", "amy@example.com"),
        ("not-an-email", None),
        ("a..b@qq.com", None),
        ("someone@localhost", None),
    ],
)
def test_email_validation(raw, expected):
    fast = apply(normalize.fast_email, raw)
    assert (fast or normalize_email(raw)) == expected
