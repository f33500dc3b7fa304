"""The hooks guanxi calls; a plugin implements any of them with :data:`hookimpl`.

Every ``register_*`` hook returns a list; guanxi concatenates the lists of all
plugins (built-ins first, then installed plugins) and rejects two definitions
of the same name with a :class:`~guanxi.errors.ConfigError` naming both
plugins. Hooks are called when the thing they feed is first needed (a worker
building its channels, a model run, a segment compiling, the app starting),
never at import time, so a plugin may import guanxi freely.

The types the hooks return belong to their domains and are documented there.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    import typer
    from fastapi import APIRouter

    from guanxi.ingest.preset import Mapping
    from guanxi.marketing.channels import ChannelDefinition
    from guanxi.marketing.journey_steps import StepKind
    from guanxi.marketing.triggers import TriggerKind
    from guanxi.models.declared import ModelDefinition
    from guanxi.reports.definition import ReportDefinition
    from guanxi.segments.conditions import ConditionKind
    from guanxi.web.pages import MenuItem

PROJECT = "guanxi"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_channels() -> list[ChannelDefinition]:
    """Delivery channels: a name, a factory from settings, and the channel's own settings model.

    The worker builds each channel on first use; its settings are read from
    ``GUANXI_<NAME>_*`` variables by the channel's settings model.
    """


@hookspec
def register_journey_steps() -> list[StepKind]:
    """Journey step kinds: a ``kind`` name and the handler that runs one step of that kind."""


@hookspec
def register_journey_triggers() -> list[TriggerKind]:
    """Journey triggers: a ``kind`` name and what makes a customer enter a journey."""


@hookspec
def register_import_presets() -> list[Mapping | Path]:
    """Import presets: column mappings, or folders of preset YAML files (``*.yaml``)."""


@hookspec
def register_models() -> list[ModelDefinition]:
    """Customer models: each with its config section, its output columns and its compute step."""


@hookspec
def register_segment_conditions() -> list[ConditionKind]:
    """Segment condition kinds: the key that marks them in a spec, validation, compilation, description."""


@hookspec
def register_reports() -> list[ReportDefinition]:
    """Reports: a name, a title per language, and how to compute the table behind them."""


@hookspec
def register_commands(cli: typer.Typer) -> None:
    """Add commands or command groups to the ``guanxi`` command (``cli.command`` / ``cli.add_typer``)."""


@hookspec
def register_pages() -> list[APIRouter]:
    """Routers of server-rendered pages (left out of the API schema)."""


@hookspec
def register_api_routes() -> list[APIRouter]:
    """Routers of JSON API routes, mounted under ``/v1`` with the one error shape."""


@hookspec
def menu_items() -> list[MenuItem]:
    """Entries of the web app's main menu, each with the permission it needs and its place."""


@hookspec
def register_translations() -> dict[str, dict[str, str]]:
    """Words of the interface: ``{locale: {key: text}}`` merged into the catalogues (``zh-CN``, ``en``)."""


@hookspec
def register_appdb_tables() -> list[str]:
    """Modules (dotted names) whose SQLAlchemy tables live on :data:`guanxi.appdb.base.Base.metadata`."""


@hookspec
def register_migrations() -> list[Path]:
    """Folders of Alembic revision scripts, applied in one version chain by ``guanxi init``."""
