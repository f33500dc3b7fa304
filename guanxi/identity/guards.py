"""Guards against over-merging: identifiers that must never link records.

An identifier is *flagged* (and excluded from linking) when

* ``shared``: more than ``Settings.shared_identifier_limit`` records carry it — a
  shop's own phone typed into every order, a courier's number, a team inbox;
* ``placeholder``: it is a known dummy value (``IdentityRules.placeholder_values``);
* ``blocked``: someone put it on the block list (:mod:`guanxi.identity.blocklist`).

Flags are computed afresh from the raw tables on every run, so an identifier
that falls back under the limit links again. Only linking kinds are checked:
masked phones never link anyway.
"""

from __future__ import annotations

from datetime import datetime

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend

from guanxi.config import Settings
from guanxi.identity.identifiers import record_identifiers
from guanxi.identity.rules import IdentityRules, load_rules, rules_path
from guanxi.identity.schema import BLOCKLIST, IDENTIFIER_FLAGS, ensure_identity_tables
from guanxi.portable import without


def identifier_record_counts(identifiers: ir.Table, rules: IdentityRules) -> ir.Table:
    """kind, value, record_count for every linking identifier (``identifiers`` as from
    :func:`~guanxi.identity.identifiers.record_identifiers`: one row per record and value)."""
    linking = identifiers.filter(identifiers.kind.isin(rules.linking_kinds()))
    return linking.group_by(["kind", "value"]).agg(record_count=linking.count().cast("int64"))


def shared_identifiers(con: BaseBackend, settings: Settings, rules: IdentityRules | None = None) -> ir.Table:
    """Identifiers carried by more records than ``settings.shared_identifier_limit``.

    Columns: kind, value, record_count; largest first. Reads the raw tables
    directly, so it works before any resolve run (the data-quality report uses
    it). Only linking kinds are listed. Nothing is executed or written.
    """
    chosen = rules if rules is not None else load_rules(rules_path(settings))
    counts = identifier_record_counts(record_identifiers(con, chosen), chosen)
    shared = counts.filter(counts.record_count > settings.shared_identifier_limit)
    return shared.order_by([ibis.desc("record_count"), "kind", "value"])


def _placeholders(rules: IdentityRules) -> ir.Table:
    rows = [(kind, value) for kind, values in sorted(rules.placeholder_values.items()) for value in values]
    return ibis.memtable(
        {"kind": [k for k, _ in rows], "value": [v for _, v in rows]},
        schema={"kind": "string", "value": "string"},
    )


def identifier_flags(
    con: BaseBackend,
    settings: Settings,
    counts: ir.Table,
    rules: IdentityRules,
    now: datetime,
) -> ir.Table:
    """The ``identity_identifier_flags`` rows for this run (one per identifier and reason).

    ``counts`` is :func:`identifier_record_counts` of the run's identifiers;
    blocked values are flagged even when no record carries them (record_count 0).
    """
    ensure_identity_tables(con)
    stamp = ibis.literal(now, type="timestamp")
    shared = counts.filter(counts.record_count > settings.shared_identifier_limit).select(
        "kind", "value", reason=ibis.literal("shared"), record_count="record_count"
    )
    placeholder_values = _placeholders(rules)
    placeholders = counts.join(placeholder_values, ["kind", "value"]).select(
        "kind", "value", reason=ibis.literal("placeholder"), record_count="record_count"
    )
    blocklist = con.table(BLOCKLIST.name)
    blocked = blocklist.left_join(counts, ["kind", "value"]).select(
        kind=blocklist.kind,
        value=blocklist.value,
        reason=ibis.literal("blocked"),
        record_count=ibis.coalesce(counts.record_count, 0).cast("int64"),
    )
    flags = ibis.union(shared, placeholders, blocked, distinct=True)
    return flags.mutate(flagged_at=stamp).select(*IDENTIFIER_FLAGS.columns).cast(IDENTIFIER_FLAGS.schema)


def linking_identifiers(identifiers: ir.Table, flags: ir.Table, rules: IdentityRules) -> ir.Table:
    """The identifiers that link: linking kinds, not flagged for any reason."""
    linking = identifiers.filter(identifiers.kind.isin(rules.linking_kinds()))
    return without(linking, flags, ["kind", "value"])
