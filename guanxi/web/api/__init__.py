"""The ``/v1`` JSON API: the same services as the pages, for programs (``X-API-Key``)."""

from __future__ import annotations

from fastapi import APIRouter

from guanxi.plugins import plugin_manager, results_by_plugin
from guanxi.web.api.schemas import ErrorBody

ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in {
        401: "Not signed in, or the API key is unknown or revoked",
        403: "The role lacks the permission",
        404: "Not found",
        422: "Invalid input",
    }.items()
}


def api_router() -> APIRouter:
    """Every ``/v1`` route: the routers of each ``register_api_routes`` hook, built-ins first."""
    router = APIRouter(prefix="/v1", responses=ERROR_RESPONSES)
    for _plugin, routers in results_by_plugin(plugin_manager().hook.register_api_routes):
        for api in routers:
            router.include_router(api)
    return router
