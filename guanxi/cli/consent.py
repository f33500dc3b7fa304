"""``guanxi consent …`` and ``guanxi suppressions …``: the consent ledger and the suppression list by hand.

``consent import FILE.csv`` reads a ledger file (:mod:`guanxi.marketing.consent_file`:
columns, encodings); every good row is recorded with the file name and row as
proof, every bad row is reported (row, column, why) and skipped, and a second
import of the same file changes nothing. All changes are made with the actor ``cli``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from guanxi.cli.context import console, err_console, fails_cleanly
from guanxi.cli.users import app_db
from guanxi.config import get_settings
from guanxi.errors import ConfigError
from guanxi.marketing import consent, consent_file, suppression

app = typer.Typer(
    help="Consent ledger: who agreed to hear from you, on which medium, on what proof.", no_args_is_help=True
)
suppressions_app = typer.Typer(
    help="The suppression list: addresses that get no message at all.", no_args_is_help=True
)
ACTOR = "cli"

Medium = Annotated[str, typer.Option("--medium", "-m", help="email, sms, wechat …")]


def _now() -> datetime:
    return datetime.now(UTC)


def _set(address: str, medium: str, state: str, note: str | None) -> None:
    settings = get_settings()
    normalized = consent.normalize_address(medium, address, region=settings.default_region)
    with app_db(settings) as session:
        change = consent.record_consent(
            session,
            medium=medium,
            address=normalized,
            state=state,
            source="manual",
            at=_now(),
            now=_now(),
            actor=ACTOR,
            note=note,
        )
    verb = "is now" if change.changed else "was already"
    console.print(f"{escape(normalized)} on {medium} {verb} {state}")


@app.command("grant")
@fails_cleanly
def grant_command(
    address: str, medium: Medium = "email", note: Annotated[str | None, typer.Option()] = None
) -> None:
    """Record consent given by hand (keep the proof in --note)."""
    _set(address, medium, consent.GRANTED, note)


@app.command("revoke")
@fails_cleanly
def revoke_command(
    address: str, medium: Medium = "email", note: Annotated[str | None, typer.Option()] = None
) -> None:
    """Record that the person no longer wants marketing on this medium."""
    _set(address, medium, consent.REVOKED, note)


@app.command("show")
@fails_cleanly
def show_command(address: str, medium: Medium = "email") -> None:
    """The consent history of one address, oldest first."""
    settings = get_settings()
    normalized = consent.normalize_address(medium, address, region=settings.default_region)
    with app_db(settings) as session:
        table = Table("at", "state", "source", "actor", "proof")
        for entry in consent.history(session, medium, normalized):
            proof = ", ".join(f"{k}={v}" for k, v in entry.proof.items())
            table.add_row(
                entry.at.astimezone(settings.zone).strftime("%Y-%m-%d %H:%M"),
                entry.state,
                entry.source,
                escape(entry.actor),
                escape(proof),
            )
        console.print(
            f"{escape(normalized)} on {medium}: {consent.state_of(session, medium, normalized) or 'no record'}"
        )
        console.print(table)
        blocked = suppression.active_entry(session, medium, normalized)
        if blocked is not None:
            console.print(f"[red]suppressed ({blocked.reason}) since {blocked.at:%Y-%m-%d}[/red]")


@app.command("import")
@fails_cleanly
def import_command(file: Annotated[Path, typer.Argument(help="A CSV ledger file.")]) -> None:
    """Record every row of a consent file; bad rows are reported and skipped."""
    if not file.is_file():
        raise ConfigError(f"no such file {file}")
    settings = get_settings()
    with app_db(settings) as session:
        report = consent_file.import_file(session, file, settings=settings, now=_now(), actor=ACTOR)
    for problem in report.problems:
        err_console.print(escape(problem), highlight=False, soft_wrap=True)
    console.print(
        f"{report.recorded:,} recorded, {report.unchanged:,} unchanged, {len(report.problems):,} rejected"
    )
    if report.problems:
        raise typer.Exit(1)


@suppressions_app.command("add")
@fails_cleanly
def add_command(
    address: str,
    medium: Annotated[str, typer.Option("--medium", "-m", help="email, sms … or * for every medium")] = "*",
    reason: Annotated[str, typer.Option(help="bounce, complaint, manual or invalid")] = "manual",
    note: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Suppress an address: no message of any kind goes to it."""
    settings = get_settings()
    kind = "sms" if address.strip().startswith("+") or address.strip().isdigit() else "email"
    normalized = consent.normalize_address(
        medium if medium != "*" else kind, address, region=settings.default_region
    )
    with app_db(settings) as session:
        suppression.suppress(
            session, medium=medium, address=normalized, reason=reason, actor=ACTOR, now=_now(), note=note
        )
    console.print(f"suppressed {escape(normalized)} on {medium}")


@suppressions_app.command("lift")
@fails_cleanly
def lift_command(address: str, medium: Annotated[str, typer.Option("--medium", "-m")] = "*") -> None:
    """Lift a suppression."""
    settings = get_settings()
    kind = "sms" if address.strip().startswith("+") or address.strip().isdigit() else "email"
    normalized = consent.normalize_address(
        medium if medium != "*" else kind, address, region=settings.default_region
    )
    with app_db(settings) as session:
        suppression.lift(session, medium=medium, address=normalized, actor=ACTOR, now=_now())
    console.print(f"lifted the suppression of {escape(normalized)} on {medium}")


@suppressions_app.command("list")
@fails_cleanly
def list_command(
    lifted: Annotated[bool, typer.Option("--lifted", help="Include lifted entries.")] = False,
) -> None:
    """Suppressed addresses, newest first."""
    settings = get_settings()
    with app_db(settings) as session:
        table = Table("medium", "address", "reason", "since", "lifted")
        for entry in suppression.list_entries(session, include_lifted=lifted):
            table.add_row(
                entry.medium,
                escape(entry.address),
                entry.reason,
                f"{entry.at.astimezone(settings.zone):%Y-%m-%d}",
                f"{entry.lifted_at:%Y-%m-%d}" if entry.lifted_at else "",
            )
        console.print(table)
