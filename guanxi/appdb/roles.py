"""Roles and what each may do: the one permission matrix of guanxi.

The set of roles is fixed. Every web route and CLI command that changes or
reveals data checks one :class:`Permission` against this matrix:

=========  ====  ======  ====  ============
role       view  import  edit  manage_users
=========  ====  ======  ====  ============
admin      yes   yes     yes   yes
analyst    yes   yes     yes   no
marketer   yes   no      yes   no
sales      yes   no      yes   no
viewer     yes   no      no    no
=========  ====  ======  ====  ============

* ``view`` — read dashboards, import history, data quality, reports.
* ``import`` — upload files and run imports into the warehouse.
* ``edit`` — change business records: segments, campaigns, CRM records.
* ``manage_users`` — create users, change roles, deactivate, issue API keys,
  read the audit log.
"""

from __future__ import annotations

from enum import StrEnum

from guanxi.errors import ValidationFailedError


class Role(StrEnum):
    """The fixed set of roles, most powerful first."""

    ADMIN = "admin"
    ANALYST = "analyst"
    MARKETER = "marketer"
    SALES = "sales"
    VIEWER = "viewer"


class Permission(StrEnum):
    """An action a role may or may not take."""

    VIEW = "view"
    IMPORT = "import"
    EDIT = "edit"
    MANAGE_USERS = "manage_users"


PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.ANALYST: frozenset({Permission.VIEW, Permission.IMPORT, Permission.EDIT}),
    Role.MARKETER: frozenset({Permission.VIEW, Permission.EDIT}),
    Role.SALES: frozenset({Permission.VIEW, Permission.EDIT}),
    Role.VIEWER: frozenset({Permission.VIEW}),
}
"""Role → the permissions it grants (the matrix in the module docstring)."""


def allows(role: Role, permission: Permission) -> bool:
    """Whether ``role`` grants ``permission``. Pure."""
    return permission in PERMISSIONS[role]


def parse_role(value: str) -> Role:
    """The :class:`Role` named ``value`` (case-insensitive).

    Raises :class:`~guanxi.errors.ValidationFailedError` listing the valid roles.
    """
    try:
        return Role(value.strip().lower())
    except ValueError as err:
        valid = ", ".join(role.value for role in Role)
        raise ValidationFailedError(f"unknown role {value!r}; use one of: {valid}") from err
