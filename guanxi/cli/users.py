"""``guanxi init`` and ``guanxi users …``: the app database's users and API keys from the command line.

Errors print as ``error [code]: message`` and exit with status 2. Passwords
are never taken as command-line arguments (they would land in shell history
and ``ps``): they are prompted for, or read from standard input with
``--password-stdin``. Every change is audited with the actor ``cli``; the
app database is migrated first when needed.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Column, Table
from sqlalchemy.orm import Session

from guanxi.appdb import api_keys, users
from guanxi.appdb.bootstrap import initialise
from guanxi.appdb.database import make_engine, session_factory
from guanxi.appdb.migrate import upgrade
from guanxi.appdb.roles import parse_role
from guanxi.cli.context import console as out
from guanxi.cli.context import fails_cleanly
from guanxi.config import Settings, get_settings
from guanxi.events.writekeys import DEFAULT_SOURCE

app = typer.Typer(help="Manage the users and API keys of the app database.", no_args_is_help=True)
ACTOR = "cli"
ADMIN_PASSWORD_ENV = "GUANXI_ADMIN_PASSWORD"  # noqa: S105 - the variable's name, not a password


def now() -> datetime:
    return datetime.now(UTC)


@contextmanager
def app_db(settings: Settings | None = None) -> Iterator[Session]:
    """A session on the migrated app database, committed when the block succeeds."""
    chosen = settings or get_settings()
    engine = make_engine(chosen)
    try:
        upgrade(chosen, engine=engine)
        with session_factory(engine)() as session, session.begin():
            yield session
    finally:
        engine.dispose()


def read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    value: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return value


@fails_cleanly
def init() -> None:
    """Create or update the app database and make sure an admin exists.

    The first admin is called ``admin``; its password comes from
    GUANXI_ADMIN_PASSWORD, or is generated and printed once.
    """
    result = initialise(get_settings(), now=now(), admin_password=os.environ.get(ADMIN_PASSWORD_ENV) or None)
    out.print(f"app database at revision [bold]{result.revision}[/bold]")
    if not result.admin_created:
        out.print("an active admin already exists; no user was created")
    elif result.generated_password is not None:
        out.print(f"created admin user [bold]{result.admin_username}[/bold] with password:")
        out.print(f"  [bold yellow]{result.generated_password}[/bold yellow]")
        out.print(
            "it is shown only this once: sign in and keep it safe, or change it with `guanxi users set-password`"
        )
    else:
        out.print(
            f"created admin user [bold]{result.admin_username}[/bold] with the password from {ADMIN_PASSWORD_ENV}"
        )


init_app = typer.Typer(help="Create the app database and the first admin.")
init_app.callback(invoke_without_command=True)(init)


@app.command("add")
@fails_cleanly
def add(
    username: Annotated[str, typer.Argument(help="2-64 of a-z 0-9 . _ -")],
    role: Annotated[str, typer.Option(help="admin, analyst, marketer, sales or viewer")] = "viewer",
    display_name: Annotated[str, typer.Option(help="Shown in the interface; defaults to the username.")] = "",
    locale: Annotated[str, typer.Option(help="Interface language: zh-CN or en.")] = "zh-CN",
    password_stdin: Annotated[bool, typer.Option(help="Read the password from standard input.")] = False,
) -> None:
    """Create a user."""
    chosen_role = parse_role(role)
    password = read_password(password_stdin)
    with app_db() as session:
        user = users.create_user(
            session,
            username=username,
            password=password,
            role=chosen_role,
            actor=ACTOR,
            now=now(),
            display_name=display_name,
            locale=locale,
        )
    out.print(f"created user [bold]{user.username}[/bold] ({user.role.value})")


@app.command("list")
@fails_cleanly
def list_(
    zone: Annotated[str | None, typer.Option(help="Time zone for times; default GUANXI_TIMEZONE.")] = None,
) -> None:
    """List users, active first."""
    settings = get_settings()
    shown_zone = settings.zone if zone is None else get_settings(timezone=zone).zone
    table = Table("username", "display name", "role", "locale", "active", "last sign-in")
    with app_db(settings) as session:
        for user in users.list_users(session):
            last = (
                user.last_login_at.astimezone(shown_zone).strftime("%Y-%m-%d %H:%M")
                if user.last_login_at
                else "—"
            )
            table.add_row(
                user.username,
                escape(user.display_name),
                user.role.value,
                user.locale,
                "yes" if user.active else "no",
                last,
            )
    out.print(table)


@app.command("set-role")
@fails_cleanly
def set_role(username: str, role: str) -> None:
    """Give a user another role (the last active admin keeps theirs)."""
    with app_db() as session:
        user = users.set_role(
            session, users.user_named(session, username), parse_role(role), actor=ACTOR, now=now()
        )
    out.print(f"{user.username} is now {user.role.value}")


@app.command("deactivate")
@fails_cleanly
def deactivate(username: str) -> None:
    """Stop a user from signing in; their sessions end at once."""
    with app_db() as session:
        user = users.deactivate(session, users.user_named(session, username), actor=ACTOR, now=now())
    out.print(f"{user.username} is deactivated")


@app.command("reactivate")
@fails_cleanly
def reactivate(username: str) -> None:
    """Let a deactivated user sign in again."""
    with app_db() as session:
        user = users.reactivate(session, users.user_named(session, username), actor=ACTOR, now=now())
    out.print(f"{user.username} is active")


@app.command("set-password")
@fails_cleanly
def set_password(
    username: str,
    password_stdin: Annotated[bool, typer.Option(help="Read the password from standard input.")] = False,
) -> None:
    """Replace a user's password; their other sessions end."""
    password = read_password(password_stdin)
    with app_db() as session:
        user = users.set_password(
            session, users.user_named(session, username), password, actor=ACTOR, now=now()
        )
    out.print(f"password of {user.username} changed")


@app.command("add-key")
@fails_cleanly
def add_key(
    name: Annotated[str, typer.Argument(help="What the key is for, e.g. 'ERP sync'.")],
    role: Annotated[str, typer.Option(help="admin, analyst, marketer, sales or viewer")] = "viewer",
    scope: Annotated[
        list[str] | None,
        typer.Option(
            "--scope",
            help="api (the /v1 JSON API) and/or ingest (a write key for /v1/track, /v1/batch …); "
            "repeat it or give a comma list. Default: api.",
        ),
    ] = None,
    source: Annotated[
        str | None,
        typer.Option(help="For ingest keys: the source its events are stored under (default: segment)."),
    ] = None,
) -> None:
    """Issue an API key for the /v1 API or the event intake; the key is printed once."""
    scopes = api_keys.parse_scopes(scope or [api_keys.SCOPE_API])
    with app_db() as session:
        issued = api_keys.issue_api_key(
            session, name=name, role=parse_role(role), actor=ACTOR, now=now(), scopes=scopes, source=source
        )
        secret, prefix = issued.secret, issued.record.prefix
    uses = []
    if api_keys.SCOPE_API in scopes:
        uses.append("send it as the X-API-Key header")
    if api_keys.SCOPE_INGEST in scopes:
        uses.append(
            f"use it as the write key of a Segment client (source {issued.record.source or DEFAULT_SOURCE})"
        )
    out.print(
        f"API key {prefix} ({role}; {', '.join(scopes)}); {' or '.join(uses)}. It is shown only this once:"
    )
    out.print(secret, soft_wrap=True, highlight=False)


@app.command("keys")
@fails_cleanly
def keys() -> None:
    """List API keys (prefixes only) with their scopes; an ingest key shows its event source: ``ingest (web)``."""
    table = Table(
        Column("prefix", no_wrap=True),
        "name",
        "role",
        Column("scopes", no_wrap=True),
        "created",
        "last used",
        "revoked",
    )
    with app_db() as session:
        for key in api_keys.list_api_keys(session):
            scopes = [
                f"{scope} ({key.source or DEFAULT_SOURCE})" if scope == api_keys.SCOPE_INGEST else scope
                for scope in key.scopes.split(",")
            ]
            table.add_row(
                key.prefix,
                escape(key.name),
                key.role.value,
                ", ".join(scopes),
                f"{key.created_at:%Y-%m-%d}",
                f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "—",
                f"{key.revoked_at:%Y-%m-%d}" if key.revoked_at else "",
            )
    out.print(table)


@app.command("revoke-key")
@fails_cleanly
def revoke_key(prefix: Annotated[str, typer.Argument(help="The key's prefix, e.g. gx_1a2b3c4d.")]) -> None:
    """Revoke an API key for good."""
    with app_db() as session:
        record = api_keys.revoke_api_key(
            session, api_keys.get_api_key(session, prefix=prefix), actor=ACTOR, now=now()
        )
    out.print(f"API key {record.prefix} revoked")
