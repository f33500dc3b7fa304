"""The send path's rules over columns, and the definition's validation."""

from __future__ import annotations

import pyarrow as pa
import pytest

from guanxi.errors import ValidationFailedError
from guanxi.marketing.campaigns.definition import parse_definition
from guanxi.marketing.campaigns.rules import ChannelRule, Policy, apply_rules, funnel

WECHAT = ChannelRule("wechat", "wechat_openid", "wechat", needs_consent=False, customer_facing=True)
SMS = ChannelRule("sms", "phone", "sms", needs_consent=True, customer_facing=True)
EMAIL = ChannelRule("email", "email", "email", needs_consent=True, customer_facing=True)
TASK = ChannelRule("task", "customer_id", "task", needs_consent=False, customer_facing=False)

PEOPLE = pa.table(
    {
        "customer_id": pa.array([1, 2, 3, 4, 5, 6, 7], pa.int64()),
        "email": ["a@x.cn", None, "c@x.cn", "d@x.cn", "e@x.cn", "f@x.cn", None],
        "phone": ["+8613800000001", "+8613800000002", None, None, None, None, None],
        "wechat_openid": [None, None, None, "o4", None, None, None],
        "do_not_disturb": [False, False, False, False, True, False, False],
        "no_cash_coupon": [False, False, False, False, False, True, False],
    }
)
CONSENT = pa.table(
    {
        "medium": ["email", "email", "email", "sms", "email", "email"],
        "address": ["a@x.cn", "c@x.cn", "d@x.cn", "+8613800000002", "e@x.cn", "f@x.cn"],
        "state": ["granted"] * 6,
    }
)
BLOCKED = pa.table({"medium": ["*"], "address": ["c@x.cn"]})
CONTACTED = pa.table({"customer_id": ["1"], "sent": pa.array([2], pa.int64())})


def outcomes(channels: list[ChannelRule], **policy: object) -> dict[int, tuple[str, str | None]]:
    chosen = Policy(
        transactional=bool(policy.get("transactional", False)),
        respect_do_not_disturb=True,
        offers_cash_coupon=bool(policy.get("coupon", False)),
        cap=int(policy.get("cap", 2)),  # type: ignore[call-overload]
    )
    table = apply_rules(
        PEOPLE, channels, consent=CONSENT, suppressed=BLOCKED, contacted=CONTACTED, policy=chosen
    )
    return {r["customer_id"]: (r["outcome"], r["channel"]) for r in table.to_pylist()}


def test_each_person_gets_the_first_channel_that_passes_or_the_first_rule_failed() -> None:
    assert outcomes([WECHAT, SMS, EMAIL]) == {
        1: ("capped", "email"),  # no SMS consent: falls back to e-mail, then at the cap
        2: ("queued", "sms"),
        3: ("suppressed", None),
        4: ("queued", "wechat"),  # WeChat needs no consent and comes first
        5: ("do_not_disturb", "email"),
        6: ("queued", "email"),
        7: ("unreachable", None),
    }


def test_the_funnel_counts_the_people_left_after_each_rule() -> None:
    table = apply_rules(
        PEOPLE,
        [SMS, EMAIL],
        consent=CONSENT,
        suppressed=BLOCKED,
        contacted=CONTACTED,
        policy=Policy(False, True, True, 2),
    )
    counts = funnel(table)
    assert [
        counts[k]
        for k in ("audience", "reachable", "consented", "not_suppressed", "not_do_not_disturb", "under_cap")
    ] == [7, 6, 6, 5, 3, 2]
    assert counts["outcome_no_cash_coupon"] == 1
    assert counts["outcome_capped"] == 1


def test_transactional_messages_skip_consent_caps_and_do_not_disturb_but_not_suppression() -> None:
    got = outcomes([SMS, EMAIL], transactional=True)
    assert got[1] == ("queued", "sms")
    assert got[5] == ("queued", "email")
    assert got[3] == ("suppressed", None)


def test_a_staff_facing_channel_is_never_capped() -> None:
    assert outcomes([TASK], cap=0)[1] == ("queued", "task")


def test_a_definition_reports_every_problem_and_broken_templates() -> None:
    with pytest.raises(ValidationFailedError) as caught:
        parse_definition(
            {
                "name": "x",
                "audience": {"segment": "vip"},
                "channels": ["email", "fax"],
                "content": {"email": {"subject": "{{ name ", "body": "ok"}, "fax": {"body": "{% if %}"}},
            },
            known_channels={"email", "sms"},
        )
    message = caught.value.message
    assert "no channel named 'fax'" in message
    assert "content.email.subject" in message
    assert "content.fax.body" in message


def test_waves_need_a_time_zone_and_content_for_every_channel() -> None:
    base = {
        "name": "x",
        "audience": {"customers": ["1"]},
        "channels": ["sms"],
        "content": {"sms": {"body": "b"}},
    }
    with pytest.raises(ValidationFailedError, match="time zone"):
        parse_definition({**base, "schedule": {"mode": "waves", "waves": [{"at": "2026-11-01T20:00:00"}]}})
    with pytest.raises(ValidationFailedError, match="batch_size"):
        parse_definition({**base, "schedule": {"mode": "batches"}})
    with pytest.raises(ValidationFailedError, match="no content for channel email"):
        parse_definition({**base, "channels": ["sms", "email"]})
