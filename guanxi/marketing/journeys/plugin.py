"""Journeys as a plugin: their app-DB tables and migration, step kinds, trigger kinds, goal kinds and service.

Everything built in enters through the same hooks a third-party plugin uses.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from guanxi.jobs.kinds import Service
from guanxi.marketing.journey_steps import StepKind
from guanxi.marketing.journeys.goals import GoalKind, builtin_goals
from guanxi.marketing.journeys.recipes import Recipe
from guanxi.marketing.triggers import TriggerKind
from guanxi.plugins import hookimpl

if TYPE_CHECKING:
    import typer
    from fastapi import APIRouter

    from guanxi.web.pages import MenuItem


@hookimpl
def register_appdb_tables() -> list[str]:
    return ["guanxi.marketing.journeys.tables"]


@hookimpl
def register_migrations() -> list[Path]:
    return [Path(__file__).parent / "migrations"]


@hookimpl
def register_journey_goals() -> list[GoalKind]:
    return builtin_goals()


@hookimpl
def register_journey_triggers() -> list[TriggerKind]:
    from guanxi.marketing.journeys.trigger_kinds import builtin_triggers

    return builtin_triggers()


@hookimpl
def register_journey_recipes() -> list[Recipe]:
    from guanxi.marketing.journeys.recipes import builtin_recipes

    return builtin_recipes()


@hookimpl
def register_services() -> list[Service]:
    from guanxi.marketing.journeys.runtime import service_pass

    return [
        Service(
            "journeys",
            service_pass,
            lambda settings: settings.journeys_seconds,
            "Journey triggers, goals and due steps",
        )
    ]


def journey_step_kinds() -> list[StepKind]:
    """The definition-driven step kinds (registered by :mod:`guanxi.marketing.plugin` once bare kinds merge)."""
    from guanxi.marketing.journeys.action_steps import action_kinds
    from guanxi.marketing.journeys.flow_steps import flow_kinds

    return [*action_kinds(), *flow_kinds()]


@hookimpl
def register_commands(cli: typer.Typer) -> None:
    from guanxi.cli import journeys as journeys_cli

    cli.add_typer(journeys_cli.app, name="journeys")


@hookimpl
def register_pages() -> list[APIRouter]:
    from guanxi.web.ui.journeys import router

    return [router]


@hookimpl
def register_api_routes() -> list[APIRouter]:
    from guanxi.web.api.journeys import router

    return [router]


@hookimpl
def menu_items() -> list[MenuItem]:
    from guanxi.appdb.roles import Permission
    from guanxi.web.pages import MenuItem

    return [MenuItem("nav.journeys", "/journeys", Permission.VIEW, "journeys", order=560)]


@hookimpl
def register_translations() -> dict[str, dict[str, str]]:
    from guanxi.web.i18n import journeys as words

    return {"zh-CN": words.ZH_CN, "en": words.EN}
