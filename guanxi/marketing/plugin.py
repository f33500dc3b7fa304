"""The marketing domain as a plugin: its app-DB tables and migrations."""

from __future__ import annotations

from pathlib import Path

from guanxi.plugins import hookimpl


@hookimpl
def register_appdb_tables() -> list[str]:
    return ["guanxi.marketing.tables"]


@hookimpl
def register_migrations() -> list[Path]:
    return [Path(__file__).parent / "migrations"]
