"""Pure parts: reading customer keys and identity rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from guanxi.errors import ConfigError
from guanxi.identity import IdentityInputError, IdentityRules, load_rules
from guanxi.identity.keys import CustomerKey, normalize_identifier, parse_customer_key, parse_record_key


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("42", CustomerKey("customer_id", "42")),
        ("id:13812345678", CustomerKey("customer_id", "13812345678")),
        ("138 1234 5678", CustomerKey("phone", "+8613812345678")),
        ("+86 (138) 1234-5678", CustomerKey("phone", "+8613812345678")),
        ("13812345678", CustomerKey("phone", "+8613812345678", (("customer_id", "13812345678"),))),
        ("010-6234 5678", CustomerKey("phone", "+861062345678")),
        (" Amy.Lin@Example.CN ", CustomerKey("email", "amy.lin@example.cn")),
        ("phone:0571 8888 6666", CustomerKey("phone", "+8657188886666")),
    ],
)
def test_customer_keys_are_read_in_every_common_spelling(text: str, expected: CustomerKey) -> None:
    assert parse_customer_key(text, "CN") == expected


@pytest.mark.parametrize("text", ["", "abc", "a@b", "phone:12", "id:abc", "0"])
def test_unreadable_customer_keys_are_refused(text: str) -> None:
    with pytest.raises(IdentityInputError):
        parse_customer_key(text, "CN")


def test_identifier_values_are_made_canonical() -> None:
    assert normalize_identifier("phone", "138-1234-5678", "CN") == "+8613812345678"
    assert normalize_identifier("email", "A@B.CN", "CN") == "a@b.cn"
    assert normalize_identifier("wechat_openid", " wx_app/o_1 ", "CN") == "wx_app/o_1"
    assert parse_record_key("taobao:tb:1") == ("taobao", "tb:1")
    with pytest.raises(IdentityInputError):
        parse_record_key("taobao")


def test_rules_load_from_yaml_with_custom_identifiers(tmp_path: Path) -> None:
    path = tmp_path / "identity.yaml"
    path.write_text(
        "custom_identifiers:\n"
        "  - {kind: douyin_id, table: customers, json_key: douyin_id}\n"
        "source_trust: [crm, jd]\n"
        "survivorship: {name: most_frequent}\n"
        "probabilistic: {link_threshold: 0.99, review_threshold: 0.9}\n",
        encoding="utf-8",
    )
    rules = load_rules(path)
    assert "douyin_id" in rules.linking_kinds()
    assert (rules.trust_rank("jd"), rules.trust_rank("taobao")) == (1, 2)
    assert rules.survivorship.name == "most_frequent"
    assert load_rules(tmp_path / "missing.yaml") == IdentityRules()


def test_invalid_rules_list_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "identity.yaml"
    path.write_text(
        "links: {phone_partial: true}\n"
        "custom_identifiers:\n"
        "  - {kind: Bad Kind, table: customers, column: nope}\n"
        "probabilistic: {link_threshold: 0.5, review_threshold: 0.9}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as raised:
        load_rules(path)
    message = str(raised.value)
    assert "never links on its own" in message
    assert "snake_case" in message
    assert "review_threshold must not exceed link_threshold" in message
