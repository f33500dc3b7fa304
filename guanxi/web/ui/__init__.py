"""The server-rendered pages, one router per page family."""

from __future__ import annotations

from fastapi import APIRouter

from guanxi.web.ui import customers, dashboard, imports, preferences, quality, segments, session, users


def ui_router() -> APIRouter:
    """Every HTML route of the app."""
    router = APIRouter(include_in_schema=False)
    for module in (session, preferences, dashboard, customers, imports, quality, segments, users):
        router.include_router(module.router)
    return router
