"""The JSON shapes of the ``/v1`` API (``<Entity>Create/Update/Public``)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from guanxi.appdb.accounts import ApiKey, User
from guanxi.appdb.audit import AuditEntry
from guanxi.appdb.roles import Role


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    """Every error response: ``{"error": {"code": …, "message": …}}``."""

    error: ErrorDetail


class PrincipalPublic(BaseModel):
    kind: str
    name: str
    display_name: str
    role: Role
    permissions: list[str]


class UserPublic(BaseModel):
    id: int
    username: str
    display_name: str
    role: Role
    locale: str
    active: bool
    created_at: datetime
    last_login_at: datetime | None

    @classmethod
    def of(cls, user: User) -> UserPublic:
        return cls(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            role=user.role,
            locale=user.locale,
            active=user.active,
            created_at=user.created_at,
            last_login_at=user.last_login_at,
        )


class UserCreate(BaseModel):
    username: str = Field(max_length=64)
    password: str = Field(max_length=1024)
    role: Role
    display_name: str = Field("", max_length=128)
    locale: str = "zh-CN"


class UserUpdate(BaseModel):
    """Fields left out are not changed."""

    role: Role | None = None
    active: bool | None = None


class ApiKeyPublic(BaseModel):
    id: int
    name: str
    prefix: str
    role: Role
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, key: ApiKey) -> ApiKeyPublic:
        return cls(
            id=key.id,
            name=key.name,
            prefix=key.prefix,
            role=key.role,
            created_at=key.created_at,
            last_used_at=key.last_used_at,
            revoked_at=key.revoked_at,
        )


class AuditEntryPublic(BaseModel):
    at: datetime
    actor: str
    action: str
    target: str
    detail: dict[str, Any]

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditEntryPublic:
        return cls(
            at=entry.at, actor=entry.actor, action=entry.action, target=entry.target, detail=entry.detail
        )


class MonthPublic(BaseModel):
    month: date
    orders: int
    paid_revenue: Decimal


class OverviewPublic(BaseModel):
    customer_records: int
    customers: int | None
    orders: int
    paid_revenue: Decimal
    currency: str
    tickets: int
    events: int
    orders_per_month: list[MonthPublic]


class PagePublic(BaseModel):
    page: int
    per_page: int
    total: int
    pages: int
    items: list[dict[str, Any]]


class BatchDetailPublic(BaseModel):
    batch: dict[str, Any]
    quarantine: PagePublic


class HealthPublic(BaseModel):
    status: str
