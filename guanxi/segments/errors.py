"""Errors of segment definitions (the spec errors live with the validation, :mod:`.validation`).

GuanxiError
├── ConfigError
│   └── SegmentSpecError        segment_invalid    422   a spec has problems (every one listed)
└── ConflictError
    ├── SegmentInUseError       segment_in_use     409   other segments refer to it
    └── SegmentArchivedError    segment_archived   409   it is archived and cannot be used or changed
"""

from __future__ import annotations

from guanxi.errors import ConflictError


class SegmentInUseError(ConflictError):
    """The segment cannot be archived or deleted while other segments refer to it."""

    code = "segment_in_use"


class SegmentArchivedError(ConflictError):
    """The segment is archived: it cannot be refreshed, edited or referred to."""

    code = "segment_archived"
