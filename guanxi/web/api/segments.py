"""``/v1/segments``: segment definitions, and live counts without writing.

Reading needs ``view``; creating, changing and archiving need ``edit``
(analyst, marketer, sales, admin). An invalid spec answers
``segment_invalid`` with every problem in the message. A definition carries
its ``rule`` in words in every language (``zh-CN``, ``en``) beside the
user-written ``description``. Without ``as_of`` a
preview counts as of today in ``GUANXI_TIMEZONE``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from guanxi import segments
from guanxi.segments.spec import KEY_PATTERN
from guanxi.segments.store import Segment
from guanxi.web.auth import CanEdit, CanView
from guanxi.web.state import DbSession, State

router = APIRouter(tags=["segments"])
SegmentKey = Annotated[str, Path(pattern=KEY_PATTERN.pattern)]
Sample = Annotated[int, Query(ge=0, le=100)]


class SegmentPublic(BaseModel):
    """A definition with the outcome of its latest refresh."""

    key: str
    name: str
    description: str
    spec: dict[str, Any]
    rule: dict[str, str] = Field(
        description='The rule in words, per language: {"zh-CN": …, "en": …} (lines of an indented list).'
    )
    created_by: str
    updated_by: str
    created_at: datetime
    updated_at: datetime
    archived: bool
    last_as_of: date | None
    member_count: int | None

    @classmethod
    def of(cls, row: Segment) -> SegmentPublic:
        return cls(
            key=row.key,
            name=row.name,
            description=row.description,
            spec=row.spec,
            rule=segments.describe_all(segments.spec_of(row)),
            created_by=row.created_by,
            updated_by=row.updated_by,
            created_at=row.created_at,
            updated_at=row.updated_at,
            archived=row.archived,
            last_as_of=row.last_as_of,
            member_count=row.member_count,
        )


class SegmentCreate(BaseModel):
    """A new definition; ``spec`` is the DSL as JSON (``{"where": …}``)."""

    key: str = Field(pattern=KEY_PATTERN.pattern)
    spec: dict[str, Any]
    name: str | None = Field(default=None, max_length=128)
    description: str | None = None


class SegmentUpdate(BaseModel):
    spec: dict[str, Any] | None = None
    name: str | None = Field(default=None, max_length=128)
    description: str | None = None


class PreviewRequest(BaseModel):
    """An unsaved spec to count."""

    spec: dict[str, Any]
    as_of: date | None = None
    sample: int = Field(default=10, ge=0, le=100)


class PreviewPublic(BaseModel):
    as_of: date
    count: int
    sample: list[dict[str, Any]]

    @classmethod
    def of(cls, preview: segments.Preview) -> PreviewPublic:
        return cls(as_of=preview.as_of, count=preview.count, sample=preview.sample)


def _today(state: State) -> date:
    return state.clock().astimezone(state.settings.zone).date()


@router.get("/segments", summary="List segments")
def segment_list(
    principal: CanView, session: DbSession, archived: Annotated[bool, Query()] = False
) -> list[SegmentPublic]:
    """Definitions by key; archived ones only with ``archived=true``."""
    return [SegmentPublic.of(row) for row in segments.list_segments(session, include_archived=archived)]


@router.post("/segments", status_code=201, summary="Create a segment")
def create_segment(
    body: SegmentCreate, principal: CanEdit, session: DbSession, state: State
) -> SegmentPublic:
    """Validate and save a definition (audited)."""
    row = segments.create_segment(
        session,
        body.key,
        body.spec,
        actor=principal.actor,
        now=state.clock(),
        name=body.name,
        description=body.description,
    )
    session.commit()
    return SegmentPublic.of(row)


@router.post("/segments/preview", summary="Count an unsaved spec")
def preview_spec(body: PreviewRequest, principal: CanView, session: DbSession, state: State) -> PreviewPublic:
    """The live member count and a sample of an unsaved spec; nothing is written."""
    with state.warehouse_connection() as con:
        result = segments.preview(
            con, session, body.spec, as_of=body.as_of or _today(state), sample=body.sample
        )
    return PreviewPublic.of(result)


@router.get("/segments/{key}", summary="One segment")
def segment(key: SegmentKey, principal: CanView, session: DbSession) -> SegmentPublic:
    return SegmentPublic.of(segments.get_segment(session, key))


@router.patch("/segments/{key}", summary="Change a segment")
def update_segment(
    key: SegmentKey, body: SegmentUpdate, principal: CanEdit, session: DbSession, state: State
) -> SegmentPublic:
    """Change the spec, name or description of a live segment (audited)."""
    row = segments.update_segment(
        session,
        key,
        actor=principal.actor,
        now=state.clock(),
        spec=body.spec,
        name=body.name,
        description=body.description,
    )
    session.commit()
    return SegmentPublic.of(row)


@router.post("/segments/{key}/archive", summary="Archive a segment")
def archive_segment(key: SegmentKey, principal: CanEdit, session: DbSession, state: State) -> SegmentPublic:
    """Archive a segment (idempotent); refused while another live segment refers to it."""
    row = segments.archive_segment(session, key, actor=principal.actor, now=state.clock())
    session.commit()
    return SegmentPublic.of(row)


@router.get("/segments/{key}/preview", summary="Count a saved segment")
def preview_segment(
    key: SegmentKey,
    principal: CanView,
    session: DbSession,
    state: State,
    as_of: Annotated[date | None, Query()] = None,
    sample: Sample = 10,
) -> PreviewPublic:
    """The live member count and a sample of a saved segment; nothing is written."""
    with state.warehouse_connection() as con:
        result = segments.preview(con, session, key, as_of=as_of or _today(state), sample=sample)
    return PreviewPublic.of(result)
