"""The demo shop's consent ledger: what its customers agreed to when they signed up.

From the imported profiles' e-mails and phones: about 85 % of the addresses
granted marketing consent at their first sighting, about 5 % revoked it
since, the rest never answered. The choice is a hash of the address, so the
same demo data gives the same ledger. Written as ``consent.csv`` beside the
exports and imported through :mod:`guanxi.marketing.consent_file` like any
seller's file.
"""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

import ibis
from ibis.backends import BaseBackend
from sqlalchemy.orm import Session

from guanxi.config import Settings
from guanxi.marketing.consent_file import ImportReport, import_file

FILE = "consent.csv"


def write_consent_file(con: BaseBackend, out_dir: Path) -> Path:
    """Write the demo ledger from the warehouse's raw profiles; returns its path."""
    raw = con.table("raw_customers")
    emails = raw.filter(raw.email.notnull() & (raw.email != "")).select(
        medium=ibis.literal("email"), address=raw.email, at=raw.registered_at
    )
    phones = raw.filter(raw.phone.notnull() & (raw.phone != "")).select(
        medium=ibis.literal("sms"), address=raw.phone, at=raw.registered_at
    )
    points = emails.union(phones).group_by("medium", "address").aggregate(at=lambda t: t.at.min())
    bucket = points.address.hash().abs() % 100
    ledger = (
        points.mutate(
            state=ibis.cases((bucket < 85, "granted"), (bucket < 90, "revoked"), else_=ibis.null("string"))
        )
        .filter(lambda t: t.state.notnull())
        .order_by("medium", "address")
    )
    rows = ledger.to_pyarrow().to_pylist()
    path = out_dir / FILE
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["medium", "address", "state", "at"])
        for row in rows:
            at = row["at"]
            writer.writerow(
                [
                    row["medium"],
                    row["address"],
                    row["state"],
                    at.isoformat() if isinstance(at, datetime) else "",
                ]
            )
    return path


def load_demo_consent(
    con: BaseBackend, session: Session, settings: Settings, out_dir: Path, *, now: datetime
) -> ImportReport:
    """Write and import the demo ledger (idempotent: a second run records nothing)."""
    return import_file(session, write_consent_file(con, out_dir), settings=settings, now=now, actor="demo")
