"""The manual block list: identifier values that must never link records.

Entries take effect on the next resolve run (they are flagged ``blocked`` and
excluded like shared identifiers). Values are stored canonical, so
``138 0013 8000`` and ``+8613800138000`` are the same entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend

from guanxi.config import Settings
from guanxi.errors import NotFoundError
from guanxi.identity.clock import wall_clock
from guanxi.identity.errors import IdentityInputError
from guanxi.identity.keys import normalize_identifier
from guanxi.identity.rules import IdentityRules
from guanxi.identity.schema import BLOCKLIST, ensure_identity_tables
from guanxi.portable import replace_table


@dataclass(frozen=True)
class BlockEntry:
    """One block-list entry."""

    kind: str
    value: str
    reason: str
    added_by: str
    added_at: datetime


def _checked(kind: str, value: str, settings: Settings, rules: IdentityRules) -> str:
    if kind not in rules.kinds():
        raise IdentityInputError(f"unknown identifier kind {kind!r}; known kinds: {', '.join(rules.kinds())}")
    return normalize_identifier(kind, value, settings.default_region)


def block_add(
    con: BaseBackend,
    settings: Settings,
    kind: str,
    value: str,
    *,
    reason: str,
    actor: str,
    now: datetime,
    rules: IdentityRules | None = None,
) -> BlockEntry:
    """Add an identifier to the block list; returns the stored entry.

    Idempotent: adding a value already listed returns the existing entry
    unchanged. Raises :class:`IdentityInputError` for an unknown kind or an
    unreadable phone / e-mail.
    """
    ensure_identity_tables(con)
    canonical = _checked(kind, value, settings, rules or IdentityRules())
    table = con.table(BLOCKLIST.name)
    existing = table.filter(table.kind == kind, table.value == canonical).to_pyarrow().to_pylist()
    if existing:
        return BlockEntry(**existing[0])
    entry = BlockEntry(kind, canonical, reason, actor, wall_clock(now, settings))
    con.insert(BLOCKLIST.name, ibis.memtable([entry.__dict__], schema=BLOCKLIST.schema))
    return entry


def block_list(con: BaseBackend) -> list[BlockEntry]:
    """Every block-list entry, by kind then value."""
    ensure_identity_tables(con)
    table = con.table(BLOCKLIST.name).order_by(["kind", "value"])
    return [BlockEntry(**row) for row in table.to_pyarrow().to_pylist()]


def blocklist_table(con: BaseBackend) -> ir.Table:
    """The block list as an Ibis table."""
    ensure_identity_tables(con)
    return con.table(BLOCKLIST.name)


def block_remove(
    con: BaseBackend,
    settings: Settings,
    kind: str,
    value: str,
    *,
    rules: IdentityRules | None = None,
) -> BlockEntry:
    """Remove an entry; returns it. Raises :class:`NotFoundError` when it is not listed."""
    ensure_identity_tables(con)
    canonical = _checked(kind, value, settings, rules or IdentityRules())
    table = con.table(BLOCKLIST.name)
    matches = table.filter(table.kind == kind, table.value == canonical).to_pyarrow().to_pylist()
    if not matches:
        raise NotFoundError(f"{kind} {canonical} is not on the block list (see `guanxi identity block list`)")
    keep = table.filter(~((table.kind == kind) & (table.value == canonical)))
    replace_table(con, BLOCKLIST.name, keep)
    return BlockEntry(**matches[0])
