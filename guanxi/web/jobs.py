"""Jobs started and cancelled from the web app (pages and ``/v1``), with the role each kind needs.

A :class:`~guanxi.jobs.kinds.JobKind` names the permission needed to start it
(``import``, ``edit``, ``view``); the same permission is needed to cancel one of
its jobs. A kind whose permission is not one of :class:`Permission` is left to
admins (``manage_users``), so a typo in a plugin never opens a kind to everyone.

Guarantees of :func:`start_job`: the job is committed before the runtime is
woken, so the job thread finds it at once; file paths among the parameters
(``path``, ``mapping``, ``rules``, ``config``, also inside pipeline steps) must
lie inside ``DATA_DIR/uploads`` or ``DATA_DIR/exports`` — a web caller cannot make
the server read, write or remove any other file (the warehouse, the app database …). Raises :class:`PermissionDeniedError` (403),
:class:`~guanxi.jobs.errors.UnknownJobKindError` and the kind's
:class:`~guanxi.errors.ValidationFailedError` (422), before anything is queued.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from guanxi.appdb.roles import Permission
from guanxi.errors import PermissionDeniedError, ValidationFailedError
from guanxi.jobs import store
from guanxi.jobs.kinds import JobKind
from guanxi.jobs.registry import job_kind, job_kinds
from guanxi.jobs.tables import Job
from guanxi.web.auth import Principal
from guanxi.web.state import AppState

PATH_PARAMS = frozenset({"path", "mapping", "rules", "config"})
"""Parameters that name a file on the server; from the web they must lie in one of :data:`WEB_FOLDERS`."""
WEB_FOLDERS = ("uploads", "exports")
"""The folders of ``data_dir`` the web app's jobs may name files in."""


def permission_for(kind: JobKind | None) -> Permission:
    """The permission needed to start (and cancel) jobs of ``kind``; ``manage_users`` for an unknown one."""
    if kind is None:
        return Permission.MANAGE_USERS
    try:
        return Permission(kind.permission)
    except ValueError:
        return Permission.MANAGE_USERS


def may_start(principal: Principal, kind: JobKind | None) -> bool:
    return principal.can(permission_for(kind))


def owner_of(principal: Principal) -> str:
    """How a job names who started it: the user name, or ``api_key:<prefix>``."""
    return principal.name if principal.kind == "user" else principal.actor


def _require(principal: Principal, kind: JobKind | None, verb: str, name: str) -> None:
    if not may_start(principal, kind):
        needed = permission_for(kind).value.replace("_", " ")
        raise PermissionDeniedError(
            f"the role {principal.role.value!r} may not {verb} {name} jobs (it needs the {needed} permission)"
        )


def check_paths(params: Mapping[str, Any], data_dir: Path) -> None:
    """Raise :class:`ValidationFailedError` when a file parameter points outside :data:`WEB_FOLDERS`."""
    roots = [(data_dir / folder).resolve() for folder in WEB_FOLDERS]
    for key, value in params.items():
        if key in PATH_PARAMS and isinstance(value, str):
            target = Path(value).resolve()
            if not any(target.is_relative_to(root) for root in roots):
                raise ValidationFailedError(
                    f"{key}: files named through the web app must lie in "
                    f"{' or '.join(str(root) for root in roots)}"
                )
        elif key == "steps" and isinstance(value, list):
            for step in value:
                if isinstance(step, Mapping) and isinstance(step.get("params"), Mapping):
                    check_paths(step["params"], data_dir)


def start_job(
    state: AppState,
    session: Session,
    principal: Principal,
    kind_name: str,
    params: Mapping[str, Any],
    *,
    origin: str,
) -> Job:
    """Check, queue and commit a job of ``kind_name`` for ``principal``; wake the job thread. See the module docstring."""
    kind = job_kind(kind_name)
    _require(principal, kind, "start", kind.name)
    checked = kind.checked(params)
    check_paths(checked, state.settings.data_dir)
    job = store.submit(session, kind, checked, owner=owner_of(principal), origin=origin, now=state.clock())
    assert job is not None  # only slot-keyed submissions can return None
    session.commit()
    if state.runtime is not None:
        state.runtime.wake()
    return job


def cancel_job(state: AppState, session: Session, principal: Principal, job_id: int) -> Job:
    """Cancel a queued job or ask a running one to stop; needs the permission that starts its kind.

    Raises :class:`~guanxi.jobs.errors.JobNotFoundError`, :class:`PermissionDeniedError`
    or :class:`~guanxi.jobs.errors.JobFinishedError` (409, the job has ended).
    """
    job = store.get_job(session, job_id)
    _require(principal, job_kinds().get(job.kind), "cancel", job.kind)
    job = store.request_cancel(session, job_id, now=state.clock())
    session.commit()
    return job


__all__ = [
    "PATH_PARAMS",
    "WEB_FOLDERS",
    "cancel_job",
    "check_paths",
    "may_start",
    "owner_of",
    "permission_for",
    "start_job",
]
