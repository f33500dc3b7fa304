"""What a person types to name a customer or an identifier, made canonical.

Pure functions, no warehouse access. A customer key is a customer id, a phone
in any common spelling (``138 1234 5678``, ``+86 138-1234-5678``) or an e-mail;
``id:``, ``phone:`` and ``email:`` prefixes remove any doubt.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import phonenumbers

from guanxi.identity.errors import IdentityInputError

KeyKind = Literal["customer_id", "phone", "email"]

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PREFIXES: dict[str, KeyKind] = {"id": "customer_id", "phone": "phone", "email": "email"}


@dataclass(frozen=True)
class CustomerKey:
    """A parsed customer key; ``alternatives`` are other readings to try when the first finds nothing."""

    kind: KeyKind
    value: str
    alternatives: tuple[tuple[KeyKind, str], ...] = ()


def normalize_phone(text: str, region: str) -> str | None:
    """E.164 for a valid phone number (``region`` for numbers without a country code), else None."""
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))


def normalize_email(text: str) -> str | None:
    """The address trimmed and lower-cased when it looks like one, else None."""
    value = text.strip().lower()
    return value if _EMAIL.match(value) else None


def parse_customer_key(text: str, region: str) -> CustomerKey:
    """Read a customer key. Raises :class:`IdentityInputError` when it is none of the three.

    Digits that form a valid phone number are read as a phone first and as a
    customer id second.
    """
    raw = text.strip()
    prefix, sep, rest = raw.partition(":")
    if sep and prefix.lower() in _PREFIXES:
        kind = _PREFIXES[prefix.lower()]
        value = _canonical(kind, rest.strip(), region)
        if value is None:
            raise IdentityInputError(f"{raw!r} is not a valid {kind.replace('_', ' ')}")
        return CustomerKey(kind, value)
    if "@" in raw:
        email = normalize_email(raw)
        if email is None:
            raise IdentityInputError(f"{raw!r} is not a valid e-mail address")
        return CustomerKey("email", email)
    phone = normalize_phone(raw, region)
    is_id = raw.isdigit() and len(raw) <= 18 and int(raw) > 0
    if phone is not None:
        return CustomerKey("phone", phone, (("customer_id", str(int(raw))),) if is_id else ())
    if is_id:
        return CustomerKey("customer_id", str(int(raw)))
    raise IdentityInputError(
        f"{raw!r} is neither a customer id, a phone number nor an e-mail address "
        "(prefix it with id:, phone: or email: to say which)"
    )


def _canonical(kind: KeyKind, value: str, region: str) -> str | None:
    if kind == "phone":
        return normalize_phone(value, region)
    if kind == "email":
        return normalize_email(value)
    return str(int(value)) if value.isdigit() and len(value) <= 18 and int(value) > 0 else None


def normalize_identifier(kind: str, value: str, region: str) -> str:
    """An identifier value as resolution stores it (E.164 phones, lower-case e-mails, trimmed text).

    Raises :class:`IdentityInputError` for an empty value or an unreadable phone or e-mail.
    """
    text = value.strip()
    if not text:
        raise IdentityInputError(f"an empty {kind} cannot be used")
    if kind == "phone":
        phone = normalize_phone(text, region)
        if phone is None:
            raise IdentityInputError(f"{value!r} is not a valid phone number")
        return phone
    if kind == "email":
        email = normalize_email(text)
        if email is None:
            raise IdentityInputError(f"{value!r} is not a valid e-mail address")
        return email
    return text


def parse_record_key(text: str) -> tuple[str, str]:
    """``SOURCE:SOURCE_CUSTOMER_ID`` → the record pair. Raises :class:`IdentityInputError`."""
    source, sep, record_id = text.strip().partition(":")
    if not sep or not source or not record_id:
        raise IdentityInputError(
            f"{text!r} is not a record; write SOURCE:SOURCE_CUSTOMER_ID, e.g. taobao:tb_8812"
        )
    return source, record_id
