"""RFM on the nine-buyer data set (tests/data/models/rfm_nine_buyers.csv), hand-computed.

Scored customers (window 2024-01-02 .. 2024-12-31):

    id  recency  F  M      R F M  FM  segment             class
    1     0      3  600    5 4 4  4   Champions           一般价值客户
    2    10      1  500    4 1 4  3   Potential Loyalist  一般发展客户
    11   16      2  300    4 3 3  3   Potential Loyalist  一般价值客户
    3    30      2  200    3 3 3  3   Need Attention      一般价值客户
    4    30      1   50    3 1 1  1   About to Sleep      一般发展客户
    5   120      4  4000   2 5 5  5   Can't Lose Them     重要保持客户
    6   180      1   80    2 1 2  2   Hibernating         一般挽留客户
    7   300      1   40    1 1 1  1   Lost                一般挽留客户
    8   364      1   60    1 1 2  2   Lost                一般挽留客户

Score = 1 + ⌊5·(customers strictly worse)/9⌋; means: recency 116.67, F 1.78, M 647.78.
"""

from __future__ import annotations

from datetime import date

import ibis
import pytest
from ibis.backends import BaseBackend

from guanxi.models import inputs
from guanxi.models.config import RFM_SEGMENTS, RfmConfig, RfmThresholds
from guanxi.models.rfm import rfm_scores, segment_of
from tests.models import factories as f
from tests.models.factories import AS_OF

EXPECTED = {
    1: (0, 3, "600.00", 5, 4, 4, "Champions", "一般价值客户"),
    2: (10, 1, "500.00", 4, 1, 4, "Potential Loyalist", "一般发展客户"),
    11: (16, 2, "300.00", 4, 3, 3, "Potential Loyalist", "一般价值客户"),
    3: (30, 2, "200.00", 3, 3, 3, "Need Attention", "一般价值客户"),
    4: (30, 1, "50.00", 3, 1, 1, "About to Sleep", "一般发展客户"),
    5: (120, 4, "4000.00", 2, 5, 5, "Can't Lose Them", "重要保持客户"),
    6: (180, 1, "80.00", 2, 1, 2, "Hibernating", "一般挽留客户"),
    7: (300, 1, "40.00", 1, 1, 1, "Lost", "一般挽留客户"),
    8: (364, 1, "60.00", 1, 1, 2, "Lost", "一般挽留客户"),
}


def _bought(con: BaseBackend, as_of: date = AS_OF) -> ibis.Table:
    orders = inputs.customer_orders(
        con.table("raw_orders"), con.table("identity_map"), before=inputs.cutoff(as_of)
    )
    return inputs.purchases(orders)


def _rfm(
    con: BaseBackend, config: RfmConfig | None = None, as_of: date = AS_OF
) -> dict[int, tuple[object, ...]]:
    frame = rfm_scores(_bought(con, as_of), reference_date=as_of, config=config or RfmConfig()).to_pandas()
    return {
        int(r.customer_id): (
            int(r.rfm_recency_days),
            int(r.rfm_frequency),
            str(r.rfm_monetary),
            int(r.r_score),
            int(r.f_score),
            int(r.m_score),
            r.rfm_segment,
            r.rfm_class,
        )
        for r in frame.itertuples()
    }


def test_rfm_matches_the_hand_computed_table(nine_buyers: BaseBackend) -> None:
    # given the nine-buyer data set, when RFM runs as of 2024-12-31
    got = _rfm(nine_buyers)
    # then every score, segment and class is the hand-computed one
    assert got == EXPECTED


def test_edge_customers_get_no_rfm_row(nine_buyers: BaseBackend) -> None:
    # given customers outside the window (9), with only a refund (10), a lead (12),
    # an order after the reference date (13) and cancelled/unpaid orders only (14)
    got = _rfm(nine_buyers)
    # then none of them is scored
    assert not {9, 10, 12, 13, 14} & set(got)


def test_an_order_on_the_reference_date_has_recency_zero(nine_buyers: BaseBackend) -> None:
    # given customer 1 bought at 23:59:59 on the reference date
    got = _rfm(nine_buyers)
    # then the purchase counts and recency is 0 days
    assert got[1][0] == 0
    assert got[1][1] == 3


def test_tied_recency_shares_the_lower_score(nine_buyers: BaseBackend) -> None:
    # given customers 3 and 4 both last bought 30 days ago
    got = _rfm(nine_buyers)
    # then both get R = 1 + ⌊5·4/9⌋ = 3, although row order would put them in different fifths
    assert got[3][3] == got[4][3] == 3


def test_monetary_average_divides_by_purchases(nine_buyers: BaseBackend) -> None:
    # given monetary: average
    got = _rfm(nine_buyers, RfmConfig(monetary="average"))
    # then customer 1's 600 over 3 purchases is 200 and customer 11's net 300 over 2 is 150
    assert got[1][2] == "200.00"
    assert got[11][2] == "150.00"


def test_partial_refund_is_subtracted_from_monetary(nine_buyers: BaseBackend) -> None:
    # given customer 11 paid 300 + 100 and got 100 back
    got = _rfm(nine_buyers)
    # then monetary is 300 and both orders count
    assert got[11][1:3] == (2, "300.00")


def test_threshold_scoring_uses_the_cut_points(nine_buyers: BaseBackend) -> None:
    # given fixed cut points
    cuts = RfmThresholds(recency=(30, 90, 180, 365), frequency=(1, 2, 3, 4), monetary=(100, 300, 1000, 3000))
    got = _rfm(nine_buyers, RfmConfig(scoring="thresholds", thresholds=cuts))
    # then a value equal to a cut falls on the lower side of it
    assert got[3][3:6] == (5, 2, 2)  # recency 30 ≤ 30 → 5; F 2 ≤ 2 → 2; M 200 ≤ 300 → 2
    assert got[6][3:6] == (3, 1, 1)  # recency 180 ≤ 180 → 3
    assert got[5][3:6] == (3, 4, 5)  # recency 90 < 120 ≤ 180 → 3; F 4 ≤ 4 → 4; M 4000 > 3000 → 5


def test_all_125_cells_map_to_the_eleven_named_segments() -> None:
    # given every (R, F, M) cell
    cells = ibis.memtable(
        [{"r": r, "f": fs, "m": m} for r in range(1, 6) for fs in range(1, 6) for m in range(1, 6)],
        schema={"r": "int64", "f": "int64", "m": "int64"},
    )
    grid = RfmConfig().segment_grid
    # when the default grid names them
    named = cells.mutate(segment=segment_of(cells.r, cells.f, cells.m, grid)).to_pandas()
    by_cell = {(r.r, r.f, r.m): r.segment for r in named.itertuples()}
    # then each of the 125 cells has a segment, all eleven names occur, and the corners are the classic ones
    assert len(by_cell) == 125
    assert set(by_cell.values()) == set(RFM_SEGMENTS)
    assert by_cell[(5, 5, 5)] == "Champions"
    assert by_cell[(1, 1, 1)] == "Lost"
    assert by_cell[(1, 5, 5)] == "Can't Lose Them"
    assert by_cell[(5, 1, 1)] == "New"
    assert by_cell[(4, 1, 1)] == "Promising"
    assert by_cell[(2, 1, 2)] == "Hibernating"
    assert by_cell[(2, 3, 4)] == "At Risk"  # FM = ⌊(3+4+1)/2⌋ = 4
    assert by_cell[(3, 2, 3)] == "Need Attention"  # FM = ⌊(2+3+1)/2⌋ = 3
    assert by_cell[(3, 1, 2)] == "About to Sleep"  # FM = ⌊(1+2+1)/2⌋ = 2


@pytest.fixture
def eight_corners(warehouse: BaseBackend) -> BaseBackend:
    """Eight buyers, one per class: recent = 10 days ago (else 200), frequent = 3 orders (else 1),
    high spend = 1200 in total (else 120). Means: recency 105, F 2, M 660."""
    rows = []
    combos = [(r, fr, h) for r in (True, False) for fr in (True, False) for h in (True, False)]
    for n, (recent, frequent, high) in enumerate(combos, start=1):
        last = date(2024, 12, 21) if recent else date(2024, 6, 14)
        count = 3 if frequent else 1
        total = 1200 if high else 120
        for k in range(count):
            day = last if k == 0 else date(2024, 5, 1 + k)
            rows.append(f.order(f"o{n}-{k}", n, day, total / count))
    f.orders(warehouse, rows)
    f.customers(warehouse, range(1, 9))
    return warehouse


@pytest.mark.parametrize("basis", ["value", "score"])
def test_eight_classes_compare_with_the_means(eight_corners: BaseBackend, basis: str) -> None:
    # given one buyer per combination of recent / frequent / high spend
    config = RfmConfig(class_basis=basis)
    frame = rfm_scores(_bought(eight_corners), reference_date=AS_OF, config=config).to_pandas()
    got = dict(zip(frame.customer_id, frame.rfm_class, strict=True))
    # then the classes come out in the scheme's order
    assert got == {
        1: "重要价值客户",
        2: "一般价值客户",
        3: "重要发展客户",
        4: "一般发展客户",
        5: "重要保持客户",
        6: "一般保持客户",
        7: "重要挽留客户",
        8: "一般挽留客户",
    }
