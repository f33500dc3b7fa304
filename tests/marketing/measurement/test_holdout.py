"""The control group is drawn by a seeded hash: stable, nested as the share grows, independent per scope."""

from __future__ import annotations

from guanxi.marketing.measurement.holdout import campaign_scope, draw, held_out, journey_scope

CUSTOMERS = [str(n) for n in range(20_000)]


def control(scope: str, share: float) -> set[str]:
    return {c for c in CUSTOMERS if held_out(scope, c, share)}


def test_the_same_customers_are_held_out_on_every_run() -> None:
    first = control(campaign_scope("double11"), 0.10)
    assert first == control(campaign_scope("double11"), 0.10)
    # the first 8 bytes of SHA-256(b"campaign:double11:42") ÷ 2**64, computed outside guanxi: stable forever
    assert abs(draw(campaign_scope("double11"), "42") - 0.853329441026539) < 1e-12
    assert not held_out(campaign_scope("double11"), "42", 0.85)
    assert held_out(campaign_scope("double11"), "42", 0.86)


def test_the_share_held_out_is_close_to_the_setting() -> None:
    for share in (0.05, 0.10, 0.5):
        found = len(control(campaign_scope("members"), share)) / len(CUSTOMERS)
        assert abs(found - share) < 0.01, (share, found)


def test_a_larger_share_holds_out_a_superset() -> None:
    assert control(campaign_scope("x"), 0.05) <= control(campaign_scope("x"), 0.10)


def test_scopes_draw_independently_and_zero_holds_out_no_one() -> None:
    a, b = control(campaign_scope("a"), 0.10), control(journey_scope("a"), 0.10)
    both = len(a & b) / len(CUSTOMERS)
    assert abs(both - 0.01) < 0.004
    assert control(campaign_scope("a"), 0.0) == set()
    assert len(control(campaign_scope("a"), 1.0)) == len(CUSTOMERS)


def test_the_engine_draws_the_same_control_group_as_python() -> None:
    import ibis
    import pyarrow as pa

    from guanxi.marketing.measurement.holdout import held_out_column

    table = ibis.memtable(pa.table({"customer_id": CUSTOMERS}))
    con = ibis.duckdb.connect()
    for share in (0.0, 0.013, 0.10, 0.5, 1.0):
        scope = campaign_scope("double11")
        found = (
            con.to_pyarrow(
                table.filter(held_out_column(table.customer_id, scope, share)).select("customer_id")
            )
            .column("customer_id")
            .to_pylist()
        )
        assert set(found) == control(scope, share), share
