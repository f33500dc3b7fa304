"""The DSL: shorthand and long forms, round trips, and every problem reported at once."""

from __future__ import annotations

import json

import pytest

from guanxi.errors import ConfigError
from guanxi.segments.conditions.score import ScoreCondition
from guanxi.segments.conditions.tag import TagCondition
from guanxi.segments.spec import AllOf, SegmentSpec
from guanxi.segments.validation import SegmentSpecError, dump_json, load_spec, parse_spec

FULL = """
name: 母婴 buyers worth keeping
description: every kind of condition once
where:
  all:
    - rfm_segment in [Champions, Loyal]
    - clv >= 500
    - tag: preference.category = 母婴
    - {attribute: age, op: between, value: [25, 40]}
    - {behaviour: not_bought, within_days: 90, category: 母婴}
    - {behaviour: spend, within_days: 365, op: ">=", value: 1000}
    - not: {segment: blocklist}
    - tier_since >= 2024-01-01
    - has_phone = true
    - credit_level is null
    - any: [province = 广东, "city in [上海, 北京]"]
"""


def test_shorthand_expands_to_the_long_form() -> None:
    spec = load_spec(FULL)
    assert isinstance(spec.where, AllOf)
    first, second, tag = spec.where.all[:3]
    assert first == ScoreCondition(score="rfm_segment", op="in", value=["Champions", "Loyal"])
    assert second == ScoreCondition(score="clv", op=">=", value=500)
    assert tag == TagCondition(tag="preference.category", op="=", value="母婴")
    assert spec.to_data()["where"]["all"][7] == {"score": "tier_since", "op": ">=", "value": "2024-01-01"}
    assert spec.to_data()["where"]["all"][8] == {"attribute": "has_phone", "op": "=", "value": True}


def test_specs_round_trip_through_yaml_and_json() -> None:
    spec = load_spec(FULL)
    assert load_spec(spec.to_yaml()) == spec
    assert parse_spec(json.loads(dump_json(spec))) == spec
    assert "母婴" in dump_json(spec)


def test_a_bare_node_is_the_where_of_a_spec() -> None:
    assert parse_spec({"score": "clv", "op": ">", "value": 1}) == SegmentSpec(
        where=ScoreCondition(score="clv", op=">", value=1)
    )


def test_every_problem_is_listed_with_its_path() -> None:
    text = """
colour: blue
where:
  all:
    - nope = 3
    - clv >= abc
    - {score: clv, op: "~", value: 3}
    - {attribute: age, op: in, value: 3}
    - {foo: 1}
    - {behaviour: spend, within_days: 0, op: ">", value: 1}
    - {tag: x.y, op: like}
    - garbage
    - any: [{attribute: shoe_size, op: "=", value: 42}, "rfm_segment = 5", {segment: me}]
    - {behaviour: bought, op: ">", value: 1}
    - pareto_top > true
    - tier_since = 2024-13-45
"""
    with pytest.raises(SegmentSpecError) as caught:
        load_spec(text, key="me", resolve=lambda key: None)
    err = caught.value
    assert isinstance(err, ConfigError)
    assert err.code == "segment_invalid"
    found = [(p.path, p.code) for p in err.problems]
    assert found == [
        ("colour", "unknown_field"),
        ("where.all[0].score", "unknown_column"),
        ("where.all[1].value", "wrong_value_type"),
        ("where.all[2].op", "unknown_operator"),
        ("where.all[3].value", "wrong_type"),
        ("where.all[4]", "unknown_node"),
        ("where.all[5].within_days", "wrong_type"),
        ("where.all[6].op", "unknown_operator"),
        ("where.all[7]", "unreadable_condition"),
        ("where.all[8].any[0].attribute", "unknown_column"),
        ("where.all[8].any[1].value", "wrong_value_type"),
        ("where.all[9].op", "unexpected_value"),
        ("where.all[10].op", "operator_not_allowed"),
        ("where.all[11].value", "wrong_value_type"),
        ("where.all[8].any[2].segment", "segment_cycle"),
    ]
    assert "15 problem(s)" in str(err)


def test_unknown_segments_and_indirect_cycles_are_found_through_the_resolver() -> None:
    others = {"b": parse_spec({"segment": "c"}), "c": parse_spec({"all": [{"segment": "a"}]})}
    with pytest.raises(SegmentSpecError) as caught:
        parse_spec({"any": [{"segment": "b"}, {"segment": "ghost"}]}, key="a", resolve=others.get)
    assert [(p.path, p.code) for p in caught.value.problems] == [
        ("where.any[0].segment", "segment_cycle"),
        ("where.any[1].segment", "unknown_segment"),
    ]
    assert "a → b → c → a" in caught.value.problems[0].message


def test_a_reference_without_a_cycle_is_valid() -> None:
    others = {
        "b": parse_spec({"segment": "c"}),
        "c": parse_spec({"score": "clv", "op": ">", "value": 1}),
    }
    spec = parse_spec({"segment": "b"}, key="a", resolve=others.get)
    assert spec.to_data() == {"where": {"segment": "b"}}


@pytest.mark.parametrize("text", ["[1, 2]", "where: {all: 3}", "{where: [x]}", ": :"])
def test_malformed_documents_are_segment_errors(text: str) -> None:
    with pytest.raises(SegmentSpecError):
        load_spec(text)
