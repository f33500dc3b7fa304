"""Identity resolution: one stable customer id per real person, and Customer 360.

Public API (everything takes an Ibis backend from :func:`guanxi.warehouse.connect`
and the :class:`~guanxi.config.Settings`):

* :func:`resolve` — raw tables → ``identity_map`` + ``customers`` (golden records);
* :func:`resolve_incremental` — only the records that arrived since the last run, merges
  and splits left to the next :func:`resolve` (:class:`IncrementalReport`);
* :func:`customer_360` — everything about one customer, by id, phone or e-mail;
* :func:`merge` / :func:`unmerge` — a person's decisions, kept by every later run;
* :func:`review_queue` / :func:`decide_reviews` — the probabilistic grey zone;
* :func:`block_add` / :func:`block_list` / :func:`block_remove` — the block list;
* :func:`shared_identifiers` — over-shared identifiers, for the quality report.

How it works: docs/identity.md; why: docs/adr/0002-identity-graph.md.
"""

from __future__ import annotations

from guanxi.identity.blocklist import BlockEntry, block_add, block_list, block_remove
from guanxi.identity.customer360 import Customer360, TimelineEntry, customer_360, find_customer
from guanxi.identity.errors import AmbiguousKeyError, CustomerRetiredError, IdentityInputError
from guanxi.identity.guards import shared_identifiers
from guanxi.identity.incremental import IncrementalReport, resolve_incremental
from guanxi.identity.manual import decide_reviews, merge, review_queue, unmerge
from guanxi.identity.probabilistic import MatchOutcome
from guanxi.identity.resolve import ResolveReport, resolve
from guanxi.identity.rules import (
    CustomIdentifier,
    IdentityRules,
    ProbabilisticRules,
    Survivorship,
    load_rules,
)

__all__ = [
    "AmbiguousKeyError",
    "BlockEntry",
    "CustomIdentifier",
    "Customer360",
    "CustomerRetiredError",
    "IdentityInputError",
    "IdentityRules",
    "IncrementalReport",
    "MatchOutcome",
    "ProbabilisticRules",
    "ResolveReport",
    "Survivorship",
    "TimelineEntry",
    "block_add",
    "block_list",
    "block_remove",
    "customer_360",
    "decide_reviews",
    "find_customer",
    "load_rules",
    "merge",
    "resolve",
    "resolve_incremental",
    "review_queue",
    "shared_identifiers",
    "unmerge",
]
