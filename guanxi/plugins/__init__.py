"""The one way in for built-ins and plugins: a pluggy manager with guanxi's hooks.

Everything guanxi can be extended with — channels, journey step kinds and
triggers, import presets, customer models, segment conditions, reports, CLI
command groups, web pages and API routes, menu items, interface words, app-DB
tables and migrations — is collected through the hooks in :mod:`.hookspecs`.
Built-ins register through the very same hooks (:data:`.manager.DEFAULT_PLUGINS`),
then every installed package that declares an entry point in the ``guanxi``
group is loaded. A plugin module implements any of the hooks with
:data:`hookimpl`::

    from guanxi.plugins import hookimpl

    @hookimpl
    def register_channels():
        return [ChannelDefinition("dingtalk", DingTalkChannel.from_settings, DingTalkSettings)]

and is registered in its ``pyproject.toml``::

    [project.entry-points.guanxi]
    dingtalk = "guanxi_dingtalk.plugin"

The hook list with every signature is in ``docs/plugins.md`` (generated from
the specs, checked by a test).
"""

from __future__ import annotations

from guanxi.plugins.hookspecs import hookimpl, hookspec
from guanxi.plugins.manager import (
    DEFAULT_PLUGINS,
    ENTRY_POINT_GROUP,
    build_plugin_manager,
    cached,
    call_in_order,
    collect,
    plugin_manager,
    reset_plugin_manager,
    results_by_plugin,
    using_plugins,
)

__all__ = [
    "DEFAULT_PLUGINS",
    "ENTRY_POINT_GROUP",
    "build_plugin_manager",
    "cached",
    "call_in_order",
    "collect",
    "hookimpl",
    "hookspec",
    "plugin_manager",
    "reset_plugin_manager",
    "results_by_plugin",
    "using_plugins",
]
