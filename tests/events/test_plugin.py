"""The intake is a built-in plugin: without its registration there are no routes, no spool table, no loader."""

from __future__ import annotations

from guanxi.jobs.registry import services
from guanxi.plugins import DEFAULT_PLUGINS, build_plugin_manager, results_by_plugin


def test_the_intake_enters_through_the_plugin_hooks_and_goes_without_them() -> None:
    with_events = build_plugin_manager(entry_points=False)
    without = build_plugin_manager(
        defaults=[name for name in DEFAULT_PLUGINS if name != "guanxi.events.plugin"], entry_points=False
    )

    def paths(pm: object) -> set[str]:
        return {
            route.path  # type: ignore[attr-defined]
            for _plugin, routers in results_by_plugin(pm.hook.register_api_routes, pm)  # type: ignore[attr-defined]
            for router in routers
            for route in router.routes
        }

    def tables(pm: object) -> set[str]:
        found = results_by_plugin(pm.hook.register_appdb_tables, pm)  # type: ignore[attr-defined]
        return {name for _plugin, names in found for name in names}

    assert {"/track", "/batch", "/t", "/b", "/import"} <= paths(with_events)
    assert "/track" not in paths(without)
    assert "guanxi.events.spool" in tables(with_events) - tables(without)
    assert "events-loader" in services(with_events)
    assert "events-loader" not in services(without)
