"""用户: the administration page (admin only): users, roles, API keys, the audit log.

Every change is audited in the same transaction (see :mod:`guanxi.appdb.users`).
A new API key is shown once, in the response to the request that issued it,
and never stored anywhere in clear.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from guanxi.appdb import api_keys, audit, users
from guanxi.appdb.accounts import LOCALES
from guanxi.appdb.audit import AuditEntry
from guanxi.appdb.roles import PERMISSIONS, Permission, parse_role
from guanxi.errors import GuanxiError
from guanxi.web.auth import CanManageUsers
from guanxi.web.batches import Page
from guanxi.web.csrf import CsrfChecked
from guanxi.web.pages import flash, render
from guanxi.web.state import AppState, DbSession, State

router = APIRouter()
AUDIT_PER_PAGE = 50


def users_page(
    request: Request,
    state: AppState,
    session: Session,
    *,
    issued: api_keys.IssuedKey | None = None,
    form: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    context = {
        "users": users.list_users(session),
        "keys": api_keys.list_api_keys(session),
        "audit": audit.recent(session, limit=20),
        "issued": issued,
        "locales": LOCALES,
        "matrix": PERMISSIONS,
        "permissions": list(Permission),
        "form": form or {},
    }
    return render(request, state, "users.html", context, section="users", status_code=status_code)


def done(request: Request, key: str, **params: Any) -> Response:
    flash(request, "ok", key, **params)
    return RedirectResponse("/users", status_code=303)


def failed(request: Request, err: GuanxiError) -> Response:
    flash(request, "error", "users.failed", code=err.code, message=err.message)
    return RedirectResponse("/users", status_code=303)


@router.get("/users")
def user_list(request: Request, principal: CanManageUsers, state: State, session: DbSession) -> Response:
    return users_page(request, state, session)


@router.post("/users")
def create(
    request: Request,
    principal: CanManageUsers,
    _csrf: CsrfChecked,
    state: State,
    session: DbSession,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    role: Annotated[str, Form()],
    display_name: Annotated[str, Form(max_length=128)] = "",
    locale: Annotated[str, Form()] = "zh-CN",
) -> Response:
    try:
        user = users.create_user(
            session,
            username=username,
            password=password,
            role=parse_role(role),
            actor=principal.actor,
            now=state.clock(),
            display_name=display_name,
            locale=locale,
        )
        session.commit()
    except GuanxiError as err:
        session.rollback()
        flash(request, "error", "users.failed", code=err.code, message=err.message)
        form = {"username": username, "display_name": display_name, "role": role, "locale": locale}
        return users_page(request, state, session, form=form, status_code=422)
    return done(request, "users.created", username=user.username)


def _change(request: Request, session: Session, change: Any, key: str, **params: Any) -> Response:
    try:
        change()
        session.commit()
    except GuanxiError as err:
        session.rollback()
        return failed(request, err)
    return done(request, key, **params)


@router.post("/users/{user_id}/role")
def change_role(
    request: Request,
    principal: CanManageUsers,
    _csrf: CsrfChecked,
    state: State,
    session: DbSession,
    user_id: int,
    role: Annotated[str, Form()],
) -> Response:
    user = users.get_user(session, user_id)
    return _change(
        request,
        session,
        lambda: users.set_role(session, user, parse_role(role), actor=principal.actor, now=state.clock()),
        "users.role_changed",
        username=user.username,
    )


@router.post("/users/{user_id}/deactivate")
def deactivate(
    request: Request,
    principal: CanManageUsers,
    _csrf: CsrfChecked,
    state: State,
    session: DbSession,
    user_id: int,
) -> Response:
    user = users.get_user(session, user_id)
    return _change(
        request,
        session,
        lambda: users.deactivate(session, user, actor=principal.actor, now=state.clock()),
        "users.deactivated",
        username=user.username,
    )


@router.post("/users/{user_id}/reactivate")
def reactivate(
    request: Request,
    principal: CanManageUsers,
    _csrf: CsrfChecked,
    state: State,
    session: DbSession,
    user_id: int,
) -> Response:
    user = users.get_user(session, user_id)
    return _change(
        request,
        session,
        lambda: users.reactivate(session, user, actor=principal.actor, now=state.clock()),
        "users.reactivated",
        username=user.username,
    )


@router.post("/users/api-keys")
def issue_key(
    request: Request,
    principal: CanManageUsers,
    _csrf: CsrfChecked,
    state: State,
    session: DbSession,
    name: Annotated[str, Form(max_length=128)],
    role: Annotated[str, Form()],
) -> Response:
    """Issue a key and show it once (not via a redirect: the secret never enters the session cookie)."""
    creator = users.get_user(session, principal.id) if principal.kind == "user" else None
    try:
        issued = api_keys.issue_api_key(
            session,
            name=name,
            role=parse_role(role),
            actor=principal.actor,
            now=state.clock(),
            created_by=creator,
        )
        session.commit()
    except GuanxiError as err:
        session.rollback()
        return failed(request, err)
    response = users_page(request, state, session, issued=issued)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/users/api-keys/{key_id}/revoke")
def revoke_key(
    request: Request,
    principal: CanManageUsers,
    _csrf: CsrfChecked,
    state: State,
    session: DbSession,
    key_id: int,
) -> Response:
    record = api_keys.get_api_key(session, key_id=key_id)
    return _change(
        request,
        session,
        lambda: api_keys.revoke_api_key(session, record, actor=principal.actor, now=state.clock()),
        "users.key_revoked",
        prefix=record.prefix,
    )


def audit_page(session: Session, page: int) -> Page[AuditEntry]:
    total = int(session.scalar(select(func.count()).select_from(AuditEntry)) or 0)
    entries = audit.recent(session, limit=AUDIT_PER_PAGE, offset=(page - 1) * AUDIT_PER_PAGE)
    return Page(entries, page, AUDIT_PER_PAGE, total)


@router.get("/audit")
def audit_log(
    request: Request,
    principal: CanManageUsers,
    state: State,
    session: DbSession,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    return render(request, state, "audit.html", {"entries": audit_page(session, page)}, section="users")
