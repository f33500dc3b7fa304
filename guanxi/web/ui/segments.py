"""分群: the segment definitions, and one segment with its rule (in words and as YAML) and a live count.

Read-only pages (``view``); definitions are written through ``/v1/segments``
or ``guanxi segments``. The live count is as of today in ``GUANXI_TIMEZONE``
and writes nothing.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from guanxi import segments
from guanxi.errors import GuanxiError
from guanxi.segments.spec import KEY_PATTERN
from guanxi.web.auth import CanView
from guanxi.web.pages import locale_of, render
from guanxi.web.state import DbSession, State

router = APIRouter()
SegmentKey = Annotated[str, Path(pattern=KEY_PATTERN.pattern)]
SAMPLE = 20


@router.get("/segments")
def segment_list(request: Request, principal: CanView, session: DbSession, state: State) -> Response:
    rows = segments.list_segments(session)
    return render(request, state, "segments.html", {"segments": rows}, section="segments")


@router.get("/segments/{key}")
def segment(
    request: Request, key: SegmentKey, principal: CanView, session: DbSession, state: State
) -> Response:
    """One segment; a warehouse not ready for its rule shows why instead of a count."""
    row = segments.get_segment(session, key)
    as_of = state.clock().astimezone(state.settings.zone).date()
    preview: segments.Preview | None = None
    problem: str | None = None
    if not row.archived:
        try:
            with state.warehouse_connection() as con:
                preview = segments.preview(con, session, key, as_of=as_of, sample=SAMPLE)
        except GuanxiError as err:
            problem = err.message
    spec = segments.spec_of(row)
    context: dict[str, object] = {
        "s": row,
        "rule": segments.explain(spec, locale_of(request, state)),
        "spec_text": spec.to_yaml(),
        "preview": preview,
        "problem": problem,
        "as_of": as_of,
    }
    return render(request, state, "segment.html", context, section="segments")
