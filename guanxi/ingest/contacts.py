"""Phones and e-mails the SQL fast path could not decide, judged by the libraries.

``phonenumbers`` and ``email-validator`` are the authority; the SQL fast paths in
:mod:`guanxi.ingest.normalize` only take the common cases off their hands. The
functions here run once per *distinct* leftover value, never per row.
"""

from __future__ import annotations

import phonenumbers
from email_validator import EmailNotValidError, validate_email


def normalize_phone(raw: str, region: str = "CN") -> str | None:
    """E.164 for a valid number (default region ``region``), else None.

    Landlines (``010-62345678``), numbers with a country code and numbers in
    full-width digits are accepted; anything phonenumbers deems invalid is None.
    """
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))


def normalize_email(raw: str) -> str | None:
    """The address lower-cased if its syntax is valid (no DNS look-up), else None."""
    candidate = raw.strip()
    try:
        result = validate_email(candidate, check_deliverability=False)
    except EmailNotValidError:
        return None
    return str(result.normalized).lower()


def phone_table(values: list[str], region: str) -> list[tuple[str, str | None]]:
    """``(raw, e164 or None)`` for each distinct leftover phone text."""
    return [(value, normalize_phone(value, region)) for value in values]


def email_table(values: list[str]) -> list[tuple[str, str | None]]:
    """``(raw, address or None)`` for each distinct leftover e-mail text."""
    return [(value, normalize_email(value)) for value in values]
