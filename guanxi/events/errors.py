"""Errors of the event intake, each answered with the one JSON error shape.

Segment's clients treat a 400 as "do not send this again" and a 5xx as "retry
later", so a request the intake will never accept is a 400 and a spool it
cannot write right now is a 503::

    ValidationFailedError                    (guanxi.errors)
    └── EventInvalidError     event_invalid       400  every event of the request was rejected;
        │                                              the message names each one's index and field
        ├── BodyUnreadableError   body_unreadable 400  not JSON, not an object, bad gzip
        ├── EventTooLargeError    event_too_large 400  a single call over 32 KB
        └── BatchTooLargeError    batch_too_large 400  a batch over 500 KB
    GuanxiError
    └── SpoolUnavailableError spool_unavailable   503  the app database refused the write; retry

Unknown, malformed or revoked write keys are :class:`~guanxi.errors.AuthError`
(401); a key without the ``ingest`` scope is
:class:`~guanxi.errors.PermissionDeniedError` (403), both from
:func:`guanxi.appdb.api_keys.authenticate_api_key`.
"""

from __future__ import annotations

from guanxi.errors import GuanxiError, ValidationFailedError


class EventInvalidError(ValidationFailedError):
    code = "event_invalid"
    http_status = 400


class BodyUnreadableError(EventInvalidError):
    code = "body_unreadable"


class EventTooLargeError(EventInvalidError):
    code = "event_too_large"


class BatchTooLargeError(EventInvalidError):
    code = "batch_too_large"


class SpoolUnavailableError(GuanxiError):
    code = "spool_unavailable"
    http_status = 503
