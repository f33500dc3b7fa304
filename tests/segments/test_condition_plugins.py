"""Condition kinds are plugins: a third-party kind plugs in, duplicates are refused, built-ins use the hook."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir
import pytest
from ibis.backends import BaseBackend

from guanxi.errors import ConfigError
from guanxi.plugins import DEFAULT_PLUGINS, build_plugin_manager, hookimpl, using_plugins
from guanxi.segments.compiler import compile_spec
from guanxi.segments.conditions import ConditionKind, condition_kinds
from guanxi.segments.conditions.score import ScoreCondition
from guanxi.segments.description import describe, say
from guanxi.segments.spec import SegmentSpec, SpecNode
from guanxi.segments.validation import Problem, SegmentSpecError, load_spec, parse_spec, validate_spec

from .scenario import AS_OF, build

if TYPE_CHECKING:
    from guanxi.segments.compiler import Compiler


class PhonePrefixCondition(SpecNode):
    """Customers whose phone number starts with ``phone_prefix``."""

    phone_prefix: str


class PhonePrefix(ConditionKind[PhonePrefixCondition]):
    """A third-party kind: ``{phone_prefix: "+86138"}``, shorthand ``phone_prefix = +86138``."""

    key = "phone_prefix"
    model = PhonePrefixCondition

    def read_shorthand(self, text: str) -> dict[str, Any] | None:
        match = re.fullmatch(r"\s*phone_prefix\s*=\s*(\S+)\s*", text)
        return None if match is None else {"phone_prefix": match[1]}

    def validate(self, node: PhonePrefixCondition, path: str) -> Iterator[Problem]:
        if not re.fullmatch(r"\+?\d{1,15}", node.phone_prefix):
            message = f"{node.phone_prefix!r} is not the start of a phone number"
            yield Problem(f"{path}.phone_prefix", "wrong_value_type", message)

    def compile(self, node: PhonePrefixCondition, compiler: Compiler) -> ir.Table:
        customers = compiler.table("customers")
        return customers.filter(customers.phone.startswith(node.phone_prefix)).select("customer_id")

    def describe(self, node: PhonePrefixCondition, locale: str) -> str:
        prefix = node.phone_prefix
        return say(locale, zh=f"手机号以 {prefix} 开头", en=f"phone number starts with {prefix}")


class PhonePlugin:
    @hookimpl
    def register_segment_conditions(self) -> list[ConditionKind[Any]]:
        return [PhonePrefix()]


class Impostor(ConditionKind[ScoreCondition]):
    key = "score"
    model = ScoreCondition

    def compile(self, node: ScoreCondition, compiler: Compiler) -> ir.Table:
        raise NotImplementedError

    def describe(self, node: ScoreCondition, locale: str) -> str:
        return "?"


class ImpostorPlugin:
    @hookimpl
    def register_segment_conditions(self) -> list[ConditionKind[Any]]:
        return [Impostor()]


class CombinatorPlugin:
    @hookimpl
    def register_segment_conditions(self) -> list[ConditionKind[Any]]:
        kind = PhonePrefix()
        kind.key = "all"
        return [kind]


@pytest.fixture(scope="module")
def scenario() -> Iterator[BaseBackend]:
    con = ibis.duckdb.connect()
    build(con)
    yield con
    con.disconnect()


def ids(table: ir.Table) -> set[int]:
    return {row["customer_id"] for row in table.to_pyarrow().to_pylist()}


def test_a_plugin_kind_validates_compiles_and_describes_itself(scenario: BaseBackend) -> None:
    with using_plugins(PhonePlugin()):
        spec = load_spec("where: {all: [phone_prefix = +86138, province = 广东]}")
        assert spec.to_data() == {
            "where": {
                "all": [{"phone_prefix": "+86138"}, {"attribute": "province", "op": "=", "value": "广东"}]
            }
        }
        assert load_spec(spec.to_yaml()) == spec
        assert ids(compile_spec(scenario, spec, as_of=AS_OF)) == {1}
        assert describe(spec, "zh-CN") == "全部满足：\n- 手机号以 +86138 开头\n- 省份 = 广东"
        assert describe(spec, "en") == "all of:\n- phone number starts with +86138\n- province = 广东"
        with pytest.raises(SegmentSpecError) as caught:
            parse_spec({"any": [{"phone_prefix": "138-x"}, {"phone_prefix": 1, "op": "="}]})
        assert [(p.path, p.code) for p in caught.value.problems] == [
            ("where.any[0].phone_prefix", "wrong_value_type"),
            ("where.any[1].phone_prefix", "wrong_type"),
            ("where.any[1].op", "unknown_field"),
        ]
    with pytest.raises(SegmentSpecError) as gone:
        parse_spec({"where": {"phone_prefix": "+86138"}})
    assert [(p.path, p.code) for p in gone.value.problems] == [("where", "unknown_node")]


def test_a_plugin_kind_is_a_known_key_and_models_validate_through_it() -> None:
    with using_plugins(PhonePlugin()):
        assert "phone_prefix" in condition_kinds()
        spec = SegmentSpec.model_validate({"where": {"not": {"phone_prefix": "+86"}}})
        with pytest.raises(SegmentSpecError) as caught:
            parse_spec({"where": {"colour": "blue"}})
    message = caught.value.problems[0].message
    assert caught.value.problems[0].code == "unknown_node"
    assert "colour" in message
    assert "all, any, not, score, attribute, tag, behaviour, segment, phone_prefix" in message
    assert spec.to_data() == {"where": {"not": {"phone_prefix": "+86"}}}


def test_a_kind_taking_a_built_in_key_is_refused_naming_both_plugins() -> None:
    with using_plugins(ImpostorPlugin()), pytest.raises(ConfigError) as caught:
        parse_spec({"where": "clv > 1"})
    assert "'score'" in caught.value.message
    assert "guanxi.segments.plugin" in caught.value.message


def test_a_kind_may_not_take_a_combinator_key() -> None:
    with using_plugins(CombinatorPlugin()), pytest.raises(ConfigError, match="other than all, any, not"):
        condition_kinds()


WITHOUT_SEGMENTS = tuple(name for name in DEFAULT_PLUGINS if name != "guanxi.segments.plugin")


def test_built_in_kinds_come_only_through_the_hook(scenario: BaseBackend) -> None:
    bare = build_plugin_manager(defaults=WITHOUT_SEGMENTS, entry_points=False)
    assert len(condition_kinds(bare)) == 0
    with pytest.raises(SegmentSpecError) as caught:
        parse_spec({"where": {"score": "clv", "op": ">=", "value": 500}}, pm=bare)
    [problem] = caught.value.problems
    assert (problem.path, problem.code) == ("where", "unknown_node")
    assert "a condition needs one of the keys all, any, not" in problem.message
    with pytest.raises(SegmentSpecError, match="unreadable_condition|cannot read"):
        parse_spec({"where": "clv >= 500"}, pm=bare)

    built = parse_spec({"where": "clv >= 500"})  # the process's manager has the built-ins
    assert [p.code for p in validate_spec(built, pm=bare)] == ["unknown_node"]
    with pytest.raises(SegmentSpecError, match="no registered condition kind"):
        compile_spec(scenario, built, as_of=AS_OF, pm=bare)
    with pytest.raises(SegmentSpecError, match="no registered condition kind"):
        describe(built, "en", pm=bare)

    only_segments = build_plugin_manager(defaults=("guanxi.segments.plugin",), entry_points=False)
    assert parse_spec({"where": "clv >= 500"}, pm=only_segments) == built
    assert ids(compile_spec(scenario, built, as_of=AS_OF, pm=only_segments)) == {1, 3, 5}
