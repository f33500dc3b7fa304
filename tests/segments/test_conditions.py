"""Each built-in condition kind validates, compiles and describes its own leaves (see scenario.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import ibis
import pytest
from ibis.backends import BaseBackend

from guanxi.segments.compiler import Compiler
from guanxi.segments.conditions import condition_kinds
from guanxi.segments.conditions.attribute import AttributeCondition
from guanxi.segments.conditions.behaviour import BehaviourCondition
from guanxi.segments.conditions.score import ScoreCondition, score_columns
from guanxi.segments.conditions.segment import SegmentRef
from guanxi.segments.conditions.tag import TagCondition
from guanxi.segments.description import describe
from guanxi.segments.spec import SpecNode
from guanxi.segments.validation import SegmentSpecError, parse_spec

from .scenario import AS_OF, build


@pytest.fixture(scope="module")
def scenario() -> Iterator[BaseBackend]:
    con = ibis.duckdb.connect()
    build(con)
    yield con
    con.disconnect()


def problems(where: Any, **kwargs: Any) -> list[tuple[str, str]]:
    with pytest.raises(SegmentSpecError) as caught:
        parse_spec({"where": where}, **kwargs)
    return [(p.path, p.code) for p in caught.value.problems]


def test_the_built_in_kinds_are_registered_in_dsl_order() -> None:
    kinds = condition_kinds()
    assert list(kinds)[:5] == ["score", "attribute", "tag", "behaviour", "segment"]
    assert kinds["score"].model is ScoreCondition
    assert kinds.node_keys[:8] == ("all", "any", "not", "score", "attribute", "tag", "behaviour", "segment")


def test_score_columns_are_the_declared_customer_scores_columns() -> None:
    columns = score_columns()
    assert columns["clv"] == "decimal(18, 2)"
    assert columns["rfm_class"] == "string"
    assert "customer_id" not in columns
    assert "run_id" not in columns


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ({"score": "nope", "op": "=", "value": 1}, [("where.score", "unknown_column")]),
        ("clv >= abc", [("where.value", "wrong_value_type")]),
        ("pareto_top > true", [("where.op", "operator_not_allowed")]),
        ({"score": "clv", "op": "is null", "value": 3}, [("where.value", "unexpected_value")]),
        ({"score": "clv", "op": "between", "value": [1]}, [("where.value", "wrong_type")]),
        ({"score": "clv", "op": "~", "value": 1}, [("where.op", "unknown_operator")]),
        ({"score": "clv", "colour": "red"}, [("where.colour", "unknown_field")]),
    ],
)
def test_score_validation(where: Any, expected: list[tuple[str, str]]) -> None:
    assert problems(where) == expected


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ({"attribute": "shoe_size", "value": 42}, [("where.attribute", "unknown_column")]),
        ({"attribute": "age", "op": "in", "value": 3}, [("where.value", "wrong_type")]),
        ({"attribute": "age", "op": "in", "value": [30, "x"]}, [("where.value[1]", "wrong_value_type")]),
        ({"attribute": "has_phone", "op": ">=", "value": True}, [("where.op", "operator_not_allowed")]),
    ],
)
def test_attribute_validation(where: Any, expected: list[tuple[str, str]]) -> None:
    assert problems(where) == expected


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ({"tag": "a.b.c"}, [("where.tag", "wrong_type")]),
        ({"tag": "x", "op": "exists", "value": "y"}, [("where.value", "unexpected_value")]),
        ({"tag": "x", "op": "=", "value": 3}, [("where.value", "wrong_value_type")]),
        ({"tag": "x", "op": "in", "value": []}, [("where.value", "wrong_value_type")]),
        ({"tag": "x", "op": "like"}, [("where.op", "unknown_operator")]),
    ],
)
def test_tag_validation(where: Any, expected: list[tuple[str, str]]) -> None:
    assert problems(where) == expected


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ({"behaviour": "flying"}, [("where.behaviour", "unknown_value")]),
        ({"behaviour": "bought", "op": ">", "value": 1}, [("where.op", "unexpected_value")]),
        ({"behaviour": "spend"}, [("where.op", "missing_field")]),
        ({"behaviour": "order_count", "op": "is null"}, [("where.op", "operator_not_allowed")]),
        ({"behaviour": "spend", "op": ">", "value": "lots"}, [("where.value", "wrong_value_type")]),
        (
            {"behaviour": "days_since_first_purchase", "op": ">", "value": 1, "within_days": 3},
            [("where", "unexpected_value")],
        ),
        ({"behaviour": "bought", "within_days": 0}, [("where.within_days", "wrong_type")]),
    ],
)
def test_behaviour_validation(where: Any, expected: list[tuple[str, str]]) -> None:
    assert problems(where) == expected


def test_segment_validation_checks_the_key_and_the_referenced_segment() -> None:
    assert problems({"segment": "Not A Key"}) == [("where.segment", "wrong_type")]
    assert problems("segment: ghost", resolve=lambda key: None) == [("where.segment", "unknown_segment")]
    assert problems({"not": {"segment": "me"}}, key="me") == [("where.not.segment", "segment_cycle")]


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        (ScoreCondition(score="rfm_class", op="=", value="重要挽留客户"), {2, 3}),
        (ScoreCondition(score="clv", op="is null"), {4}),
        (AttributeCondition(attribute="province", op="=", value="广东"), {1, 2, 6}),
        (AttributeCondition(attribute="age", op="<", value=25), {3}),
        (TagCondition(tag="preference.category", op="=", value="美妆"), {1, 2}),
        (TagCondition(tag="credit.restriction"), {3}),
        (BehaviourCondition(behaviour="bought", within_days=30), {1, 5}),
        (BehaviourCondition(behaviour="not_bought", within_days=90), {2, 4, 6}),
        (BehaviourCondition(behaviour="spend", within_days=365, op=">=", value=500), {1, 3, 5}),
        (BehaviourCondition(behaviour="days_since_first_purchase", op="<", value=1), {5}),
    ],
)
def test_each_kind_compiles_its_leaf_to_the_matching_customer_ids(
    scenario: BaseBackend, node: SpecNode, expected: set[int]
) -> None:
    compiler = Compiler(scenario, AS_OF)
    table = compiler.kinds.of(node).compile(node, compiler)
    assert "customer_id" in table.columns
    assert {row["customer_id"] for row in table.to_pyarrow().to_pylist()} == expected


def test_a_segment_leaf_compiles_the_referenced_rule(scenario: BaseBackend) -> None:
    others = {"big": parse_spec({"where": "clv >= 500"})}
    compiler = Compiler(scenario, AS_OF, others.get)
    node = SegmentRef(segment="big")
    table = compiler.kinds.of(node).compile(node, compiler)
    assert {row["customer_id"] for row in table.to_pyarrow().to_pylist()} == {1, 3, 5}


def test_the_latest_scores_run_is_looked_up_once_per_compile(scenario: BaseBackend) -> None:
    compiler = Compiler(scenario, AS_OF)
    spec = parse_spec({"all": ["clv >= 500", "rfm_segment = Champions", "lifecycle_stage = maturity"]})
    first = compiler.compile(spec)
    assert compiler.memo("score.latest_scores", lambda: pytest.fail("built twice")) is not None
    assert {row["customer_id"] for row in first.to_pyarrow().to_pylist()} == {1}


@pytest.mark.parametrize(
    ("where", "zh", "en"),
    [
        ("rfm_class = 重要挽留客户", "RFM 分类 = 重要挽留客户", "rfm_class = 重要挽留客户"),
        ("clv >= 500", "CLV ≥ 500", "clv ≥ 500"),
        ("clv != 800", "CLV ≠ 800", "clv ≠ 800"),
        ("clv between [450, 600]", "CLV 介于 450 与 600 之间", "clv between 450 and 600"),
        (
            "rfm_segment in [Champions, Loyal]",
            "RFM 客群 为 Champions、Loyal 之一",
            "rfm_segment is one of Champions, Loyal",
        ),
        ("credit_level is null", "信用等级 为空", "credit_level is empty"),
        ("pareto_top = true", "帕累托头部客户 = 是", "pareto_top = true"),
        ("tier_since >= 2024-01-01", "当前等级起始日 ≥ 2024-01-01", "tier_since ≥ 2024-01-01"),
    ],
)
def test_score_description(where: str, zh: str, en: str) -> None:
    spec = parse_spec({"where": where})
    assert (describe(spec, "zh-CN"), describe(spec, "en")) == (zh, en)


@pytest.mark.parametrize(
    ("where", "zh", "en"),
    [
        ("province = 广东", "省份 = 广东", "province = 广东"),
        (
            {"attribute": "age", "op": "between", "value": [25, 40]},
            "年龄 介于 25 与 40 之间",
            "age between 25 and 40",
        ),
        ("city not in [上海, 北京]", "城市 不为 上海、北京 中任何一个", "city is none of 上海, 北京"),
        ("has_email = false", "有邮箱 = 否", "has_email = false"),
        ("gender not null", "性别 不为空", "gender is not empty"),
    ],
)
def test_attribute_description(where: Any, zh: str, en: str) -> None:
    spec = parse_spec({"where": where})
    assert (describe(spec, "zh-CN"), describe(spec, "en")) == (zh, en)


@pytest.mark.parametrize(
    ("where", "zh", "en"),
    [
        ({"tag": "credit.restriction"}, "有标签 credit.restriction", "has tag credit.restriction"),
        (
            "tag: preference.category = 母婴",
            "标签 preference.category = 母婴",
            "tag preference.category = 母婴",
        ),
        (
            {"tag": "category", "op": "in", "value": ["美妆", "母婴"]},
            "标签 category 为 美妆、母婴 之一",
            "tag category is one of 美妆, 母婴",
        ),
        (
            {"tag": "preference.category", "min_weight": 0.5},
            "有标签 preference.category（权重 ≥ 0.5）",
            "has tag preference.category (weight ≥ 0.5)",
        ),
    ],
)
def test_tag_description(where: Any, zh: str, en: str) -> None:
    spec = parse_spec({"where": where})
    assert (describe(spec, "zh-CN"), describe(spec, "en")) == (zh, en)


@pytest.mark.parametrize(
    ("where", "zh", "en"),
    [
        ({"behaviour": "not_bought", "within_days": 90}, "90 天内未购买", "not bought within 90 days"),
        ({"behaviour": "not_bought"}, "从未购买", "never bought"),
        (
            {"behaviour": "not_bought", "category": ["美妆", "服饰"]},
            "从未购买美妆或服饰品类",
            "never bought 美妆 or 服饰",
        ),
        (
            {"behaviour": "bought", "within_days": 30, "category": "母婴"},
            "30 天内购买过母婴品类",
            "bought 母婴 within 30 days",
        ),
        ({"behaviour": "bought"}, "购买过", "has bought"),
        (
            {"behaviour": "order_count", "within_days": 365, "op": ">=", "value": 2},
            "365 天内购买次数 ≥ 2",
            "orders within 365 days ≥ 2",
        ),
        ({"behaviour": "order_count", "op": "=", "value": 1}, "累计购买次数 = 1", "all-time orders = 1"),
        (
            {"behaviour": "spend", "category": "美妆", "op": ">", "value": 100},
            "累计美妆品类消费金额 > 100",
            "all-time spend on 美妆 > 100",
        ),
        (
            {"behaviour": "spend", "within_days": 365, "op": ">=", "value": 1000},
            "365 天内消费金额 ≥ 1000",
            "spend within 365 days ≥ 1000",
        ),
        (
            {"behaviour": "days_since_first_purchase", "op": "between", "value": [30, 90]},
            "首次购买距今天数 介于 30 与 90 之间",
            "days since first purchase between 30 and 90",
        ),
    ],
)
def test_behaviour_description(where: Any, zh: str, en: str) -> None:
    spec = parse_spec({"where": where})
    assert (describe(spec, "zh-CN"), describe(spec, "en")) == (zh, en)


def test_segment_description() -> None:
    spec = parse_spec({"where": "segment: vip"})
    assert (describe(spec, "zh-CN"), describe(spec, "en")) == ("属于分群 vip", "in segment vip")
