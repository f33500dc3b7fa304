"""The segments domain as a plugin: its app-DB table and migrations."""

from __future__ import annotations

from pathlib import Path

from guanxi.plugins import hookimpl


@hookimpl
def register_appdb_tables() -> list[str]:
    return ["guanxi.segments.store"]


@hookimpl
def register_migrations() -> list[Path]:
    return [Path(__file__).parent / "migrations"]
