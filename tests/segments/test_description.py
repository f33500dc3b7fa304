"""A whole spec in words: combinators as indented lists, leaves by their kinds, in zh-CN and en."""

from __future__ import annotations

from typing import Any

import pytest

from guanxi.segments.description import Clause, describe, describe_all, explain, normal_locale
from guanxi.segments.examples import example
from guanxi.segments.validation import parse_spec


def test_an_example_reads_as_an_indented_list_in_both_languages() -> None:
    spec = example("at_risk_high_value")
    assert describe(spec, "zh-CN") == (
        "全部满足：\n- RFM 分类 = 重要挽留客户\n- CLV ≥ 500\n- 满足任一：\n  - 有手机号 = 是\n  - 有邮箱 = 是"
    )
    assert describe(spec, "en") == (
        "all of:\n- rfm_class = 重要挽留客户\n- clv ≥ 500\n- any of:\n  - has_phone = true\n  - has_email = true"
    )


def test_explain_gives_the_tree_the_web_page_renders() -> None:
    spec = example("maternal_infant_buyers")
    assert explain(spec, "zh-CN") == Clause(
        "全部满足：",
        (
            Clause("标签 preference.category = 母婴"),
            Clause("180 天内购买过"),
            Clause("不满足：有标签 credit.restriction"),
        ),
    )


@pytest.mark.parametrize(
    ("where", "zh", "en"),
    [
        ({"all": []}, "所有客户", "every customer"),
        ({"any": []}, "没有客户", "nobody"),
        ({"all": ["clv > 1"]}, "CLV > 1", "clv > 1"),  # one child needs no list
        ({"not": {"segment": "blocklist"}}, "不满足：属于分群 blocklist", "not: in segment blocklist"),
        (
            {"not": {"any": ["province = 广东", "segment: vip"]}},
            "不满足：\n- 满足任一：\n  - 省份 = 广东\n  - 属于分群 vip",
            "not:\n- any of:\n  - province = 广东\n  - in segment vip",
        ),
    ],
)
def test_combinators(where: Any, zh: str, en: str) -> None:
    spec = parse_spec({"where": where})
    assert describe_all(spec) == {"zh-CN": zh, "en": en}


@pytest.mark.parametrize(
    ("asked", "used"), [(None, "zh-CN"), ("zh-CN", "zh-CN"), ("zh", "zh-CN"), ("en", "en"), ("fr", "en")]
)
def test_locales_fall_back_to_chinese_or_english(asked: str | None, used: str) -> None:
    assert normal_locale(asked) == used
