"""The ``guanxi`` command, assembled from every plugin's ``register_commands`` (built-ins first).

:func:`build_cli` makes a new command tree; :func:`main` is the console entry
point. ``guanxi.cli.main.app`` is a tree built on first access, for tools and
tests that import it.
"""

from __future__ import annotations

from collections import Counter

import pluggy
import typer

from guanxi.errors import ConfigError
from guanxi.plugins import call_in_order, plugin_manager


def _names(cli: typer.Typer) -> list[str]:
    commands = [c.name or (c.callback.__name__ if c.callback else "") for c in cli.registered_commands]
    groups = [g.name or "" for g in cli.registered_groups]
    return [name.replace("_", "-") for name in commands + groups]


def build_cli(pm: pluggy.PluginManager | None = None) -> typer.Typer:
    """A new ``guanxi`` command with every plugin's commands.

    Raises :class:`ConfigError` when a plugin adds a command name that an
    earlier plugin (or a built-in) already has.
    """
    cli = typer.Typer(
        name="guanxi",
        help="guanxi 关系 — customer data platform and marketing CRM.",
        no_args_is_help=True,
        add_completion=False,
    )
    seen: dict[str, str] = {}
    for plugin, _ in call_in_order((pm or plugin_manager()).hook.register_commands, pm, cli=cli):
        twice = [name for name, n in Counter(_names(cli)).items() if n > 1]
        if twice:
            first = ", ".join(f"{name!r} ({seen.get(name, plugin)})" for name in twice)
            raise ConfigError(f"plugin {plugin} adds commands that exist already: {first}")
        seen.update({name: plugin for name in _names(cli) if name not in seen})
    return cli


def main() -> None:
    build_cli()()


_built: list[typer.Typer] = []


def __getattr__(name: str) -> typer.Typer:
    if name == "app":
        if not _built:
            _built.append(build_cli())
        return _built[0]
    raise AttributeError(name)
