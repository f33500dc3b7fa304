"""Pure rules of Chinese SMS marketing: opt-out suffixes and replies, billed parts, phone shapes.

No I/O and no clock of its own: every function here is deterministic.

* :func:`with_opt_out` appends the opt-out phrase (``回T退订``) to a *marketing*
  text unless the text already ends with one; transactional texts are never
  changed (carriers require the phrase on marketing SMS only).
* :func:`is_opt_out_reply` says whether an inbound reply *as a whole* asks to
  unsubscribe (``T``, ``TD``, ``退订`` …), after NFKC normalisation (``Ｔ`` → ``T``)
  and with whitespace, punctuation and symbols ignored; a sentence that merely
  contains a letter (``T恤多少钱``) is not an opt-out.
* :func:`sms_segments` counts billed parts (see its docstring for the rule).
* :class:`SmsReceipt` and :class:`InboundSms` are what provider push parsers
  return (:mod:`guanxi.marketing.channels.aliyun_sms`, :func:`parse_generic_inbound`).

Phones are E.164 (``+8613812345678``) everywhere; :func:`split_e164` and
:func:`mask_phone` are the two helpers the SMS channels share. Malformed input
raises :class:`~guanxi.errors.ValidationFailedError` naming the field; the
phone itself only ever appears masked in a message.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import phonenumbers

from guanxi.errors import ValidationFailedError

DEFAULT_OPT_OUT_SUFFIX = "回T退订"

_OPT_OUT_ENDING = re.compile(
    r"(?:回复?|reply)\s*[A-Z]{1,2}\s*退订"  # 回T退订, 回TD退订, 回复TD退订
    r"|退订\s*请?回复?\s*[A-Z]{1,2}"  # 退订回T, 退订请回复TD
    r"|拒收\s*请?回复?\s*[A-Z]{1,2}"  # 拒收请回复R
    r"|reply\s*stop(?:\s*to\s*(?:opt\s*out|unsubscribe))?",
    re.IGNORECASE,
)
_TRAILING_JUNK = " \t\r\n。.！!，,、；;）)】]"
_PUNCTUATION_END = "。.！!？?，,；;…)）】]"

OPT_OUT_REPLIES = frozenset(
    {"T", "TD", "N", "R", "T退订", "TD退订", "退订", "退订短信", "取消", "取消订阅", "STOP", "UNSUBSCRIBE"}
)
"""Whole replies (normalised: NFKC, upper case, no spaces/punctuation/symbols) that unsubscribe."""

_GSM7_EXTENDED = frozenset("^{}\\[~]|")
"""ASCII characters that take two septets in GSM-7 (escape + character)."""


@dataclass(frozen=True)
class SmsReceipt:
    """A provider's delivery report for one sent SMS; ``reported_at`` is time-zone aware."""

    phone: str
    provider_message_id: str
    out_id: str | None
    delivered: bool
    error_code: str | None
    reported_at: datetime
    error_message: str | None = None


@dataclass(frozen=True)
class InboundSms:
    """One SMS a person sent to us (a reply); ``phone`` is E.164, ``received_at`` time-zone aware."""

    phone: str
    text: str
    received_at: datetime
    provider_id: str | None = None


@dataclass(frozen=True)
class PhoneParts:
    """An E.164 phone split: ``country_code`` 86 and ``national`` ``13812345678``."""

    country_code: int
    national: str

    @property
    def international_digits(self) -> str:
        """Country code and national number without ``+`` (``8613812345678``)."""
        return f"{self.country_code}{self.national}"


def with_opt_out(text: str, marketing: bool, suffix: str = DEFAULT_OPT_OUT_SUFFIX) -> str:
    """``text`` with the opt-out ``suffix`` appended when ``marketing`` and not already there.

    Transactional texts (``marketing=False``) come back unchanged. An existing
    opt-out phrase at the end (``回T退订``, ``回TD退订``, ``退订回T``, ``拒收请回复R``,
    full-width letters and trailing punctuation allowed) keeps the text as it is.
    Otherwise trailing whitespace is dropped and the suffix follows after one
    space — directly when the text ends with punctuation (``…到账。回T退订``).
    Idempotent: applying it twice gives the same text.
    """
    if not marketing:
        return text
    if ends_with_opt_out(text):
        return text
    body = text.rstrip()
    if not body:
        return suffix
    separator = "" if body[-1] in _PUNCTUATION_END else " "
    return f"{body}{separator}{suffix}"


def ends_with_opt_out(text: str) -> bool:
    """Whether ``text`` already ends with an opt-out phrase (see :func:`with_opt_out`)."""
    tail = unicodedata.normalize("NFKC", text).rstrip(_TRAILING_JUNK)[-24:]
    return any(match.end() == len(tail) for match in _OPT_OUT_ENDING.finditer(tail))


def is_opt_out_reply(text: str) -> bool:
    """Whether an inbound reply, taken as a whole, asks to stop marketing SMS.

    The reply is NFKC-normalised (full-width ``ＴＤ`` → ``TD``), upper-cased, and
    stripped of whitespace, punctuation, symbols and control characters; what
    is left must be one of :data:`OPT_OUT_REPLIES`. ``"T恤多少钱"`` and ``"谢谢"``
    are not opt-outs.
    """
    normalised = unicodedata.normalize("NFKC", text).upper()
    kept = "".join(ch for ch in normalised if unicodedata.category(ch)[0] not in "PZSC")
    return kept in OPT_OUT_REPLIES


def sms_segments(text: str, sign_name: str = "") -> int:
    """How many SMS parts ``text`` is billed as (0 for an empty message).

    The signature counts as ``【sign_name】`` in front of the text, as carriers
    show it. Then:

    * a text of printable ASCII only (GSM-7; ``^{}\\[~]|`` count twice) is one
      part up to 160 characters, else parts of 153;
    * any other text (Chinese — UCS-2) is one part up to 70 characters, else
      parts of 67; characters outside the BMP (emoji) count as two.

    Aliyun's mainland rule is the UCS-2 one for every message: "不超过70字（含签名）
    按一条计费；超过70字按67字/条" — and a mainland message always carries a
    Chinese signature, so passing ``sign_name`` gives Aliyun's count.
    """
    full = f"【{sign_name}】{text}" if sign_name else text
    if not full:
        return 0
    if all(" " <= ch <= "~" or ch in "\r\n" for ch in full):
        septets = len(full) + sum(ch in _GSM7_EXTENDED for ch in full)
        return 1 if septets <= 160 else -(-septets // 153)
    units = len(full.encode("utf-16-le")) // 2
    return 1 if units <= 70 else -(-units // 67)


def split_e164(phone: str) -> PhoneParts:
    """The country code and national number of an E.164 ``phone`` (``+8613812345678``).

    Raises ValidationFailedError (``phone_invalid``) unless ``phone`` starts with
    ``+`` and is a possible number; the message shows the phone masked.
    """
    try:
        parsed = phonenumbers.parse(phone, None) if phone.startswith("+") else None
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is None or not phonenumbers.is_possible_number(parsed):
        raise ValidationFailedError(
            f"{mask_phone(phone)!r} is not an E.164 phone number (+<country code><number>)",
            code="phone_invalid",
        )
    return PhoneParts(parsed.country_code or 0, str(phonenumbers.national_significant_number(parsed)))


def mask_phone(phone: str) -> str:
    """``phone`` with the middle digits hidden (``+86138****5678``), for messages and logs."""
    if len(phone) <= 7:
        return "*" * len(phone)
    return f"{phone[:-8]}****{phone[-4:]}"


def parse_generic_inbound(data: Mapping[str, Any], *, now: datetime, region: str = "CN") -> InboundSms:
    """An inbound SMS from a generic provider's push (form fields or a JSON object).

    The phone is the first of ``phone``, ``mobile``, ``from`` (any common spelling;
    ``region`` for numbers without a country code, default CN); the text the
    first of ``text``, ``content``, ``message``; the provider id the first of
    ``id``, ``message_id``, ``msg_id`` (optional). ``received_at`` is the
    ``received_at`` field when it is an ISO 8601 time with an offset, else
    ``now`` (which must be time-zone aware).

    Raises ValidationFailedError naming the missing or malformed field.
    """
    phone_field, raw_phone = _first(data, ("phone", "mobile", "from"))
    _, text = _first(data, ("text", "content", "message"))
    problems = []
    if raw_phone is None:
        problems.append("phone: missing (send phone, mobile or from)")
    if text is None:
        problems.append("text: missing (send text, content or message)")
    if problems:
        raise ValidationFailedError("inbound SMS: " + "; ".join(problems))
    phone = _normalise_phone(str(raw_phone), region)
    if phone is None:
        raise ValidationFailedError(f"inbound SMS: {phone_field}: {mask_phone(str(raw_phone))!r} is no phone")
    received_at = now
    stamp = data.get("received_at")
    if stamp not in (None, ""):
        given = _aware_time(str(stamp))
        if given is None:
            raise ValidationFailedError(
                "inbound SMS: received_at: must be an ISO 8601 time with an offset (2024-05-01T12:00:00+08:00)"
            )
        received_at = given
    _, provider_id = _first(data, ("id", "message_id", "msg_id"))
    return InboundSms(
        phone=phone,
        text=str(text),
        received_at=received_at,
        provider_id=None if provider_id is None else str(provider_id),
    )


def _first(data: Mapping[str, Any], names: tuple[str, ...]) -> tuple[str, Any]:
    for name in names:
        value = data.get(name)
        if isinstance(value, list | tuple):  # parse_qs-style forms
            value = value[0] if value else None
        if value not in (None, ""):
            return name, value
    return "", None


def _aware_time(text: str) -> datetime | None:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo is not None else None


def _normalise_phone(text: str, region: str) -> str | None:
    try:
        parsed = phonenumbers.parse(text.strip(), region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))
