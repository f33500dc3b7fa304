"""Every ORM table of the app database, gathered through the plugin hooks.

Each domain owns its tables (``guanxi.appdb.accounts``, ``guanxi.segments.store``,
``guanxi.marketing.tables`` …) and names their modules in its
``register_appdb_tables`` hook; :func:`load_tables` imports them all, which
registers every table on :data:`guanxi.appdb.base.Base.metadata` — what the
migrations are checked against. Nothing here imports a domain directly.
"""

from __future__ import annotations

import importlib

from sqlalchemy import MetaData

from guanxi.appdb.base import Base
from guanxi.plugins import plugin_manager, results_by_plugin


def table_modules() -> list[str]:
    """The modules every plugin names for its app-DB tables, built-ins first."""
    modules: list[str] = []
    for _plugin, names in results_by_plugin(plugin_manager().hook.register_appdb_tables):
        modules.extend(name for name in names if name not in modules)
    return modules


def load_tables() -> MetaData:
    """Import every plugin's table modules; the metadata holding all their tables (idempotent)."""
    for name in table_modules():
        importlib.import_module(name)
    return Base.metadata
