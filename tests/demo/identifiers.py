"""Test helpers: read the identifiers each record shows, normalised the way a person would."""

from __future__ import annotations

import re
import unicodedata

_NOT_DIGIT = re.compile(r"\D")


def phone_key(text: str | None) -> str | None:
    """The 11-digit mobile in ``text`` (any spelling), or None for masked, empty or foreign text."""
    if not text:
        return None
    digits = _NOT_DIGIT.sub("", unicodedata.normalize("NFKC", text))
    if digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits if len(digits) == 11 and digits.startswith("1") else None


def email_key(text: str | None) -> str | None:
    """The address lower-cased and trimmed, or None."""
    return text.strip().lower() if text and "@" in text else None
