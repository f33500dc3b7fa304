"""The one error root of guanxi.

Every error a user can act on is a :class:`GuanxiError` with a stable ``code``
(a short snake_case string). The CLI prints ``code: message``; the web layer maps
codes to HTTP status in one place (:data:`HTTP_STATUS`) and returns one JSON shape.

    GuanxiError
    ├── ConfigError             config_invalid          settings or a config file is wrong
    ├── NotFoundError           not_found               a customer, batch, preset … does not exist
    ├── AuthError               auth_failed             wrong credentials, missing session
    ├── PermissionDeniedError   permission_denied       role does not allow the action
    ├── WarehouseError          warehouse_error         the warehouse refused a statement
    ├── BackendUnsupportedError backend_unsupported     a backend lacks what a step needs
    └── ImportError_            import_failed           an import could not run at all
        ├── FileFormatError     file_unreadable         unknown format, undecodable bytes, empty file
        ├── MappingError        mapping_invalid         required columns missing, bad mapping file
        └── UnknownPresetError  preset_unknown          no such platform preset

Areas add their own subclasses, each drawn in its module: ``SegmentSpecError``
(a ``ConfigError``, ``segment_invalid``) in :mod:`guanxi.segments.validation`,
``MarketingError`` and its delivery errors in :mod:`guanxi.marketing.errors`.

Row-level problems inside a readable file are *not* errors: those rows are
quarantined with a reason and the import goes on.
"""

from __future__ import annotations


class GuanxiError(Exception):
    """Root of every guanxi error; carries a machine-readable ``code``."""

    code = "guanxi_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class ConfigError(GuanxiError):
    code = "config_invalid"


class NotFoundError(GuanxiError):
    code = "not_found"


class AuthError(GuanxiError):
    code = "auth_failed"


class PermissionDeniedError(GuanxiError):
    code = "permission_denied"


class WarehouseError(GuanxiError):
    code = "warehouse_error"


class BackendUnsupportedError(GuanxiError):
    code = "backend_unsupported"


class ImportError_(GuanxiError):  # noqa: N801 - trailing underscore avoids shadowing the builtin
    code = "import_failed"


class FileFormatError(ImportError_):
    code = "file_unreadable"


class MappingError(ImportError_):
    code = "mapping_invalid"


class UnknownPresetError(ImportError_):
    code = "preset_unknown"


HTTP_STATUS: dict[str, int] = {
    "config_invalid": 500,
    "segment_invalid": 422,
    "segment_in_use": 409,
    "segment_archived": 409,
    "not_found": 404,
    "auth_failed": 401,
    "permission_denied": 403,
    "warehouse_error": 500,
    "backend_unsupported": 501,
    "import_failed": 422,
    "file_unreadable": 422,
    "mapping_invalid": 422,
    "preset_unknown": 404,
    "validation_failed": 422,
    "already_exists": 409,
    "last_admin": 409,
    "rate_limited": 429,
    "points_insufficient": 409,
    "points_invalid": 422,
    "model_fit_failed": 422,
    "identity_key_ambiguous": 409,
    "customer_retired": 410,
}
"""HTTP status for each error code; anything unlisted is a 400."""
