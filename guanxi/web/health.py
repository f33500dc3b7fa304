"""``/healthz``: is the app up and can it reach its app database (public, reveals nothing else)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from guanxi.web.state import State

router = APIRouter()


@router.get("/healthz", include_in_schema=False)
def health(state: State) -> Response:
    """``{"status": "ok"}``, or 503 with ``{"status": "unavailable"}`` when the app database does not answer."""
    try:
        with state.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return JSONResponse({"status": "unavailable"}, status_code=503)
    return JSONResponse({"status": "ok"})
