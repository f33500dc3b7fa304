"""Errors of identity resolution (all :class:`~guanxi.errors.GuanxiError`).

GuanxiError
├── IdentityInputError      validation_failed      422  a key, identifier or record given by a person is malformed
├── AmbiguousKeyError       identity_key_ambiguous 409  a phone or e-mail belongs to several customers
└── CustomerRetiredError    customer_retired       410  a customer id was split; its successors are named
"""

from __future__ import annotations

from guanxi.errors import ConflictError, GuanxiError, ValidationFailedError


class IdentityInputError(ValidationFailedError):
    code = "validation_failed"


class AmbiguousKeyError(ConflictError):
    """The key matches several customers; ``candidates`` lists their ids (smallest first)."""

    code = "identity_key_ambiguous"

    def __init__(self, message: str, candidates: list[int]) -> None:
        super().__init__(message)
        self.candidates = candidates


class CustomerRetiredError(GuanxiError):
    """The customer id no longer exists because it was split; ``successors`` are the parts."""

    code = "customer_retired"
    http_status = 410

    def __init__(self, message: str, successors: list[int]) -> None:
        super().__init__(message)
        self.successors = successors
