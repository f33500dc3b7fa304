"""The event intake as a plugin: its app-DB table and migration, its ``/v1`` routes and the loader service.

Without this module registered there is no ``/v1/track`` … and no loader:
the intake enters through the same hooks a third-party plugin uses.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from guanxi.plugins import hookimpl

if TYPE_CHECKING:
    from fastapi import APIRouter

    from guanxi.jobs.kinds import Service


@hookimpl
def register_appdb_tables() -> list[str]:
    return ["guanxi.events.spool"]


@hookimpl
def register_migrations() -> list[Path]:
    return [Path(__file__).parent / "migrations"]


@hookimpl
def register_api_routes() -> list[APIRouter]:
    from guanxi.events.api import router  # noqa: PLC0415 - FastAPI loads only for the web app

    return [router]


@hookimpl
def register_services() -> list[Service]:
    from guanxi.events.loader import LOADER, RESOLVER  # noqa: PLC0415 - the loader loads only where it runs

    return [LOADER, RESOLVER]
