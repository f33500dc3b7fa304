"""Errors of the app database's own records (users, API keys).

GuanxiError
└── ConflictError           conflict     409
    └── LastAdminError      last_admin   409   the change would leave no active admin
"""

from __future__ import annotations

from guanxi.errors import ConflictError


class LastAdminError(ConflictError):
    """Demoting, deactivating or deleting this user would leave the app without an active admin."""

    code = "last_admin"
