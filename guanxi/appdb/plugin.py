"""The app database's own tables (users, API keys, audit log) and the first migrations."""

from __future__ import annotations

from pathlib import Path

from guanxi.plugins import hookimpl


@hookimpl
def register_appdb_tables() -> list[str]:
    return ["guanxi.appdb.accounts", "guanxi.appdb.audit"]


@hookimpl
def register_migrations() -> list[Path]:
    return [Path(__file__).parent / "migrations" / "versions"]
