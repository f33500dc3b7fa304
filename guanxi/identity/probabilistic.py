"""Probabilistic matching (optional): records without a shared identifier, by name,
birthday, address and city, with Splink.

Each record's *profile* (its latest name, birthday, address and city) is built in
the warehouse; Splink then runs on a local DuckDB (Splink's DuckDB backend) over
those four columns only, and the scored pairs are written back to the warehouse.
The model is a Fellegi–Sunter model: u probabilities are estimated by random
sampling (fixed seed, so runs repeat), the prior match rate from exact
name-and-birthday agreement, and m probabilities by expectation maximisation
when there are at least ``min_training_records`` profiles; smaller data keeps
conservative prior m probabilities, stated in :class:`MatchOutcome`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import duckdb
import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc
import splink.comparison_library as cl
from ibis.backends import BaseBackend
from splink import DuckDBAPI, Linker, SettingsCreator, block_on
from splink.internals.comparison_creator import ComparisonCreator
from splink.internals.exceptions import SplinkException

from guanxi.identity.rules import ProbabilisticRules
from guanxi.portable import without

PROFILE_FIELDS = ("name", "birthday", "address", "city")

_LOG = logging.getLogger(__name__)
_SAMPLE_EM_ABOVE = 100_000
"""Profiles above which EM trains on a sample of ``max_training_pairs`` blocked pairs."""


@dataclass(frozen=True)
class MatchOutcome:
    """What the probabilistic step did: profiles compared, pairs scored above the review
    threshold, how the model was trained (``em`` or ``priors``) and the prior match rate."""

    profiles: int
    pairs: int
    training: str
    prior_match_rate: float
    seconds: float


def _latest(observed: ir.Table, field: str) -> ir.Table:
    rows = observed.filter(observed[field].notnull())
    pick = ibis.row_number().over(
        group_by=["source", "source_customer_id"],
        order_by=[ibis.desc(rows.last_observed_at, nulls_first=False), rows[field]],
    )
    return rows.mutate(pick=pick).filter(ibis._.pick == 0).select("source", "source_customer_id", field)


def record_profiles(observed: ir.Table, nodes: ir.Table, detached: ir.Table) -> ir.Table:
    """node, name, birthday, address, city (and the derived blocking keys name_prefix,
    address_prefix, birth_year) for every record that has a name and one more field.

    ``observed`` is :func:`guanxi.identity.golden.observations`; detached records
    are left out (they take part in no automatic link).
    """
    result = without(nodes, detached, ["source", "source_customer_id"]).select(
        "node", "source", "source_customer_id"
    )
    for field in PROFILE_FIELDS:
        latest = _latest(observed, field)
        keep = [result[c] for c in result.columns]
        result = result.left_join(
            latest,
            [result.source == latest.source, result.source_customer_id == latest.source_customer_id],
        ).select(*keep, latest[field])
    others = [result[f].notnull().cast("int8") for f in PROFILE_FIELDS[1:]]
    enough = result.name.notnull() & ((others[0] + others[1] + others[2]) >= 1)
    kept = result.filter(enough)
    return kept.select(
        "node",
        *PROFILE_FIELDS,
        name_prefix=kept.name.substr(0, 2),
        address_prefix=kept.address.substr(0, 6),
        birth_year=kept.birthday.year().cast("string"),
    )


def _prior_m(levels: int) -> list[float]:
    """Prior m probabilities for a comparison's non-null levels (exact first, else last)."""
    if levels <= 2:
        return [0.9, 0.1][:levels] if levels == 2 else [1.0]
    middle = (1.0 - 0.75 - 0.03) / (levels - 2)
    return [0.75, *([middle] * (levels - 2)), 0.03]


def _with_prior(comparison: ComparisonCreator) -> ComparisonCreator:
    configured: ComparisonCreator = comparison.configure(
        m_probabilities=_prior_m(comparison.num_non_null_levels)
    )
    return configured


def _comparisons() -> list[ComparisonCreator]:
    return [
        _with_prior(cl.NameComparison("name")),
        _with_prior(cl.DateOfBirthComparison("birthday", input_is_string=False)),
        _with_prior(cl.LevenshteinAtThresholds("address", [1, 3])),
        _with_prior(cl.JaroWinklerAtThresholds("city", [0.9])),
    ]


def prior_match_rate(profiles: ir.Table, recall: float = 0.7) -> float:
    """Probability two random profiles match, from exact name-and-birthday agreement.

    Counts agreeing pairs in the warehouse and divides by all pairs and by the
    assumed recall of that rule; clamped to [1e-9, 0.5], 1e-4 when nothing agrees.
    """
    groups = profiles.filter(profiles.birthday.notnull()).group_by(["name", "birthday"]).agg(n=ibis._.count())
    agreeing = int((groups.n * (groups.n - 1) / 2).sum().fill_null(0).execute())
    total = int(profiles.count().execute())
    pairs = total * (total - 1) / 2
    if agreeing == 0 or pairs == 0:
        return 1e-4
    return min(max(agreeing / recall / pairs, 1e-9), 0.5)


def match_pairs(
    con: BaseBackend, profiles: ir.Table, rules: ProbabilisticRules, *, output: str
) -> MatchOutcome:
    """Score record pairs; write ``output`` (left_node, right_node, match_probability).

    Only pairs at or above ``rules.review_threshold`` are written; ``left_node``
    is the smaller. Deterministic for the same profiles and rules.
    """
    started = time.perf_counter()
    data = profiles.order_by("node").rename(unique_id="node").to_pyarrow()
    count = data.num_rows
    empty = ibis.memtable(
        {"left_node": [], "right_node": [], "match_probability": []},
        schema={"left_node": "int64", "right_node": "int64", "match_probability": "float64"},
    )
    if count < 2:
        con.create_table(output, empty, overwrite=True)
        return MatchOutcome(count, 0, "none", 0.0, time.perf_counter() - started)
    rate = prior_match_rate(profiles)
    local = duckdb.connect()
    try:
        db_api = DuckDBAPI(connection=local)
        frame = db_api.register(data, dataset_display_name="guanxi_profiles")
        settings = SettingsCreator(
            link_type="dedupe_only",
            comparisons=list(_comparisons()),
            blocking_rules_to_generate_predictions=[block_on(*cols) for cols in rules.blocking],
            probability_two_random_records_match=rate,
            retain_matching_columns=False,
        )
        linker = Linker(frame, settings, log_level=logging.WARNING)
        linker.training.estimate_u_using_random_sampling(
            max_pairs=rules.max_u_pairs, seed=rules.seed, min_count_per_level=None
        )
        training = "priors"
        if count >= rules.min_training_records:
            training = "em"
            for cols in rules.training_blocking:
                try:
                    linker.training.estimate_parameters_using_expectation_maximisation(
                        block_on(*cols),
                        max_pairs=rules.max_training_pairs if count > _SAMPLE_EM_ABOVE else None,
                    )
                except (SplinkException, ValueError, ZeroDivisionError) as err:
                    _LOG.warning("EM training on %s failed (%s); keeping prior m probabilities", cols, err)
                    training = "em+priors"
        predictions: Any = linker.inference.predict(
            threshold_match_probability=rules.review_threshold, warning_mode="never"
        )
        scored = predictions.as_pyarrow_table()
    finally:
        local.close()
    left_ids = scored.column("unique_id_l").cast(pa.int64())
    right_ids = scored.column("unique_id_r").cast(pa.int64())
    pairs = pa.table(
        {
            "left_node": pc.min_element_wise(left_ids, right_ids),
            "right_node": pc.max_element_wise(left_ids, right_ids),
            "match_probability": scored.column("match_probability").cast(pa.float64()),
        }
    )
    con.create_table(output, ibis.memtable(pairs) if pairs.num_rows else empty, overwrite=True)
    return MatchOutcome(count, pairs.num_rows, training, rate, time.perf_counter() - started)


def node_pairs_to_records(pairs: ir.Table, nodes: ir.Table) -> ir.Table:
    """Scored node pairs as record pairs (the ``identity_links`` pair columns + match_probability)."""
    left = nodes.view()
    right = nodes.view()
    joined = pairs.join(left, pairs.left_node == left.node).join(right, pairs.right_node == right.node)
    return joined.select(
        left_source=left.source,
        left_source_customer_id=left.source_customer_id,
        right_source=right.source,
        right_source_customer_id=right.source_customer_id,
        match_probability=pairs.match_probability,
    )
