"""Who may use guanxi: the ``users`` and ``api_keys`` tables.

A user signs in with a password (stored only as an argon2 hash); an API key
is a random token for programs (stored only as a SHA-256 digest, recognised by
its visible ``prefix``). Both carry a :class:`~guanxi.appdb.roles.Role`; a key
also carries its *scopes* (``api``: the ``/v1`` JSON API; ``ingest``: the
Segment-compatible event intake, see :mod:`guanxi.events`) and, for ingest
keys, the ``source`` its events are stored under.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Enum, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from guanxi.appdb.base import Base, UTCDateTime
from guanxi.appdb.roles import Role

LOCALES: tuple[str, ...] = ("zh-CN", "en")
"""Languages a user may choose for the interface."""


def role_type() -> Enum:
    """The column type of a role: its value as a short string, checked."""
    return Enum(
        Role,
        name="role",
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda roles: [role.value for role in roles],
        validate_strings=True,
    )


class User(Base):
    """A person who signs in to the web interface or runs the CLI as someone."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(role_type())
    locale: Mapped[str] = mapped_column(String(8))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    security_stamp: Mapped[str] = mapped_column(String(32))
    """Changes when the password, role or active flag changes; sessions carry it and die with it."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    def __repr__(self) -> str:
        return f"User(id={self.id!r}, username={self.username!r}, role={self.role.value!r})"


class ApiKey(Base):
    """A key for the ``/v1`` HTTP API, sent in the ``X-API-Key`` header."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    role: Mapped[Role] = mapped_column(role_type())
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    scopes: Mapped[str] = mapped_column(String(64), default="api", server_default="api")
    """Comma-separated scopes, in canonical order (``api``, ``ingest``, ``api,ingest``)."""
    source: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """For ``ingest`` keys: the ``source`` of the events it writes (``None``: the events default)."""

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def scope_set(self) -> frozenset[str]:
        """The key's scopes as a set."""
        return frozenset(part for part in self.scopes.split(",") if part)

    def __repr__(self) -> str:
        return f"ApiKey(id={self.id!r}, prefix={self.prefix!r}, role={self.role.value!r})"
