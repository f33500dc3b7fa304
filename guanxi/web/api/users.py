"""``/v1/users``, ``/v1/api-keys`` and ``/v1/audit`` (the ``manage_users`` permission)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from guanxi.appdb import audit, users
from guanxi.appdb.api_keys import get_api_key, list_api_keys
from guanxi.web.api.schemas import ApiKeyPublic, AuditEntryPublic, UserCreate, UserPublic, UserUpdate
from guanxi.web.auth import CanManageUsers
from guanxi.web.state import DbSession, State

router = APIRouter(tags=["users"])


@router.get("/users", summary="List users")
def user_list(principal: CanManageUsers, session: DbSession) -> list[UserPublic]:
    """Every user, active first."""
    return [UserPublic.of(user) for user in users.list_users(session)]


@router.post("/users", status_code=201, summary="Create a user")
def create_user(body: UserCreate, principal: CanManageUsers, session: DbSession, state: State) -> UserPublic:
    """Create a user (audited)."""
    user = users.create_user(
        session,
        username=body.username,
        password=body.password,
        role=body.role,
        actor=principal.actor,
        now=state.clock(),
        display_name=body.display_name,
        locale=body.locale,
    )
    session.commit()
    return UserPublic.of(user)


@router.patch("/users/{username}", summary="Change a user's role or active flag")
def update_user(
    username: str, body: UserUpdate, principal: CanManageUsers, session: DbSession, state: State
) -> UserPublic:
    """Change a user's role and/or active flag (audited; the last active admin is protected)."""
    user = users.user_named(session, username)
    now = state.clock()
    if body.role is not None:
        users.set_role(session, user, body.role, actor=principal.actor, now=now)
    if body.active is False:
        users.deactivate(session, user, actor=principal.actor, now=now)
    elif body.active is True:
        users.reactivate(session, user, actor=principal.actor, now=now)
    session.commit()
    return UserPublic.of(user)


@router.get("/api-keys", summary="List API keys")
def keys(principal: CanManageUsers, session: DbSession) -> list[ApiKeyPublic]:
    """Every API key (prefixes only; secrets are never stored)."""
    return [ApiKeyPublic.of(key) for key in list_api_keys(session)]


@router.get("/api-keys/{prefix}", summary="One API key")
def key(prefix: str, principal: CanManageUsers, session: DbSession) -> ApiKeyPublic:
    return ApiKeyPublic.of(get_api_key(session, prefix=prefix))


@router.get("/audit", summary="Read the audit log")
def audit_log(
    principal: CanManageUsers,
    session: DbSession,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[AuditEntryPublic]:
    """Audit entries, newest first."""
    return [AuditEntryPublic.of(entry) for entry in audit.recent(session, limit=limit, offset=offset)]
