"""The server-rendered pages: every plugin's page routers, built-ins first."""

from __future__ import annotations

from fastapi import APIRouter

from guanxi.plugins import plugin_manager, results_by_plugin


def ui_router() -> APIRouter:
    """Every HTML route of the app (the routers of each ``register_pages`` hook)."""
    router = APIRouter(include_in_schema=False)
    for _plugin, routers in results_by_plugin(plugin_manager().hook.register_pages):
        for page_router in routers:
            router.include_router(page_router)
    return router
