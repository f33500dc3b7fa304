"""Normalisation rules as SQL expressions over one text column.

Each rule takes the (trusted, internal) name of a staged text column and
returns a DuckDB SQL expression computing the canonical value, or NULL when the
text cannot be read. The import compares "text present" with "value NULL" to
find bad cells, so a rule never has to raise. No user text ever becomes SQL:
the only inputs here are internal column names and constants of this module.

Rules cover: full-width folding (ＡＢＣ１２３ → ABC123, the ideographic space),
identifiers (Excel's ``="…"`` guard, a leading apostrophe or tab), names, dates
and times in the formats Chinese platform exports use (with or without
seconds, ``/`` or ``-`` or 年月日, ISO 8601 with an offset, Excel serial days),
amounts with ¥/￥/元/CNY and thousand separators, integers, genders, and the
fast path for Chinese mobile numbers (the same pattern ``phonenumbers`` uses).
"""

from __future__ import annotations

import phonenumbers

_HALF = "".join(chr(c) for c in range(0x21, 0x7F))
_FULL = "".join(chr(c + 0xFEE0) for c in range(0x21, 0x7F))


def _literal(text: str) -> str:
    """A SQL string literal for a constant of this module."""
    return "'" + text.replace("'", "''") + "'"


def fold(ref: str) -> str:
    """Full-width ASCII folded to half-width, ideographic space to space, NBSP to space.

    ``translate`` is costly per value, so it only runs on text that holds such a character.
    """
    translated = f"translate({ref}, {_literal(_FULL + chr(0x3000) + chr(0xA0))}, {_literal(_HALF + '  ')})"
    return f"CASE WHEN regexp_matches({ref}, '[\\x{{FF01}}-\\x{{FF5E}}\\x{{3000}}\\x{{A0}}]') THEN {translated} ELSE {ref} END"


def collapse(ref: str) -> str:
    """Inner runs of white space as one space; the costly replace runs only where there is such a run."""
    return (
        f"CASE WHEN regexp_matches({ref}, '\\s\\s|[\\t\\r\\n\\f\\v]') "
        f"THEN regexp_replace({ref}, '\\s+', ' ', 'g') ELSE {ref} END"
    )


def text(ref: str) -> str:
    """Trimmed, folded text with inner runs of white space collapsed; empty → NULL."""
    return f"nullif(trim({collapse(fold(ref))}), '')"


def person_name(ref: str) -> str:
    """:func:`text`, and no space between two Chinese characters (``李　四`` → ``李四``)."""
    once = f"regexp_replace({text(ref)}, '(\\p{{Han}}) (\\p{{Han}})', '\\1\\2', 'g')"
    return f"regexp_replace({once}, '(\\p{{Han}}) (\\p{{Han}})', '\\1\\2', 'g')"


def identifier(ref: str) -> str:
    """An id: folded, without Excel's ``="…"`` guard, a leading ``'`` or tab, or a trailing ``.0``."""
    folded = fold(ref)
    cleaned = f"regexp_replace(trim({folded}, ' \t\"'''), '^=\"?|\"$', '', 'g')"
    cleaned = f"regexp_replace({cleaned}, '^(\\d+)\\.0$', '\\1')"
    # The clean-up runs only on ids that carry a guard character or a trailing ".0".
    needs = f"regexp_matches({folded}, '^[=\\s''\"]|[\\s\"]$|\\.0$')"
    return f"nullif(CASE WHEN {needs} THEN {cleaned} ELSE {folded} END, '')"


def lower_text(ref: str) -> str:
    return f"lower({text(ref)})"


_TIMESTAMP_FORMATS = [
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y/%m/%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y年%m月%d日 %H:%M:%S",
    "%Y年%m月%d日 %H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%Y年%m月%d日",
    "%Y%m%d",
    "%Y.%m.%d",
]
_OFFSET_FORMATS = ["%Y-%m-%d %H:%M:%S %z", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z"]


def _format_list(formats: list[str]) -> str:
    return "[" + ", ".join(_literal(f) for f in formats) + "]"


def timestamp(ref: str, zone: str) -> str:
    """A wall-clock timestamp in ``zone`` (an IANA name from Settings, validated there), unchecked.

    Times with an offset or ``Z`` are converted to ``zone``; naive times are taken
    as already in ``zone``; Excel serial numbers (days since 1899-12-30) are
    accepted. Dispatches on the text's shape so each value is parsed once: ISO
    shapes by a cast (fast), the rest by a list of export formats. Wrap the result
    in :func:`plausible_time` to reject years outside 1900–2100.
    """
    s = f"trim({collapse(fold(ref))})"
    zoned = (
        f"CAST(timezone({_literal(zone)}, try_strptime(regexp_replace({s}, 'Z$', '+0000'), "
        f"{_format_list(_OFFSET_FORMATS)})) AS TIMESTAMP)"
    )
    serial = (
        f"CASE WHEN TRY_CAST({s} AS DOUBLE) BETWEEN 32874 AND 73051 "
        f"THEN TIMESTAMP '1899-12-30' + to_microseconds(CAST(round(TRY_CAST({s} AS DOUBLE) * 86400e6) AS BIGINT)) END"
    )
    return (
        f"CASE WHEN regexp_matches({s}, '\\d[ T]\\d.*(Z|[+-]\\d{{2}}:?\\d{{2}})$') THEN {zoned} "
        f"WHEN TRY_CAST({s} AS TIMESTAMP) IS NOT NULL THEN TRY_CAST({s} AS TIMESTAMP) "
        f"WHEN regexp_full_match({s}, '\\d{{5}}(\\.\\d+)?') THEN {serial} "
        f"ELSE try_strptime({s}, {_format_list(_TIMESTAMP_FORMATS)}) END"
    )


def plausible_time(parsed: str) -> str:
    """``parsed`` when its year is 1900–2100, else NULL (``0001-01-01`` is a placeholder, not a date)."""
    return f"CASE WHEN year({parsed}) BETWEEN 1900 AND 2100 THEN {parsed} END"


def date(ref: str) -> str:
    """A calendar date (birthdays): :func:`timestamp` read without zone conversion, unchecked."""
    return timestamp(ref, "UTC")


def amount(ref: str) -> str:
    """Money as decimal(18, 2): ¥ ￥ 元 CNY RMB, thousand separators and spaces removed."""
    cleaned = f"regexp_replace({fold(ref)}, '[¥￥元,\\s]|CNY|RMB', '', 'gi')"
    return f"TRY_CAST(nullif({cleaned}, '') AS DECIMAL(18, 2))"


def integer(ref: str) -> str:
    """A whole number (``3``, ``3.0``, ``1,200``); fractions and words give NULL."""
    as_double = f"TRY_CAST(nullif(regexp_replace({fold(ref)}, '[,\\s]', '', 'g'), '') AS DOUBLE)"
    return f"CASE WHEN {as_double} = floor({as_double}) THEN CAST({as_double} AS BIGINT) END"


def gender(ref: str) -> str:
    """``M`` or ``F`` from 男/女/male/female/m/f/1/2; unknown words give NULL."""
    s = lower_text(ref)
    return (
        f"CASE WHEN {s} IN ('男', 'm', 'male', '1', '先生') THEN 'M' "
        f"WHEN {s} IN ('女', 'f', 'female', '2', '女士', '小姐') THEN 'F' END"
    )


GENDER_UNKNOWN_WORDS = ("未知", "保密", "unknown", "0", "-", "u")
"""Words that mean "not stated": NULL without a warning."""


def mobile_pattern() -> str:
    """Chinese mobile national-number pattern from phonenumbers' own metadata."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region("CN")
    mobile = metadata.mobile if metadata is not None else None
    if mobile is None or mobile.national_number_pattern is None:
        raise RuntimeError("phonenumbers ships no CN mobile pattern")
    return str(mobile.national_number_pattern)


def phone_digits(ref: str) -> str:
    """The phone text folded, with spaces, dashes, dots and brackets removed."""
    return f"nullif(regexp_replace({fold(ref)}, '[\\s\\-\\.()（）]', '', 'g'), '')"


def masked_phone(ref: str) -> str:
    """A masked mobile (``138****1234``, ``+86138****1234``) in canonical ``138****1234`` form, else NULL."""
    digits = phone_digits(ref)
    return (
        f"CASE WHEN regexp_full_match({digits}, '(?:\\+?86|0086)?1\\d{{2}}\\*{{4}}\\d{{4}}') "
        f"THEN right({digits}, 11) END"
    )


def fast_mobile(ref: str) -> str:
    """E.164 for a Chinese mobile in any common spelling (``+86``, ``0086``, ``86`` prefix), else NULL.

    Accepts exactly the numbers phonenumbers calls valid CN mobiles; every other
    text goes to the phonenumbers fallback.
    """
    digits = phone_digits(ref)
    national = f"regexp_extract({digits}, '^(?:\\+86|0086|86)?(1\\d{{10}})$', 1)"
    return (
        f"CASE WHEN regexp_full_match({national}, {_literal(mobile_pattern())}) THEN '+86' || {national} END"
    )


EMAIL_FAST = "[a-z0-9_+\\-]+(\\.[a-z0-9_+\\-]+)*@([a-z0-9]([a-z0-9\\-]{0,61}[a-z0-9])?\\.)+[a-z]{2,24}"
"""Addresses this pattern accepts are accepted by email-validator too (checked by a property test)."""

SPECIAL_USE_SUFFIXES = ("arpa", "invalid", "local", "localhost", "onion", "test", "internal", "home.arpa")


def fast_email(ref: str) -> str:
    """A lower-cased e-mail when it is plainly valid (ASCII, common shape), else NULL."""
    s = f"lower(trim({fold(ref)}))"
    tld = f"regexp_extract({s}, '\\.([a-z]+)$', 1)"
    special = ", ".join(_literal(x) for x in SPECIAL_USE_SUFFIXES)
    return (
        f"CASE WHEN length({s}) <= 254 AND length(split_part({s}, '@', 1)) <= 64 "
        f"AND regexp_full_match({s}, {_literal(EMAIL_FAST)}) AND {tld} NOT IN ({special}) THEN {s} END"
    )
