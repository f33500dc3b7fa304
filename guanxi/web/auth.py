"""Who is asking, and may they: the one dependency mechanism every route uses.

A request is authenticated by an ``X-API-Key`` header or by the signed
session cookie set at sign-in. :data:`CurrentUser` resolves the
:class:`Principal`; ``require(permission)`` gives an ``Annotated`` alias that
also checks the role (see :mod:`guanxi.appdb.roles`). Cookie sessions may only
*read* ``/v1`` (changes through the JSON API need an API key, so a cross-site
form can never drive it).

Raises :class:`AuthError` (401) when nobody is signed in or the session is no
longer valid, :class:`PermissionDeniedError` (403) when the role lacks the
permission.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any, TypeAlias

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from guanxi.appdb.accounts import User
from guanxi.appdb.api_keys import authenticate_api_key
from guanxi.appdb.roles import Permission, Role, allows
from guanxi.errors import AuthError, PermissionDeniedError
from guanxi.web.state import DbSession, State

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SESSION_USER = "uid"
SESSION_STAMP = "stamp"


@dataclass(frozen=True)
class Principal:
    """The signed-in user or the API key behind a request."""

    kind: str
    """``user`` or ``api_key``."""
    id: int
    name: str
    """Username, or the key's visible prefix."""
    display_name: str
    role: Role
    locale: str | None
    """The user's chosen language; ``None`` for an API key."""

    @property
    def actor(self) -> str:
        """How the audit log names this principal."""
        return f"{self.kind}:{self.name}"

    def can(self, permission: Permission) -> bool:
        return allows(self.role, permission)


def user_principal(user: User) -> Principal:
    return Principal("user", user.id, user.username, user.display_name, user.role, user.locale)


def sign_in(request: Request, user: User, csrf: str) -> None:
    """Start a fresh session for ``user`` (the old one is discarded, defeating session fixation)."""
    language = request.session.get("lang")
    request.session.clear()
    request.session.update({SESSION_USER: user.id, SESSION_STAMP: user.security_stamp, "csrf": csrf})
    if language is not None:
        request.session["lang"] = language


def sign_out(request: Request) -> None:
    request.session.clear()


def _from_api_key(key: str, session: Session, state: State) -> Principal:
    record = authenticate_api_key(session, key, now=state.clock())
    session.commit()
    return Principal("api_key", record.id, record.prefix, record.name, record.role, None)


def _from_session(request: Request, session: Session) -> Principal:
    user_id = request.session.get(SESSION_USER)
    if not isinstance(user_id, int):
        raise AuthError("sign in first, or send an API key in the X-API-Key header")
    user = session.get(User, user_id)
    if user is None or not user.active or user.security_stamp != request.session.get(SESSION_STAMP):
        request.session.clear()
        raise AuthError("your session has ended; sign in again")
    return user_principal(user)


def current_principal(request: Request, session: DbSession, state: State) -> Principal:
    """The principal behind this request, remembered on ``request.state.principal``."""
    key = request.headers.get("x-api-key")
    if key:
        principal = _from_api_key(key, session, state)
    else:
        principal = _from_session(request, session)
        if request.url.path.startswith("/v1") and request.method not in SAFE_METHODS:
            raise AuthError("changes through /v1 need an X-API-Key header")
    request.state.principal = principal
    return principal


CurrentUser = Annotated[Principal, Depends(current_principal)]
"""Any authenticated principal, whatever its role."""


@cache
def permission_check(permission: Permission) -> Callable[[Principal], Principal]:
    """The dependency that lets a principal through only with ``permission`` (one per permission)."""

    def check(principal: CurrentUser) -> Principal:
        if not principal.can(permission):
            raise PermissionDeniedError(
                f"the role {principal.role.value!r} may not {permission.value.replace('_', ' ')}"
            )
        return principal

    check.__name__ = f"require_{permission.value}"
    check.__qualname__ = check.__name__
    check.permission = permission  # type: ignore[attr-defined]
    return check


def require(permission: Permission) -> Any:
    """An ``Annotated[Principal, …]`` alias for route parameters that need ``permission``."""
    return Annotated[Principal, Depends(permission_check(permission))]


CanView: TypeAlias = Annotated[Principal, Depends(permission_check(Permission.VIEW))]
CanImport: TypeAlias = Annotated[Principal, Depends(permission_check(Permission.IMPORT))]
CanEdit: TypeAlias = Annotated[Principal, Depends(permission_check(Permission.EDIT))]
CanManageUsers: TypeAlias = Annotated[Principal, Depends(permission_check(Permission.MANAGE_USERS))]
