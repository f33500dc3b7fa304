"""The plugin manager: built-ins first, then every ``guanxi`` entry point.

:func:`plugin_manager` builds the manager on first call (never at import time)
and keeps it for the process; :func:`using_plugins` registers extra plugin
objects for the length of a ``with`` block (tests, embedding). :func:`collect`
turns the lists the ``register_*`` hooks return into one mapping by name and
refuses duplicates.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import pluggy

from guanxi.errors import ConfigError
from guanxi.plugins import hookspecs

ENTRY_POINT_GROUP = "guanxi"
"""The entry-point group installed plugins declare themselves in."""

DEFAULT_PLUGINS: tuple[str, ...] = (
    "guanxi.appdb.plugin",
    "guanxi.jobs.plugin",
    "guanxi.identity.plugin",
    "guanxi.ingest.plugin",
    "guanxi.events.plugin",
    "guanxi.models.plugin",
    "guanxi.segments.plugin",
    "guanxi.marketing.plugin",
    "guanxi.marketing.journeys.plugin",
    "guanxi.reports.plugin",
    "guanxi.web.plugin",
    "guanxi.cli.plugin",
)
"""The built-in plugins, registered in this order before any installed one."""

_lock = threading.Lock()
_manager: pluggy.PluginManager | None = None
_generation = 0
"""Bumped whenever the set of plugins changes, so derived caches know to rebuild (:func:`cached`)."""

T = TypeVar("T")


def build_plugin_manager(
    *, defaults: Iterable[str] = DEFAULT_PLUGINS, entry_points: bool = True
) -> pluggy.PluginManager:
    """A new manager with the built-ins ``defaults`` (module names) and, unless told not to, entry points.

    Raises :class:`ConfigError` when a plugin module cannot be imported or
    implements a hook wrongly (pluggy's validation, with the plugin named).
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    for name in defaults:
        try:
            module = importlib.import_module(name)
        except ImportError as err:
            raise ConfigError(f"built-in plugin {name} cannot be imported: {err}") from err
        pm.register(module, name=name)
    if entry_points:
        try:
            pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
        except (ImportError, AttributeError) as err:
            raise ConfigError(
                f"a plugin in the entry-point group {ENTRY_POINT_GROUP!r} failed: {err}"
            ) from err
        except pluggy.PluginValidationError as err:
            raise ConfigError(f"plugin {err.plugin!r} implements a hook wrongly: {err}") from err
    return pm


def plugin_manager() -> pluggy.PluginManager:
    """The process's plugin manager, built on first call (thread-safe)."""
    global _manager
    with _lock:
        if _manager is None:
            _manager = build_plugin_manager()
        return _manager


def reset_plugin_manager() -> None:
    """Forget the process's manager; the next :func:`plugin_manager` call loads every plugin again."""
    global _manager, _generation
    with _lock:
        _manager = None
        _generation += 1


@contextmanager
def using_plugins(*plugins: object) -> Iterator[pluggy.PluginManager]:
    """Register ``plugins`` (modules or objects with hook implementations) on the manager for a block."""
    global _generation
    pm = plugin_manager()
    names = [pm.register(plugin) for plugin in plugins]
    _generation += 1
    try:
        yield pm
    finally:
        for plugin, name in zip(plugins, names, strict=True):
            if name is not None:
                pm.unregister(plugin=plugin)
        _generation += 1


def cached(build: Callable[[], T]) -> Callable[[], T]:
    """``build()`` computed once per plugin set of the process's manager.

    For what is derived from hook results and read often (interface words, the
    menu): rebuilt after :func:`using_plugins` or :func:`reset_plugin_manager`.
    """
    memo: dict[int, T] = {}

    def get() -> T:
        key = _generation
        if key not in memo:
            memo.clear()
            memo[key] = build()
        return memo[key]

    get.__doc__ = build.__doc__
    get.__name__ = getattr(build, "__name__", "cached")
    return get


def call_in_order(hook: Any, pm: pluggy.PluginManager | None = None, **kwargs: Any) -> list[tuple[str, Any]]:
    """Call every implementation of ``hook`` with ``kwargs``, built-ins first (pluggy itself calls LIFO).

    Returns ``(plugin name, result)`` per implementation.
    """
    pm = pm or plugin_manager()
    return [
        (pm.get_name(impl.plugin) or impl.plugin_name, impl.function(**kwargs))
        for impl in hook.get_hookimpls()
    ]


def results_by_plugin(hook: Any, pm: pluggy.PluginManager | None = None) -> Iterator[tuple[str, list[Any]]]:
    """``(plugin name, items)`` for each plugin implementing a zero-argument ``register_*`` hook.

    In registration order: built-ins in :data:`DEFAULT_PLUGINS` order, then
    installed plugins. A hook that returns None counts as an empty list, one that
    returns a single object (a mapping) as a list of that one object.
    """
    pm = pm or plugin_manager()
    for impl in hook.get_hookimpls():
        items = impl.function()
        found = [] if items is None else list(items) if isinstance(items, list | tuple) else [items]
        yield pm.get_name(impl.plugin) or impl.plugin_name, found


def collect(
    hook: Any, *, what: str, name: Callable[[T], str], pm: pluggy.PluginManager | None = None
) -> dict[str, T]:
    """Call a ``register_*`` hook and index its items by ``name(item)``, built-ins first.

    ``hook`` is the hook's caller (``plugin_manager().hook.register_channels``).
    Two plugins defining the same name raise :class:`ConfigError` naming both.
    Results keep the order plugins were registered in (built-ins in
    :data:`DEFAULT_PLUGINS` order, then installed plugins).
    """
    found: dict[str, T] = {}
    owner: dict[str, str] = {}
    for plugin_name, items in results_by_plugin(hook, pm):
        for item in items:
            key = name(item)
            if key in found:
                raise ConfigError(f"two plugins define the {what} {key!r}: {owner[key]} and {plugin_name}")
            found[key] = item
            owner[key] = plugin_name
    return found
