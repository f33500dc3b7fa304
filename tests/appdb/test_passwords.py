"""Passwords are kept only as salted argon2id hashes."""

from __future__ import annotations

import pytest

from guanxi.appdb.passwords import (
    DUMMY_HASH,
    check_password_rules,
    hash_password,
    needs_rehash,
    verify_password,
)
from guanxi.errors import GuanxiError


def test_hash_is_salted_argon2id_and_never_the_password() -> None:
    first, second = hash_password("correct horse"), hash_password("correct horse")
    assert first.startswith("$argon2id$")
    assert "correct horse" not in first
    assert first != second


def test_verify_accepts_the_password_and_refuses_others() -> None:
    stored = hash_password("correct horse")
    assert verify_password(stored, "correct horse")
    assert not verify_password(stored, "correct horsE")


def test_verify_is_false_for_a_malformed_hash() -> None:
    assert not verify_password("not-a-hash", "whatever1")


def test_dummy_hash_is_well_formed_and_current() -> None:
    assert not verify_password(DUMMY_HASH, "")
    assert not needs_rehash(DUMMY_HASH)


@pytest.mark.parametrize("password", ["short", "        ", "x" * 1025])
def test_unacceptable_passwords_are_refused(password: str) -> None:
    with pytest.raises(GuanxiError) as info:
        check_password_rules(password)
    assert info.value.code == "validation_failed"
