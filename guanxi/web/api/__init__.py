"""The ``/v1`` JSON API: the same services as the pages, for programs (``X-API-Key``)."""

from __future__ import annotations

from fastapi import APIRouter

from guanxi.web.api import customers, docs, imports, overview, quality, segments, users
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
    """Every ``/v1`` route."""
    router = APIRouter(prefix="/v1", responses=ERROR_RESPONSES)
    for module in (overview, customers, imports, quality, segments, users, docs):
        router.include_router(module.router)
    return router
