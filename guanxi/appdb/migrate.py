"""Run the app-database migrations programmatically (no ``alembic.ini`` needed).

The migration scripts live in :mod:`guanxi.appdb.migrations` inside the
package, so an installed guanxi can always bring its own database up to date.
"""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from guanxi.appdb.database import make_engine
from guanxi.config import Settings
from guanxi.errors import ConfigError
from guanxi.plugins import plugin_manager, results_by_plugin

MIGRATIONS = Path(__file__).parent / "migrations"


def version_locations() -> list[Path]:
    """Every plugin's folder of revision scripts, built-ins first (one version chain across them)."""
    folders: list[Path] = []
    for _plugin, found in results_by_plugin(plugin_manager().hook.register_migrations):
        folders.extend(Path(folder) for folder in found if Path(folder) not in folders)
    return folders


def alembic_config() -> Config:
    """An Alembic config for the packaged environment and every plugin's revision folders."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", os.pathsep.join(str(f) for f in version_locations()))
    return config


def head_revision() -> str:
    """The newest revision the package ships."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise ConfigError("the packaged app-database migrations have no head revision")
    return head


def upgrade(settings: Settings, *, engine: Engine | None = None, revision: str = "head") -> str:
    """Bring the app database up to ``revision`` (default: the newest).

    Idempotent: an up-to-date database is left unchanged. Creates a SQLite
    file (and its folder) when missing. Runs on ``engine`` when given (which
    stays open), else on a short-lived engine from ``settings``. Returns the
    revision the database is at afterwards.
    """
    own = engine is None
    active = make_engine(settings) if engine is None else engine
    try:
        config = alembic_config()
        with active.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
        return current_revision(active) or ""
    finally:
        if own:
            active.dispose()


def downgrade(settings: Settings, revision: str, *, engine: Engine | None = None) -> None:
    """Take the app database back to ``revision`` (``base`` empties it). Loses data of dropped tables."""
    own = engine is None
    active = make_engine(settings) if engine is None else engine
    try:
        config = alembic_config()
        with active.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, revision)
    finally:
        if own:
            active.dispose()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, ``None`` when never migrated."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
