"""The permission matrix: documented, complete, and what each role may do."""

from __future__ import annotations

import pytest

from guanxi.appdb import roles
from guanxi.appdb.roles import PERMISSIONS, Permission, Role, allows, parse_role
from guanxi.errors import GuanxiError


def documented_matrix() -> dict[Role, frozenset[Permission]]:
    """The table in the module docstring, read back."""
    lines = [line.split() for line in (roles.__doc__ or "").splitlines()]
    header = next(line for line in lines if line[:1] == ["role"])
    columns = [Permission(name) for name in header[1:]]
    table: dict[Role, frozenset[Permission]] = {}
    for line in lines:
        if line and line[0] in {role.value for role in Role}:
            table[Role(line[0])] = frozenset(
                p for p, cell in zip(columns, line[1:], strict=True) if cell == "yes"
            )
    return table


def test_documented_matrix_is_the_enforced_matrix() -> None:
    assert documented_matrix() == PERMISSIONS


def test_every_role_has_an_entry_and_may_view() -> None:
    assert set(PERMISSIONS) == set(Role)
    assert all(allows(role, Permission.VIEW) for role in Role)


@pytest.mark.parametrize(
    ("role", "permission", "expected"),
    [
        (Role.ADMIN, Permission.MANAGE_USERS, True),
        (Role.ANALYST, Permission.IMPORT, True),
        (Role.ANALYST, Permission.MANAGE_USERS, False),
        (Role.MARKETER, Permission.IMPORT, False),
        (Role.SALES, Permission.EDIT, True),
        (Role.VIEWER, Permission.EDIT, False),
        (Role.VIEWER, Permission.IMPORT, False),
    ],
)
def test_allows_follows_the_matrix(role: Role, permission: Permission, expected: bool) -> None:
    assert allows(role, permission) is expected


def test_parse_role_accepts_any_case_and_lists_valid_roles_when_unknown() -> None:
    assert parse_role(" Analyst ") is Role.ANALYST
    with pytest.raises(GuanxiError, match="admin, analyst, marketer, sales, viewer") as info:
        parse_role("owner")
    assert info.value.code == "validation_failed"
