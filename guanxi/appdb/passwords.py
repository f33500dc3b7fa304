"""Password hashing with argon2id (argon2-cffi's recommended parameters).

Plain passwords are never stored or logged; only the encoded hash (which names
its own algorithm and parameters) is kept.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from guanxi.errors import ValidationFailedError

MIN_LENGTH = 8
MAX_LENGTH = 1024

_HASHER = PasswordHasher()


def check_password_rules(password: str) -> None:
    """Raise :class:`~guanxi.errors.ValidationFailedError` unless the password is acceptable.

    Acceptable: 8 to 1024 characters, not only whitespace.
    """
    if len(password) < MIN_LENGTH or not password.strip():
        raise ValidationFailedError(f"the password must have at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise ValidationFailedError(f"the password must have at most {MAX_LENGTH} characters")


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (salted: two calls give different hashes)."""
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``password_hash``. Never raises for a wrong or malformed hash."""
    try:
        return _HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with weaker parameters than the current ones."""
    try:
        return _HASHER.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


DUMMY_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHRzb21lc2FsdA$070twxXNtUuBoEHTdAREtm6Ezv0fDsG7MOS06OLZdRM"
)
"""A well-formed hash no password is known for; verified against when a username is unknown, so
the answer takes as long as for a known user."""
