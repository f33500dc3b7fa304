"""Consent ledger files: rows of (medium, address, state, time) recorded with the file as proof.

A file is CSV (UTF-8, UTF-8 with BOM or GBK/GB18030) with the columns
``medium`` (``email``/``sms``/``wechat``…; default: ``sms`` when only a phone is
given, else ``email``), ``address`` (or ``email`` / ``phone``), ``state``
(``granted``/``revoked``, also 同意/退订/拒绝, yes/no, 1/0), optional ``at`` (ISO
time, local in ``Settings.timezone`` when it has no offset; default: now),
``customer_id`` and ``note``.

Guarantees: every good row is recorded (source ``import``, proof = file name
and row number); every bad row is reported as ``file:row: column …: why`` and
skipped, nothing else is lost; importing the same file again records nothing
(:func:`guanxi.marketing.consent.record_consent` is idempotent). Works in the
caller's transaction.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from charset_normalizer import from_bytes
from sqlalchemy.orm import Session

from guanxi.config import Settings
from guanxi.errors import ValidationFailedError
from guanxi.marketing import consent

STATE_WORDS = {
    "granted": consent.GRANTED,
    "同意": consent.GRANTED,
    "yes": consent.GRANTED,
    "1": consent.GRANTED,
    "true": consent.GRANTED,
    "revoked": consent.REVOKED,
    "退订": consent.REVOKED,
    "拒绝": consent.REVOKED,
    "no": consent.REVOKED,
    "0": consent.REVOKED,
    "false": consent.REVOKED,
}
COLUMNS = ("medium", "address", "state", "at", "customer_id", "note")


@dataclass
class ImportReport:
    recorded: int = 0
    unchanged: int = 0
    problems: list[str] = field(default_factory=list)


def decode(raw: bytes, name: str) -> str:
    """The text of a file: UTF-8 (with or without BOM), else GB18030, else what charset-normalizer finds."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    best = from_bytes(raw).best()
    if best is None:
        raise ValidationFailedError(f"{name}: cannot tell the text encoding")
    return str(best)


def import_rows(
    session: Session,
    rows: Iterable[Mapping[str, str | None]],
    *,
    name: str,
    settings: Settings,
    now: datetime,
    actor: str,
    first_row: int = 2,
) -> ImportReport:
    """Record each row (keys as the columns above, lower-case); see the module docstring."""
    report = ImportReport()
    for number, raw in enumerate(rows, start=first_row):
        row = {str(k).strip().lower(): (v or "").strip() for k, v in raw.items() if k}
        medium = row.get("medium") or ("sms" if row.get("phone") and not row.get("email") else "email")
        address = row.get("address") or (row.get("phone") if medium == "sms" else row.get("email")) or ""
        state = STATE_WORDS.get(row.get("state", "").lower())
        if state is None:
            report.problems.append(
                f"{name}:{number}: column state: {row.get('state')!r} is not granted/revoked (同意/退订)"
            )
            continue
        try:
            normalized = consent.normalize_address(medium, address, region=settings.default_region)
        except ValidationFailedError as err:
            report.problems.append(f"{name}:{number}: column address: {err.message}")
            continue
        try:
            at = datetime.fromisoformat(row["at"]) if row.get("at") else now
        except ValueError as err:
            report.problems.append(f"{name}:{number}: column at: {err}")
            continue
        if at.tzinfo is None:
            at = at.replace(tzinfo=settings.zone)
        change = consent.record_consent(
            session,
            medium=medium,
            address=normalized,
            state=state,
            source="import",
            at=at,
            now=now,
            actor=actor,
            customer_id=row.get("customer_id") or None,
            proof={"file": name, "row": number},
            note=row.get("note") or None,
        )
        report.recorded += change.changed
        report.unchanged += not change.changed
    return report


def import_file(
    session: Session, path: Path, *, settings: Settings, now: datetime, actor: str
) -> ImportReport:
    """Import a consent CSV file; raises ValidationFailedError when it lacks the needed columns."""
    reader = csv.DictReader(io.StringIO(decode(path.read_bytes(), path.name)))
    header = {name.strip().lower() for name in reader.fieldnames or []}
    if not header & {"address", "email", "phone"} or "state" not in header:
        raise ValidationFailedError(f"{path}: needs a state column and an address, email or phone column")
    return import_rows(session, reader, name=path.name, settings=settings, now=now, actor=actor)
