"""A whole model run: the output tables, re-runs, transitions, pruning, reading results back.

The runs are made once for the module (three runs take a while on a busy
machine): as of 2024-12-31, again as of 2024-12-31 (this one with a progress
callable), then as of 2025-03-31, with ``keep_runs: 2``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from ibis.backends import BaseBackend

from guanxi.config import Settings, get_settings
from guanxi.errors import ConfigError, NotFoundError
from guanxi.models import ModelsReport, customer_profile, migration, run_models
from guanxi.models.config import ModelsConfig, OutputConfig, RfmConfig
from guanxi.models.declared import declared_models
from guanxi.warehouse import connect
from tests.models import factories as f
from tests.models.conftest import load_orders_csv
from tests.models.factories import AS_OF
from tests.progress_calls import ProgressCalls

LATER = date(2025, 3, 31)
DATA = Path(__file__).parent.parent / "data" / "models"


def seed_shop(con: BaseBackend) -> None:
    """The nine-buyer orders with items, a few events and a complaint; customer 12 is a lead."""
    ids = load_orders_csv(con, DATA / "rfm_nine_buyers.csv")
    f.customers(con, [*ids, 12])
    f.items(
        con,
        [
            f.item("o1a", "1", category="母婴", brand="A", quantity=3, price=100),
            f.item("o2", "1", category="数码", brand="B", quantity=1, price=500),
            f.item("o5a", "1", category="数码", brand="B", quantity=2, price=500),
        ],
    )
    f.events(con, [f.event(f"e{k}", 1, datetime(2024, 12, 20, k), "review") for k in range(5)])
    f.tickets(con, [f.ticket("t1", 2, "complaint", datetime(2024, 12, 2))])


@dataclass
class Runs:
    con: BaseBackend
    settings: Settings
    reports: list[ModelsReport] = field(default_factory=list)
    counts: list[dict[str, int]] = field(default_factory=list)
    scores: list[Any] = field(default_factory=list)
    """Each run's ``customer_scores`` rows (a frame by customer id, run id dropped), read right after it."""
    progress: ProgressCalls = field(default_factory=ProgressCalls)
    """The calls made during the second run."""


def _count(con: BaseBackend, table: str, **equals: Any) -> int:
    t = con.table(table)
    for column, value in equals.items():
        t = t.filter(t[column] == value)
    return int(t.count().execute())


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    folder = tmp_path_factory.mktemp("shop")
    settings = get_settings(
        env="test", data_dir=folder, warehouse_url=f"duckdb://{folder / 'warehouse.duckdb'}", progress=False
    )
    con = connect(settings)
    seed_shop(con)
    result = Runs(con, settings)
    config = ModelsConfig(output=OutputConfig(keep_runs=2))
    for number, as_of in enumerate((AS_OF, AS_OF, LATER)):
        progress = result.progress if number == 1 else None
        report = run_models(con, settings, as_of=as_of, config=config, progress=progress)
        result.reports.append(report)
        scores = con.table("customer_scores")
        result.scores.append(scores.filter(scores.run_id == report.run_id).drop("run_id").to_pandas())
        result.counts.append(
            {name: _count(con, name) for name in ("customer_scores", "score_snapshots", "points_ledger")}
        )
    yield result
    con.disconnect()


def _scores(runs: Runs, report: ModelsReport) -> Any:
    t = runs.con.table("customer_scores")
    return t.filter(t.run_id == report.run_id).to_pandas().set_index("customer_id")


def test_run_writes_one_row_per_customer_with_every_model(runs: Runs) -> None:
    report = runs.reports[0]
    scores = (
        runs.con.table("score_snapshots")
        .filter(lambda t: t.as_of == AS_OF)
        .to_pandas()
        .set_index("customer_id")
    )
    latest = _scores(runs, runs.reports[1])
    # then every customer has a row, buyers have RFM, leads and refund-only customers are acquisition
    assert report.customers == 14
    assert len(latest) == 14
    assert report.buyers == 9
    assert latest.loc[1, "rfm_segment"] == "Champions"
    assert latest.loc[5, "rfm_cell"] == "255"
    assert latest.loc[12, "lifecycle_stage"] == "acquisition"
    assert latest.loc[10, "lifecycle_stage"] == "acquisition"
    assert latest.loc[12, "value_score"] == 0.0
    assert latest.loc[1, "points_balance"] == 600
    assert latest.loc[1, "top_category"] == "母婴"
    assert latest.loc[2, "complaints"] == 1
    assert report.segments["Lost"] == 2
    # and the snapshot agrees with the scores
    assert scores.loc[1, "rfm_segment"] == "Champions"
    assert len(scores) == 14
    # and CLV is skipped with a warning: four repeat buyers (1, 3, 5, 11) are too few to fit
    assert any("found 4" in w for w in report.warnings if w.startswith("clv skipped"))
    assert latest.clv.isna().all()


def test_rerun_for_the_same_date_replaces_the_snapshot_and_keeps_the_ledger(runs: Runs) -> None:
    first, second = runs.counts[0], runs.counts[1]
    # then scores hold both runs, the snapshot one, and the ledger gained nothing
    assert runs.reports[0].run_id != runs.reports[1].run_id
    assert (first["customer_scores"], second["customer_scores"]) == (14, 28)
    assert (first["score_snapshots"], second["score_snapshots"]) == (14, 14)
    assert runs.reports[1].ledger_entries == 0
    assert second["points_ledger"] == first["points_ledger"] > 0
    assert runs.reports[1].lifecycle_transitions == 0


def test_a_later_run_records_transitions_against_the_earlier_snapshot(runs: Runs) -> None:
    snaps = runs.con.table("score_snapshots").to_pandas()
    before = snaps[snaps.as_of == str(AS_OF)].set_index("customer_id").lifecycle_stage
    after = snaps[snaps.as_of == str(LATER)].set_index("customer_id").lifecycle_stage
    moves = runs.con.table("lifecycle_transitions").to_pandas()
    # then exactly the customers whose stage changed are recorded, with both stages
    changed = {c for c in after.index if before.get(c) != after[c]}
    assert changed  # three months without purchases move somebody
    assert set(moves.customer_id) == changed
    assert runs.reports[2].lifecycle_transitions == len(changed)
    for row in moves.itertuples():
        assert (row.from_stage, row.to_stage) == (before[row.customer_id], after[row.customer_id])
    # and the migration matrix between the two dates accounts for every customer
    matrix = migration(runs.con, from_date=AS_OF, to_date=LATER, dimension="lifecycle_stage").to_pandas()
    assert matrix.customers.sum() == 14


def test_a_run_reports_inputs_each_model_and_the_write_in_order(runs: Runs) -> None:
    # then the second run told its inputs, every model by name in run order, the write, then the end
    names = [d.name for d in declared_models()]
    total = len(names) + 2
    assert runs.progress.calls == [
        (0, total, "preparing inputs"),
        *((done, total, name) for done, name in enumerate(names, start=1)),
        (total - 1, total, "writing outputs"),
        (total, total, "done"),
    ]
    runs.progress.assert_well_formed()


def test_a_run_with_progress_scores_like_the_run_without(runs: Runs) -> None:
    # then the second run (with progress) scored every customer exactly like the first (without)
    first, second = (s.sort_values("customer_id", ignore_index=True) for s in runs.scores[:2])
    assert len(second) == 14
    assert second.equals(first)
    # and reports the same, but for its id, its timings and the ledger entries the first run already made
    first_report, second_report = (asdict(r) for r in runs.reports[:2])
    for varies in ("run_id", "seconds", "timings", "ledger_entries"):
        first_report.pop(varies), second_report.pop(varies)
    assert second_report == first_report


def test_old_runs_are_pruned_to_keep_runs(runs: Runs) -> None:
    kept = set(runs.con.table("customer_scores").select("run_id").distinct().to_pandas().run_id)
    assert kept == {runs.reports[1].run_id, runs.reports[2].run_id}
    assert _count(runs.con, "model_runs") == 3


def test_customer_profile_reads_the_latest_scores(runs: Runs) -> None:
    profile = customer_profile(runs.con, 1)
    assert profile.scores["as_of"].date() == LATER
    assert profile.scores["rfm_segment"] is not None
    assert profile.points_balance == 600
    assert {t["tag"] for t in profile.tags} >= {"category", "brand", "price_band"}
    with pytest.raises(NotFoundError, match="customer 999"):
        customer_profile(runs.con, 999)


def test_migration_names_missing_snapshot_dates(runs: Runs) -> None:
    with pytest.raises(NotFoundError, match="snapshots exist for: 2024-12-31, 2025-03-31"):
        migration(runs.con, from_date=AS_OF, to_date=date(2025, 1, 1))
    with pytest.raises(ConfigError, match="cannot show migration by"):
        migration(runs.con, from_date=AS_OF, to_date=LATER, dimension="clv")


def test_missing_identity_tables_name_the_step_to_run(warehouse: BaseBackend, settings: Settings) -> None:
    with pytest.raises(NotFoundError, match="guanxi resolve"):
        run_models(warehouse, settings, as_of=AS_OF, config=ModelsConfig())


def test_reference_date_after_as_of_is_refused(warehouse: BaseBackend, settings: Settings) -> None:
    config = ModelsConfig(rfm=RfmConfig(reference_date=date(2025, 6, 1)))
    with pytest.raises(ConfigError, match="after the run's as-of date"):
        run_models(warehouse, settings, as_of=AS_OF, config=config)
