"""Golden records of a few customers, rebuilt with the full resolve's survivorship.

An incremental run touches few customers: those new records joined or created,
and those whose records have new rows (an identify call with a new phone, a new
order's address). For exactly those customers this module reads every row of
every one of their records (sightings), and applies the same functions the full
resolve applies to all customers (:mod:`~guanxi.identity.golden`,
:mod:`~guanxi.identity.companies`), so a touched customer's ``customers``,
``customer_source_values`` and ``company_contacts`` rows are the ones a full
resolve would write. ``customer_companies`` is keyed by company, shared between
customers: the companies the touched customers name (before or now) are recounted
from every contact's ``company`` source values, which hold the same
observations the full resolve counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend

from guanxi.identity.companies import companies, company_contacts
from guanxi.identity.deltas import Delta, Scratch, changed_rows
from guanxi.identity.golden import (
    customer_base,
    customer_observations,
    golden_records,
    observations,
    source_values,
)
from guanxi.identity.records import record_activity
from guanxi.identity.rules import IdentityRules
from guanxi.identity.schema import COMPANIES, CONTACTS, SOURCE_VALUES
from guanxi.portable import within, without
from guanxi.tables import CUSTOMERS

KEYS = ["source", "source_customer_id"]


@dataclass(frozen=True)
class GoldenDeltas:
    """The changes to the four golden-record tables, and the customers recomputed (customer_id)."""

    deltas: tuple[Delta, ...]
    customers: ir.Table


def _companies_of(values: ir.Table) -> ir.Table:
    """``customer_source_values`` rows of the ``company`` field in the shape :func:`companies` reads."""
    rows = values.filter(values.field == "company")
    return rows.select(
        customer_id=rows.customer_id.cast("int64"),
        company=rows.value.cast("string"),
        observations=rows.observations.cast("int64"),
        first_observed_at=rows.first_observed_at.cast("timestamp"),
        last_observed_at=rows.last_observed_at.cast("timestamp"),
    )


def refresh_golden(
    con: BaseBackend,
    scratch: Scratch,
    members: ir.Table,
    rows: ir.Table,
    rules: IdentityRules,
    now: datetime,
) -> GoldenDeltas:
    """The deltas that bring the golden records of ``members``' customers up to date.

    ``members`` (a working table) holds every record — source, source_customer_id,
    customer_id — of each customer to refresh, as the identity map will be after the
    run; ``rows`` are sightings holding (at least) every row of those records.
    ``updated_at`` changes only for customers whose row changes.
    """
    touched = scratch.put("golden_customers", members.select("customer_id").distinct())
    rows = scratch.put("golden_sightings", within(rows, members, KEYS))
    observed = scratch.put("golden_observations", customer_observations(observations(rows), members, rules))
    activity = record_activity(rows)
    base = customer_base(members, activity)
    mine = ["customer_id"]
    previous = scratch.put("old_customers", within(con.table(CUSTOMERS.name), touched, mine))
    golden = scratch.put("golden_customers_rows", golden_records(base, observed, previous, rules, now))
    values = scratch.put("golden_values", source_values(observed, golden))
    contacts = scratch.put("golden_contacts", company_contacts(observed, golden))

    old_values = con.table(SOURCE_VALUES.name)
    old_contacts = con.table(CONTACTS.name)
    old_mine = scratch.put("old_contacts", within(old_contacts, touched, mine))
    old_values_mine = scratch.put("old_values", within(old_values, touched, mine))
    named = ibis.union(old_mine.select("company_key"), contacts.select("company_key"), distinct=True)
    keys = scratch.put("golden_company_keys", named)
    colleagues = within(old_contacts, keys, ["company_key"]).select("customer_id").distinct()
    company_values = old_values.filter(old_values.field == "company")
    others = without(within(company_values, colleagues, mine), touched, mine)
    counted = ibis.union(_companies_of(others), _companies_of(values))
    fresh = scratch.put("golden_companies", within(companies(counted), keys, ["company_key"]))
    deltas = (
        changed_rows(CUSTOMERS, mine, previous, golden),
        changed_rows(SOURCE_VALUES, mine, old_values_mine, values),
        changed_rows(CONTACTS, mine, old_mine, contacts),
        changed_rows(
            COMPANIES,
            ["company_key"],
            within(con.table(COMPANIES.name), keys, ["company_key"]),
            fresh,
        ),
    )
    return GoldenDeltas(deltas, touched)
