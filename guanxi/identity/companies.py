"""B2B: the companies customers work for, their contacts and the contacts' roles.

A company is recognised by its *key*: the name lower-cased, without legal-form
suffixes (有限公司, Co., Ltd., Inc. …), spaces or punctuation, so ``杭州小米
科技有限公司`` and ``杭州小米科技`` are one company. A contact's role comes from
their title (:data:`ROLE_PATTERNS`, first match wins). Whole-table Ibis
expressions; the CRM module owns accounts and opportunities, this is what the
customer data says.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from guanxi.identity.schema import COMPANIES, CONTACTS

_SUFFIX_CN = r"(股份有限公司|有限责任公司|有限公司|集团公司|公司)$"
_SUFFIX_LATIN = r"[\s,，.]+(co\.?\s*[,，]?\s*ltd\.?|company\s+limited|limited|ltd\.?|inc\.?|llc|gmbh|corp\.?|corporation|company)$"
_PUNCTUATION = r"[\s\.,，。·・\-_/&'\"()（）【】\[\]]+"

ROLE_PATTERNS: tuple[tuple[str, str], ...] = (
    (
        "decision_maker",
        r"董事长|总经理|总裁|副总|创始人|老板|负责人|ceo|cfo|cto|coo|founder|owner|president|director|总监|vp",
    ),
    ("purchasing", r"采购|purchas|procure|buyer"),
    ("finance", r"财务|会计|出纳|finance|account"),
    ("technical", r"工程师|技术|研发|engineer|developer|(^|[^a-z])it([^a-z]|$)"),
    ("manager", r"经理|主管|主任|manager|head|lead"),
)
"""Role → pattern on the lower-cased title; anything else is a ``contact``."""


def company_key(name: ir.StringValue) -> ir.StringValue:
    """The comparable form of a company name (NULL for an empty one)."""
    lowered = name.strip().lower()
    stripped = lowered.re_replace(_SUFFIX_LATIN, "").re_replace(_SUFFIX_CN, "").re_replace(_PUNCTUATION, "")
    key: ir.StringValue = stripped.nullif("")
    return key


def role_of(title: ir.StringValue) -> ir.StringValue:
    """decision_maker | purchasing | finance | technical | manager | contact."""
    lowered = title.lower()
    role: ir.StringValue = ibis.cases(
        *[(lowered.re_search(pattern), role) for role, pattern in ROLE_PATTERNS], else_="contact"
    )
    return ibis.ifelse(title.isnull(), ibis.literal("contact"), role)


def company_contacts(observed: ir.Table, golden: ir.Table) -> ir.Table:
    """``company_contacts``: one row per company and customer, with name, latest title, role, sources."""
    rows = observed.filter(observed.company.notnull()).mutate(company_key=company_key(observed.company))
    rows = rows.filter(rows.company_key.notnull())
    latest = ibis.row_number().over(
        group_by=["company_key", "customer_id"],
        order_by=[
            rows.title.isnull(),
            ibis.desc(rows.last_observed_at, nulls_first=False),
            rows.title,
            rows.source,
            rows.source_customer_id,
        ],
    )
    titled = rows.mutate(pick=latest).filter(ibis._.pick == 0).select("company_key", "customer_id", "title")
    stats = rows.group_by(["company_key", "customer_id"]).agg(
        sources=rows.source.collect(distinct=True).sort().join(","),
        last_seen_at=rows.last_observed_at.max(),
    )
    joined = stats.join(titled, ["company_key", "customer_id"]).join(
        golden.select("customer_id", "name"), "customer_id"
    )
    result = joined.select(
        "company_key",
        "customer_id",
        "name",
        "title",
        role=role_of(joined.title),
        sources="sources",
        last_seen_at="last_seen_at",
    )
    return result.select(*CONTACTS.columns).cast(CONTACTS.schema)


def companies(observed: ir.Table) -> ir.Table:
    """``customer_companies``: each company with its most used spelling and contact count."""
    rows = observed.filter(observed.company.notnull()).mutate(company_key=company_key(observed.company))
    rows = rows.filter(rows.company_key.notnull())
    spellings = rows.group_by(["company_key", "company"]).agg(uses=rows.observations.sum())
    best = ibis.row_number().over(
        group_by="company_key", order_by=[ibis.desc(spellings.uses), spellings.company]
    )
    names = spellings.mutate(pick=best).filter(ibis._.pick == 0).select("company_key", name="company")
    stats = rows.group_by("company_key").agg(
        contact_count=rows.customer_id.nunique().cast("int64"),
        first_seen_at=rows.first_observed_at.min(),
        last_seen_at=rows.last_observed_at.max(),
    )
    return stats.join(names, "company_key").select(*COMPANIES.columns).cast(COMPANIES.schema)
