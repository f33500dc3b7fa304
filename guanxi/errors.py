"""The one error root of guanxi.

Every error a user can act on is a :class:`GuanxiError` with a stable ``code``
(a short snake_case string) and the HTTP status it answers with
(:attr:`GuanxiError.http_status`, carried by the class: no central map). The CLI
prints ``code: message``; the web layer answers ``http_status`` with one JSON
shape. A more specific cause may pass its own ``code=`` (``smtp_deferred``,
``file_unreadable`` …); the status stays the class's.

    GuanxiError                 guanxi_error        400
    ├── ConfigError             config_invalid      500   settings or a config file is wrong
    ├── ValidationFailedError   validation_failed   422   a value given by a person is malformed
    ├── NotFoundError           not_found           404   a customer, batch, preset … does not exist
    ├── AlreadyExistsError      already_exists      409   a user, segment … of that name exists
    ├── ConflictError           conflict            409   the action conflicts with the current state
    ├── AuthError               auth_failed         401   wrong credentials, missing session
    ├── PermissionDeniedError   permission_denied   403   role does not allow the action
    ├── RateLimitedError        rate_limited        429   too many attempts; try again later
    ├── WarehouseError          warehouse_error     500   the warehouse refused a statement
    ├── BackendUnsupportedError backend_unsupported 501   a backend lacks what a step needs
    └── ImportError_            import_failed       422   an import could not run at all
        ├── FileFormatError     file_unreadable     422   unknown format, undecodable bytes, empty file
        ├── MappingError        mapping_invalid     422   required columns missing, bad mapping file
        └── UnknownPresetError  preset_unknown      404   no such platform preset

Areas add their own subclasses in their own ``errors`` module, each tree drawn
there: :mod:`guanxi.appdb.errors` (``last_admin``), :mod:`guanxi.identity.errors`,
:mod:`guanxi.segments.errors` (``segment_in_use``, ``segment_archived``,
``segment_invalid``), :mod:`guanxi.models.errors` (``model_fit_failed``,
``points_insufficient``), :mod:`guanxi.marketing.errors` (delivery errors).

Row-level problems inside a readable file are *not* errors: those rows are
quarantined with a reason and the import goes on.
"""

from __future__ import annotations

from typing import ClassVar


class GuanxiError(Exception):
    """Root of every guanxi error; carries a machine-readable ``code`` and its ``http_status``."""

    code = "guanxi_error"
    http_status: ClassVar[int] = 400
    """The HTTP status the web layer answers with for this class (and every ``code=`` given to it)."""

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class ConfigError(GuanxiError):
    code = "config_invalid"
    http_status = 500


class ValidationFailedError(GuanxiError):
    code = "validation_failed"
    http_status = 422


class NotFoundError(GuanxiError):
    code = "not_found"
    http_status = 404


class AlreadyExistsError(GuanxiError):
    code = "already_exists"
    http_status = 409


class ConflictError(GuanxiError):
    code = "conflict"
    http_status = 409


class AuthError(GuanxiError):
    code = "auth_failed"
    http_status = 401


class PermissionDeniedError(GuanxiError):
    code = "permission_denied"
    http_status = 403


class RateLimitedError(GuanxiError):
    code = "rate_limited"
    http_status = 429


class WarehouseError(GuanxiError):
    code = "warehouse_error"
    http_status = 500


class BackendUnsupportedError(GuanxiError):
    code = "backend_unsupported"
    http_status = 501


class ImportError_(GuanxiError):  # noqa: N801 - trailing underscore avoids shadowing the builtin
    code = "import_failed"
    http_status = 422


class FileFormatError(ImportError_):
    code = "file_unreadable"


class MappingError(ImportError_):
    code = "mapping_invalid"


class UnknownPresetError(ImportError_):
    code = "preset_unknown"
    http_status = 404
