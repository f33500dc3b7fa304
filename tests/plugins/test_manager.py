"""The plugin manager: built-ins first, duplicates refused, plugins added and removed for a block."""

from __future__ import annotations

import types
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from guanxi.cli.main import build_cli
from guanxi.errors import ConfigError
from guanxi.ingest.preset import Mapping, available_presets, get_preset
from guanxi.plugins import (
    DEFAULT_PLUGINS,
    build_plugin_manager,
    cached,
    collect,
    hookimpl,
    plugin_manager,
    using_plugins,
)
from guanxi.plugins.reference import BEGIN, END, hook_names, hook_reference, with_reference

DOCS = Path(__file__).parents[2] / "docs" / "plugins.md"


def plugin(name: str, **hooks: object) -> types.ModuleType:
    """A plugin module called ``name`` implementing ``hooks`` (name → function)."""
    module = types.ModuleType(name)
    for hook, function in hooks.items():
        setattr(module, hook, hookimpl(function))  # type: ignore[call-overload]
    return module


def test_the_builtins_are_registered_in_their_declared_order() -> None:
    pm = build_plugin_manager(entry_points=False)
    names = [name for name, _ in pm.list_name_plugin()]
    assert names == list(DEFAULT_PLUGINS)


def test_collect_indexes_by_name_builtins_first_and_refuses_a_second_definition() -> None:
    first = plugin("first", register_reports=lambda: [types.SimpleNamespace(name="a")])
    second = plugin("second", register_reports=lambda: [types.SimpleNamespace(name="b")])
    with using_plugins(first, second) as pm:
        found = collect(pm.hook.register_reports, what="report", name=lambda r: r.name)
        assert list(found)[-2:] == ["a", "b"]
    clash = plugin("clash", register_reports=lambda: [types.SimpleNamespace(name="a")])
    with using_plugins(first, clash) as pm, pytest.raises(ConfigError, match="report 'a'.*first.*clash"):
        collect(pm.hook.register_reports, what="report", name=lambda r: r.name)


def test_a_plugin_is_gone_after_its_block() -> None:
    extra = plugin("extra", register_reports=lambda: [types.SimpleNamespace(name="only_here")])
    with using_plugins(extra) as pm:
        assert "only_here" in collect(pm.hook.register_reports, what="report", name=lambda r: r.name)
    pm = plugin_manager()
    assert "only_here" not in collect(pm.hook.register_reports, what="report", name=lambda r: r.name)


def test_cached_results_are_rebuilt_when_the_plugins_change() -> None:
    calls: list[int] = []

    def count() -> int:
        calls.append(1)
        return len(plugin_manager().get_plugins())

    counted = cached(count)
    before = counted()
    assert counted() == before
    assert len(calls) == 1
    with using_plugins(plugin("one_more")):
        assert counted() == before + 1
    assert counted() == before
    assert len(calls) == 3


def test_a_plugin_preset_is_offered_next_to_the_builtin_ones(tmp_path: Path) -> None:
    folder = tmp_path / "presets"
    folder.mkdir()
    (folder / "kuaishou-orders.yaml").write_text(
        "name: kuaishou-orders\nkind: orders\nsource: kuaishou\ncolumns:\n  order_id: [订单号]\n"
        "  created_at: [下单时间]\n",
        encoding="utf-8",
    )
    inline = Mapping(
        name="doudian-orders",
        kind="orders",
        source="douyin",
        columns={"order_id": ["主订单编号"], "created_at": ["订单提交时间"]},
    )
    with using_plugins(plugin("shops", register_import_presets=lambda: [folder, inline])):
        presets = available_presets()
        assert get_preset("kuaishou-orders").source == "kuaishou"
        assert presets["doudian-orders"] is inline
        assert "taobao-orders" in presets
    assert "kuaishou-orders" not in available_presets()


def test_two_presets_of_one_name_are_refused_naming_both_plugins() -> None:
    twin = Mapping(name="taobao-orders", kind="orders", columns={"order_id": ["x"], "created_at": ["y"]})
    with (
        using_plugins(plugin("twin", register_import_presets=lambda: [twin])),
        pytest.raises(ConfigError, match="taobao-orders.*guanxi.ingest.plugin.*twin"),
    ):
        available_presets()


def test_without_the_import_plugin_there_are_no_presets() -> None:
    pm = build_plugin_manager(
        defaults=[name for name in DEFAULT_PLUGINS if name != "guanxi.ingest.plugin"], entry_points=False
    )
    assert pm.hook.register_import_presets() == []


def test_a_plugin_adds_a_command_and_cannot_take_a_builtin_name() -> None:
    def hello(cli: typer.Typer) -> None:
        @cli.command("hello")
        def _hello() -> None:
            typer.echo("你好")

    with using_plugins(plugin("greeter", register_commands=hello)):
        result = CliRunner().invoke(build_cli(), ["hello"])
        assert result.exit_code == 0
        assert result.output == "你好\n"

    def steal(cli: typer.Typer) -> None:
        cli.command("import")(lambda: None)

    with (
        using_plugins(plugin("thief", register_commands=steal)),
        pytest.raises(ConfigError, match="'import'"),
    ):
        build_cli()


def test_without_the_cli_plugin_the_command_has_no_subcommands() -> None:
    pm = build_plugin_manager(
        defaults=[name for name in DEFAULT_PLUGINS if name != "guanxi.cli.plugin"], entry_points=False
    )
    assert build_cli(pm).registered_commands == []
    assert len(build_cli().registered_commands) > 5


def test_docs_list_every_hook_with_its_current_text() -> None:
    page = DOCS.read_text(encoding="utf-8")
    assert page == with_reference(page), "run: python -m guanxi.plugins.reference docs/plugins.md"
    between = page.split(BEGIN, 1)[1].split(END, 1)[0]
    assert [line[5:-1] for line in between.splitlines() if line.startswith("### `")] == hook_names()
    assert len(hook_names()) == 18
    assert hook_reference() in page
