"""Declared models: a plugin's model runs like a built-in, and built-ins enter only through the hook.

The plugin model is ``recent_orders`` (:mod:`tests.models.recent_orders`) on the
nine-buyer shop as of 2024-12-31: purchases paid since 2024-12-02 are o1a
(customer 1), o2 (2) and the partly refunded o11a (11); o3a and o4 on
2024-12-01 fall just outside, o10 was refunded in full (no purchase).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import ibis.expr.types as ir
import pluggy
import pytest
from ibis.backends import BaseBackend

from guanxi.config import Settings, get_settings
from guanxi.errors import ConfigError
from guanxi.models import ModelsReport, run_models
from guanxi.models.config import ModelsConfig, default_config_text, models_config_type, parse_models_config
from guanxi.models.declared import (
    RUN_COLUMNS,
    ConfigSection,
    ModelDefinition,
    RunContext,
    customer_scores_spec,
    declared_models,
    score_snapshots_spec,
)
from guanxi.plugins import build_plugin_manager, using_plugins
from guanxi.warehouse import connect
from tests.models.factories import AS_OF
from tests.models.recent_orders import RECENT_ORDERS, ModelsPlugin, RecentOrdersConfig, recent_orders_plugin
from tests.models.test_run import seed_shop

BUILT_INS = ("guanxi.models.plugin",)


def manager(*plugins: object, built_ins: bool = True) -> pluggy.PluginManager:
    """A plugin manager of its own: the models built-ins (or none) plus ``plugins``, no entry points."""
    pm = build_plugin_manager(defaults=BUILT_INS if built_ins else (), entry_points=False)
    for plugin in plugins:
        pm.register(plugin)
    return pm


def model(name: str, columns: dict[str, str], **options: Any) -> ModelDefinition[Any]:
    return ModelDefinition(name, columns, lambda ctx: None, **options)


def scores_of(con: BaseBackend, report: ModelsReport, column: str) -> dict[int, Any]:
    t = con.table("customer_scores")
    rows = t.filter(t.run_id == report.run_id).select("customer_id", column).to_pyarrow().to_pylist()
    return {row["customer_id"]: row[column] for row in rows}


@dataclass
class Shop:
    con: BaseBackend
    settings: Settings
    before: ModelsReport
    after: ModelsReport


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    """The shop scored once by the built-ins alone, then again with ``recent_orders`` registered."""
    folder = tmp_path_factory.mktemp("declared")
    settings = get_settings(
        env="test",
        data_dir=folder,
        warehouse_url=f"duckdb://{folder / 'warehouse.duckdb'}",
        models_config=folder / "absent.yaml",
        progress=False,
    )
    con = connect(settings)
    seed_shop(con)
    before = run_models(con, settings, as_of=AS_OF)
    with using_plugins(recent_orders_plugin()):
        after = run_models(con, settings, as_of=AS_OF)
    yield Shop(con, settings, before, after)
    con.disconnect()


def test_a_plugin_model_adds_its_column_to_tables_written_before_it(shop: Shop) -> None:
    con = shop.con
    # then both wide tables gained the column, typed as declared
    assert con.table("customer_scores").schema()["orders_last_30d"].is_integer()
    assert "orders_last_30d" in con.table("score_snapshots").columns
    # and the earlier run's rows hold null there, the new run's rows the counts (0 by its fill)
    assert set(scores_of(con, shop.before, "orders_last_30d").values()) == {None}
    counts = scores_of(con, shop.after, "orders_last_30d")
    assert len(counts) == 14
    assert {c: n for c, n in counts.items() if n} == {1: 1, 2: 1, 11: 1}
    assert counts[12] == 0
    # and the built-in columns are as before
    assert scores_of(con, shop.after, "rfm_segment") == scores_of(con, shop.before, "rfm_segment")
    # and the snapshot of the date is the new run's
    snaps = con.table("score_snapshots").to_pyarrow().to_pylist()
    assert {row["customer_id"]: row["orders_last_30d"] for row in snaps if row["orders_last_30d"]} == {
        1: 1,
        2: 1,
        11: 1,
    }


def test_a_plugin_models_section_is_read_from_models_yaml(shop: Shop, tmp_path: Path) -> None:
    # given a models file that sets the plugin's section
    path = tmp_path / "models.yaml"
    path.write_text("recent_orders:\n  window_days: 7\nrfm:\n  window_days: 180\n", encoding="utf-8")
    settings = shop.settings.model_copy(update={"models_config": path})
    with using_plugins(recent_orders_plugin()):
        # when the models run with it
        report = run_models(shop.con, settings, as_of=AS_OF)
        config = ModelsConfig()
    # then the step saw its own setting (only o1a on 2024-12-31 is within 7 days)
    counts = scores_of(shop.con, report, "orders_last_30d")
    assert {c: n for c, n in counts.items() if n} == {1: 1}
    # and ModelsConfig() holds the section's defaults while the plugin is registered
    assert config.section("recent_orders") == RecentOrdersConfig()


def test_a_plugin_section_is_validated_and_unknown_sections_still_refused() -> None:
    pm = manager(recent_orders_plugin())
    config = parse_models_config("recent_orders:\n  window_days: 14\n", pm=pm)
    assert config.section("recent_orders") == RecentOrdersConfig(window_days=14)
    with pytest.raises(ConfigError) as raised:
        parse_models_config("recent_orders:\n  window_days: 0\nrecnt_orders: {}\n", pm=pm)
    assert "recent_orders.window_days" in str(raised.value)
    assert "recnt_orders" in str(raised.value)
    # without the plugin its section is an unknown one
    with pytest.raises(ConfigError, match="recent_orders"):
        parse_models_config("recent_orders:\n  window_days: 14\n", pm=manager())


def test_customer_scores_spec_is_built_from_the_declarations_when_called() -> None:
    # given the built-ins, then the built-ins and the plugin
    plain, extended = customer_scores_spec(manager()), customer_scores_spec(manager(recent_orders_plugin()))
    # then the plugin's column comes last, after every built-in column in their order
    assert list(extended.columns) == [*plain.columns, "orders_last_30d"]
    assert extended.columns["orders_last_30d"] == "int64"
    assert list(plain.columns)[:4] == ["customer_id", "run_id", "as_of", "rfm_recency_days"]
    assert "orders_last_30d" in score_snapshots_spec(manager(recent_orders_plugin())).columns
    # and the process's manager is read at call time
    assert "orders_last_30d" not in customer_scores_spec().columns
    with using_plugins(recent_orders_plugin()):
        assert "orders_last_30d" in customer_scores_spec().columns


def test_the_defaults_template_holds_a_plugin_section() -> None:
    text = default_config_text(manager(recent_orders_plugin()))
    assert text.startswith(default_config_text(manager()))
    assert "recent_orders:\n  enabled: true\n  window_days: 30" in text
    assert (
        parse_models_config("", pm=manager(recent_orders_plugin())).section("recent_orders").window_days == 30
    )


def test_two_models_declaring_one_column_are_refused() -> None:
    twin = model("recency_copy", {"rfm_segment": "string"})
    with pytest.raises(
        ConfigError, match="models 'rfm' and 'recency_copy' both declare the column 'rfm_segment'"
    ):
        declared_models(manager(ModelsPlugin(twin)))


def test_two_models_of_one_name_are_refused() -> None:
    with pytest.raises(ConfigError, match="two plugins define the customer model 'rfm'"):
        declared_models(manager(ModelsPlugin(model("rfm", {"other": "string"}))))


def test_two_models_claiming_one_section_are_refused() -> None:
    claim = model("mine", {"mine": "string"}, config=ConfigSection("rfm", RecentOrdersConfig))
    with pytest.raises(ConfigError, match="models 'rfm' and 'mine' both claim the config section 'rfm'"):
        declared_models(manager(ModelsPlugin(claim)))


def test_wrong_declarations_are_all_reported_at_once() -> None:
    wrong = model(
        "wrong",
        {"customer_id": "int64", "score": "no_such_type"},
        snapshot=("missing",),
        after=("nobody",),
        config=ConfigSection("output", RecentOrdersConfig),
    )
    with pytest.raises(ConfigError) as raised:
        declared_models(manager(ModelsPlugin(wrong), built_ins=False))
    message = str(raised.value)
    for part in (
        "'customer_id'",
        "unknown type 'no_such_type'",
        "'missing' under snapshot",
        "'nobody'",
        "'output'",
    ):
        assert part in message


def test_models_run_after_what_they_need_and_cycles_are_refused() -> None:
    first = model("first", {"a": "int64"}, after=("second",))
    second = model("second", {"b": "int64"})
    ordered = declared_models(manager(ModelsPlugin(first, second), built_ins=False))
    assert [d.name for d in ordered] == ["second", "first"]
    loop = model("second", {"b": "int64"}, after=("first",))
    with pytest.raises(ConfigError, match="cycle"):
        declared_models(manager(ModelsPlugin(first, loop), built_ins=False))


def test_built_ins_enter_only_through_the_models_plugin(settings: Settings) -> None:
    # given a plugin manager without guanxi.models.plugin
    pm = manager(built_ins=False)
    # then no model, no score column and no model section exists
    assert declared_models(pm) == ()
    assert customer_scores_spec(pm).columns == dict(RUN_COLUMNS)
    assert score_snapshots_spec(pm).columns == dict(RUN_COLUMNS)
    assert set(models_config_type(pm).model_fields) == {"output"}
    assert "rfm:" not in default_config_text(pm)
    with pytest.raises(ConfigError, match="rfm"):
        parse_models_config("rfm:\n  window_days: 10\n", pm=pm)
    # and registering the plugin module brings every built-in back
    pm.register(importlib.import_module("guanxi.models.plugin"))
    assert {d.name for d in declared_models(pm)} >= {"rfm", "value", "clv", "portrait", "value_activity"}


def test_a_run_without_built_ins_writes_only_the_plugin_models_columns(
    warehouse: BaseBackend, settings: Settings
) -> None:
    # given the shop and a manager holding only the plugin model
    seed_shop(warehouse)
    pm = manager(recent_orders_plugin(), built_ins=False)
    # when the models run
    report = run_models(warehouse, settings, as_of=AS_OF, pm=pm)
    # then customer_scores holds the run columns and the plugin's, nothing hand-wired
    assert warehouse.table("customer_scores").columns == ("customer_id", "run_id", "as_of", "orders_last_30d")
    assert report.customers == 14
    assert {c: n for c, n in scores_of(warehouse, report, "orders_last_30d").items() if n} == {
        1: 1,
        2: 1,
        11: 1,
    }
    assert report.ledger_entries == 0
    assert report.buyers == 0


def test_a_disabled_plugin_model_leaves_its_column_null(warehouse: BaseBackend, settings: Settings) -> None:
    seed_shop(warehouse)
    pm = manager(recent_orders_plugin(), built_ins=False)
    config = parse_models_config("recent_orders:\n  enabled: false\n", pm=pm)
    report = run_models(warehouse, settings, as_of=AS_OF, config=config, pm=pm)
    assert set(scores_of(warehouse, report, "orders_last_30d").values()) == {None}


def test_a_step_without_its_declared_columns_is_refused(warehouse: BaseBackend, settings: Settings) -> None:
    def wrong(ctx: RunContext[None]) -> ir.Table:
        return ctx.customers.select("customer_id")

    seed_shop(warehouse)
    pm = manager(ModelsPlugin(ModelDefinition("wrong", {"score": "float64"}, wrong)), built_ins=False)
    with pytest.raises(ConfigError, match="model 'wrong' returned a table without the column"):
        run_models(warehouse, settings, as_of=AS_OF, pm=pm)


def test_a_models_check_refuses_its_settings_before_anything_is_read(
    warehouse: BaseBackend, settings: Settings
) -> None:
    def refuse(config: RecentOrdersConfig, as_of: date) -> None:
        raise ConfigError(f"recent_orders cannot run as of {as_of}")

    checked = ModelDefinition(
        "recent_orders",
        RECENT_ORDERS.columns,
        RECENT_ORDERS.compute,
        config=RECENT_ORDERS.config,
        check=refuse,
    )
    pm = manager(ModelsPlugin(checked), built_ins=False)
    # the warehouse is empty: reading anything would raise not_found instead
    with pytest.raises(ConfigError, match="cannot run as of 2024-12-31"):
        run_models(warehouse, settings, as_of=AS_OF, pm=pm)


def test_every_built_in_model_and_column_is_documented() -> None:
    docs = (Path(__file__).parents[2] / "docs" / "models.md").read_text(encoding="utf-8")
    for definition in declared_models(manager()):
        assert f"(`{definition.name}`)" in docs, f"docs/models.md does not list the model {definition.name}"
        for column in definition.columns:
            assert f"`{column}`" in docs, f"docs/models.md does not list the column {column}"
