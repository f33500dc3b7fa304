"""The segments service: definitions in the app database, members in the warehouse.

Definitions are created, updated and archived here (each change audited in
the caller's transaction); the caller commits. Specs are validated with every
problem reported at once, including references to unknown or archived segments
and reference cycles. ``preview`` counts live without writing; ``refresh``
writes membership (idempotent per as-of date). Every date is an explicit
``as_of`` (the caller decides "today" in ``Settings.timezone``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import ibis.expr.types as ir
from ibis.backends import BaseBackend
from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.appdb.audit import record
from guanxi.errors import AlreadyExistsError, NotFoundError
from guanxi.progress import Progress, no_progress
from guanxi.segments.compiler import compile_spec
from guanxi.segments.errors import SegmentArchivedError, SegmentInUseError
from guanxi.segments.membership import RefreshResult, apply_refresh, current_members
from guanxi.segments.spec import KEY_PATTERN, SegmentSpec, references
from guanxi.segments.store import Segment
from guanxi.segments.validation import Problem, Resolver, SegmentSpecError, parse_spec

SAMPLE_COLUMNS = ("customer_id", "name", "gender", "province", "city")
"""Golden-record columns shown with a preview sample."""

EXPORT_COLUMNS = ("customer_id", "name", "phone", "email", "gender", "province", "city", "district")
"""Golden-record columns an export carries, after the membership columns."""


@dataclass(frozen=True)
class Preview:
    """A live count and the first members by customer id (nothing written)."""

    as_of: date
    count: int
    sample: list[dict[str, Any]]


def _check_key(key: str) -> None:
    if not KEY_PATTERN.match(key):
        problem = Problem(
            "key", "wrong_type", "use lower-case letters, digits, _ and -, at most 64 characters"
        )
        raise SegmentSpecError([problem], source=f"segment key {key!r}")


def resolver(session: Session) -> Resolver:
    """Looks up the spec of a live (not archived) segment by key."""

    def resolve(key: str) -> SegmentSpec | None:
        row = session.scalars(select(Segment).where(Segment.key == key, Segment.archived.is_(False))).first()
        return None if row is None else parse_spec(row.spec, source=f"segment {key!r}")

    return resolve


def get_segment(session: Session, key: str) -> Segment:
    """The definition called ``key`` (archived ones too); :class:`NotFoundError` when there is none."""
    row = session.scalars(select(Segment).where(Segment.key == key)).first()
    if row is None:
        raise NotFoundError(f"no segment {key!r}")
    return row


def spec_of(segment: Segment) -> SegmentSpec:
    """The stored spec of ``segment`` as a model."""
    return parse_spec(segment.spec, source=f"segment {segment.key!r}")


def list_segments(session: Session, *, include_archived: bool = False) -> list[Segment]:
    """Definitions ordered by key; archived ones only when asked."""
    query = select(Segment).order_by(Segment.key)
    if not include_archived:
        query = query.where(Segment.archived.is_(False))
    return list(session.scalars(query))


def create_segment(
    session: Session,
    key: str,
    spec: SegmentSpec | dict[str, Any],
    *,
    actor: str,
    now: datetime,
    name: str | None = None,
    description: str | None = None,
) -> Segment:
    """Add a definition. ``name``/``description`` default to the spec's, then to the key.

    Raises ``segment_invalid`` (every problem of key and spec) or
    ``already_exists`` (the key is taken, archived segments included).
    """
    _check_key(key)
    data = spec.to_data() if isinstance(spec, SegmentSpec) else spec
    parsed = parse_spec(data, key=key, resolve=resolver(session), source=f"segment {key!r}")
    if session.scalars(select(Segment.id).where(Segment.key == key)).first() is not None:
        raise AlreadyExistsError(f"a segment {key!r} already exists")
    row = Segment(
        key=key,
        name=name or parsed.name or key,
        description=description if description is not None else (parsed.description or ""),
        spec=parsed.to_data(),
        created_by=actor,
        updated_by=actor,
        created_at=now,
        updated_at=now,
        archived=False,
    )
    session.add(row)
    session.flush()
    record(session, actor=actor, action="segment.create", target=f"segment:{key}", now=now)
    return row


def update_segment(
    session: Session,
    key: str,
    *,
    actor: str,
    now: datetime,
    spec: SegmentSpec | dict[str, Any] | None = None,
    name: str | None = None,
    description: str | None = None,
) -> Segment:
    """Change a live definition's spec, name or description (validated like :func:`create_segment`)."""
    row = get_segment(session, key)
    if row.archived:
        raise SegmentArchivedError(f"segment {key!r} is archived")
    changed: list[str] = []
    if spec is not None:
        data = spec.to_data() if isinstance(spec, SegmentSpec) else spec
        row.spec = parse_spec(data, key=key, resolve=resolver(session), source=f"segment {key!r}").to_data()
        changed.append("spec")
    if name is not None:
        row.name = name
        changed.append("name")
    if description is not None:
        row.description = description
        changed.append("description")
    row.updated_by, row.updated_at = actor, now
    record(
        session,
        actor=actor,
        action="segment.update",
        target=f"segment:{key}",
        now=now,
        detail={"changed": changed},
    )
    return row


def archive_segment(session: Session, key: str, *, actor: str, now: datetime) -> Segment:
    """Archive a definition (idempotent): it is no longer listed, refreshed or referable.

    Raises ``segment_in_use`` when a live segment refers to it.
    """
    row = get_segment(session, key)
    if row.archived:
        return row
    users = [other.key for other in list_segments(session) if other.key != key and key in _references(other)]
    if users:
        raise SegmentInUseError(f"segment {key!r} is used by {', '.join(users)}")
    row.archived, row.archived_at = True, now
    row.updated_by, row.updated_at = actor, now
    record(session, actor=actor, action="segment.archive", target=f"segment:{key}", now=now)
    return row


def _references(segment: Segment) -> set[str]:
    return set(references(spec_of(segment)))


def compile_segment(con: BaseBackend, session: Session, key: str, *, as_of: date) -> ir.Table:
    """The live members of stored segment ``key`` as of ``as_of`` (an unexecuted Table)."""
    row = get_segment(session, key)
    return compile_spec(con, spec_of(row), as_of=as_of, resolve=resolver(session), key=key)


def preview(
    con: BaseBackend,
    session: Session,
    spec: SegmentSpec | dict[str, Any] | str,
    *,
    as_of: date,
    sample: int = 10,
) -> Preview:
    """Count the members of a stored segment (``spec`` = its key) or of an unsaved spec.

    Writes nothing. The sample is the first ``sample`` members by customer id
    with :data:`SAMPLE_COLUMNS`.
    """
    resolve = resolver(session)
    if isinstance(spec, str):
        members = compile_segment(con, session, spec, as_of=as_of)
    else:
        parsed = spec if isinstance(spec, SegmentSpec) else parse_spec(spec, resolve=resolve)
        members = compile_spec(con, parsed, as_of=as_of, resolve=resolve)
    count = int(members.count().to_pyarrow().as_py())
    customers = con.table("customers")
    rows = (
        members.join(customers, "customer_id").select(*SAMPLE_COLUMNS).order_by("customer_id").limit(sample)
    )
    return Preview(as_of=as_of, count=count, sample=rows.to_pyarrow().to_pylist())


def refresh(
    con: BaseBackend,
    session: Session,
    keys: Iterable[str] | None = None,
    *,
    as_of: date,
    now: datetime,
    progress: Progress | None = None,
) -> list[RefreshResult]:
    """Recompute members of ``keys`` (every live segment when None) as of ``as_of``.

    Writes ``segment_members`` and ``segment_membership`` and the definitions'
    last refresh fields (the caller commits the session). Idempotent for the
    same ``as_of``. Every key is checked before anything is written: an
    unknown key raises :class:`NotFoundError`, an archived one ``segment_archived``.
    ``progress`` is told ``(i, n, key)`` as the i-th of the n segments starts and
    ``(n, n, "done")`` after the last; it does not change the results.
    """
    rows = list_segments(session) if keys is None else [get_segment(session, key) for key in keys]
    archived = [row.key for row in rows if row.archived]
    if archived:
        raise SegmentArchivedError(f"segment {', '.join(archived)} is archived")
    report = progress or no_progress
    results = []
    for done, row in enumerate(rows):
        key = row.key
        report(done, len(rows), key)
        members = compile_segment(con, session, key, as_of=as_of)
        run_id = f"{as_of:%Y%m%d}-{uuid.uuid4().hex[:8]}"
        result = apply_refresh(con, key, members, as_of, run_id)
        row.last_refreshed_at, row.last_as_of, row.member_count = now, as_of, result.members
        results.append(result)
    report(len(rows), len(rows), "done")
    return results


def members(con: BaseBackend, key: str) -> ir.Table:
    """Segment ``key``'s current members (latest refresh) with golden-record columns, by customer id.

    Columns: segment_key, as_of, run_id, then :data:`EXPORT_COLUMNS`.
    """
    current = current_members(con, key)
    customers = con.table("customers")
    joined = current.join(customers, "customer_id")
    return joined.select("segment_key", "as_of", "run_id", *EXPORT_COLUMNS).order_by("customer_id")


def member_ids(con: BaseBackend, key: str) -> ir.Table:
    """Segment ``key``'s current member ids (no golden-record join)."""
    return current_members(con, key).select("customer_id")


__all__ = [
    "Preview",
    "archive_segment",
    "compile_segment",
    "create_segment",
    "get_segment",
    "list_segments",
    "member_ids",
    "members",
    "preview",
    "refresh",
    "resolver",
    "spec_of",
    "update_segment",
]
