"""Reading Segment messages: required fields, types, sizes, the skew-corrected time, derived ids."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from guanxi.events.errors import BodyUnreadableError, EventInvalidError
from guanxi.events.messages import (
    MAX_EVENT_BYTES,
    Rejection,
    corrected_time,
    parse_body,
    read_request,
    rejection_message,
)

RECEIVED = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def track(**fields: Any) -> dict[str, Any]:
    return {"type": "track", "event": "Order Completed", "userId": "u1", "messageId": "m1", **fields}


def batch(*messages: Any, **top: Any) -> dict[str, Any]:
    return {"batch": list(messages), **top}


def test_a_slow_client_clock_is_corrected_by_the_gap_between_sent_at_and_received_at() -> None:
    # The client's clock is an hour behind: it stamped the event 5 minutes before it sent it.
    result = read_request(
        track(timestamp="2026-03-01T08:25:00Z", sentAt="2026-03-01T08:30:00Z"),
        kind="track",
        received_at=RECEIVED,
    )
    assert result.accepted[0].occurred_at == datetime(2026, 3, 1, 9, 25, tzinfo=UTC)


def test_the_batch_sent_at_applies_to_messages_without_their_own() -> None:
    result = read_request(
        batch(
            track(messageId="a", timestamp="2026-03-01T10:29:00+00:00"),
            track(messageId="b", timestamp="2026-03-01T10:29:00+00:00", sentAt="2026-03-01T10:29:30Z"),
            sentAt="2026-03-01T10:30:00.000Z",
        ),
        kind=None,
        received_at=RECEIVED,
    )
    assert [m.occurred_at for m in result.accepted] == [
        datetime(2026, 3, 1, 9, 29, tzinfo=UTC),
        datetime(2026, 3, 1, 9, 29, 30, tzinfo=UTC),
    ]


@pytest.mark.parametrize(
    ("timestamp", "sent_at", "expected"),
    [
        (None, None, RECEIVED),
        (None, RECEIVED - timedelta(hours=3), RECEIVED),
        (RECEIVED - timedelta(days=2), None, RECEIVED - timedelta(days=2)),
    ],
)
def test_without_a_timestamp_the_receive_time_counts_and_without_sent_at_the_timestamp(
    timestamp: datetime | None, sent_at: datetime | None, expected: datetime
) -> None:
    assert corrected_time(timestamp, sent_at, RECEIVED) == expected


def test_a_time_without_an_offset_is_utc_and_an_offset_is_honoured() -> None:
    result = read_request(
        batch(
            track(messageId="a", timestamp="2026-03-01T09:00:00"),
            track(messageId="b", timestamp="2026-03-01T17:00:00+08:00"),
        ),
        kind=None,
        received_at=RECEIVED,
    )
    assert {m.occurred_at for m in result.accepted} == {datetime(2026, 3, 1, 9, 0, tzinfo=UTC)}


def test_the_stored_payload_keeps_the_message_and_adds_received_at_but_never_the_write_key() -> None:
    result = read_request(
        batch(
            track(properties={"价格": 99}),
            sentAt="2026-03-01T09:30:00Z",
            writeKey="secret",
            context={"ip": "1.2.3.4"},
        ),
        kind=None,
        received_at=RECEIVED,
    )
    stored = json.loads(result.accepted[0].payload)
    assert stored["properties"] == {"价格": 99}
    assert stored["receivedAt"] == "2026-03-01T09:30:00+00:00"
    assert stored["sentAt"] == "2026-03-01T09:30:00Z"
    assert stored["context"] == {"ip": "1.2.3.4"}
    assert "writeKey" not in stored


def test_batch_context_is_merged_under_each_messages_own() -> None:
    result = read_request(
        batch(track(context={"ip": "5.6.7.8"}), context={"ip": "1.2.3.4", "locale": "zh-CN"}),
        kind=None,
        received_at=RECEIVED,
    )
    assert json.loads(result.accepted[0].payload)["context"] == {"ip": "5.6.7.8", "locale": "zh-CN"}


def test_numeric_ids_are_taken_as_text() -> None:
    result = read_request(track(userId=42, messageId=7), kind="track", received_at=RECEIVED)
    stored = json.loads(result.accepted[0].payload)
    assert (stored["userId"], result.accepted[0].message_id) == ("42", "7")


def test_a_message_without_message_id_gets_one_from_its_content() -> None:
    same = track(timestamp="2026-03-01T09:00:00Z")
    del same["messageId"]
    first = read_request(batch(same, sentAt="2026-03-01T09:30:00Z"), kind=None, received_at=RECEIVED)
    retried = read_request(
        batch(same, sentAt="2026-03-01T09:31:00Z"), kind=None, received_at=RECEIVED + timedelta(minutes=1)
    )
    assert first.accepted[0].message_id.startswith("h:")
    assert first.accepted[0].message_id == retried.accepted[0].message_id


def test_without_message_id_and_timestamp_two_identical_calls_stay_two_events() -> None:
    bare = {"type": "track", "event": "Clicked", "anonymousId": "a1"}
    result = read_request(batch(bare, bare), kind=None, received_at=RECEIVED)
    assert len({m.message_id for m in result.accepted}) == 2


def test_the_same_message_id_twice_in_one_batch_is_kept_once() -> None:
    result = read_request(batch(track(), track()), kind=None, received_at=RECEIVED)
    assert (len(result.accepted), result.valid) == (1, 2)


@pytest.mark.parametrize(
    ("message", "field", "reason"),
    [
        ({"type": "track", "event": "x"}, "userId", "userId or anonymousId is required"),
        ({"type": "track", "event": "x", "userId": "  "}, "userId", "userId or anonymousId is required"),
        ({"type": "track", "userId": "u"}, "event", "track needs the event name"),
        ({"type": "track", "event": 5, "userId": "u"}, "event", "track needs the event name"),
        ({"type": "alias", "userId": "u"}, "previousId", "alias needs previousId"),
        ({"type": "alias", "previousId": "a"}, "userId", "alias needs previousId"),
        ({"type": "group", "userId": "u"}, "groupId", "group needs groupId"),
        ({"type": "identify", "userId": True}, "userId", "must be a string, not a boolean"),
        ({"type": "identify", "userId": "u", "traits": ["a"]}, "traits", "must be an object, not an array"),
        ({"type": "page", "userId": "u", "properties": "x"}, "properties", "must be an object, not a string"),
        ({"type": "page", "userId": "u", "context": 3}, "context", "must be an object, not a number"),
        ({"type": "page", "userId": "u", "timestamp": "yesterday"}, "timestamp", "is not an ISO 8601 time"),
        (
            {"type": "page", "userId": "u", "timestamp": 1700000000},
            "timestamp",
            "must be an ISO 8601 time string",
        ),
        (
            {"type": "page", "userId": "u", "timestamp": "1066-10-14T09:00:00Z"},
            "timestamp",
            "outside the years",
        ),
        ({"type": "page", "userId": "u", "messageId": "m" * 256}, "messageId", "longer than 255"),
        ({"type": "checkout", "userId": "u"}, "type", "'checkout' is not one of track, identify"),
        ({"userId": "u"}, "type", "must be one of track, identify"),
        ("not an object", "", "must be a JSON object, not a string"),
    ],
)
def test_each_bad_message_is_rejected_with_its_index_and_field(message: Any, field: str, reason: str) -> None:
    result = read_request(batch(track(messageId="ok"), message), kind=None, received_at=RECEIVED)
    assert [m.message_id for m in result.accepted] == ["ok"]
    (rejection,) = result.rejected
    assert (rejection.index, rejection.field) == (1, field)
    assert reason in rejection.reason


def test_a_message_over_32_kb_is_rejected_and_its_neighbours_kept() -> None:
    big = track(messageId="big", properties={"blob": "x" * MAX_EVENT_BYTES})
    result = read_request(batch(big, track(messageId="small")), kind=None, received_at=RECEIVED)
    assert [m.message_id for m in result.accepted] == ["small"]
    assert result.rejected == [Rejection(0, "", result.rejected[0].reason)]
    assert "at most 32768 (32 KB)" in result.rejected[0].reason


def test_a_single_call_takes_its_type_from_the_path() -> None:
    result = read_request({"userId": "u", "name": "Home"}, kind="page", received_at=RECEIVED)
    assert result.accepted[0].type == "page"
    assert result.rejected == []


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"batch": {"type": "track"}}, "batch: must be an array of messages, not an object"),
        ({"events": []}, "batch: must be an array of messages, not null"),
        ({"batch": [], "sentAt": "soon"}, "sentAt: 'soon' is not an ISO 8601 time"),
        ({"batch": [], "context": []}, "context: must be an object"),
    ],
)
def test_a_malformed_batch_is_refused_as_a_whole(body: dict[str, Any], problem: str) -> None:
    with pytest.raises(EventInvalidError, match=problem):
        read_request(body, kind=None, received_at=RECEIVED)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"{not json", "not JSON"),
        (b"[1, 2]", "must be a JSON object, not an array"),
        (b'{"a": NaN}', "not JSON"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_unreadable(body: bytes, problem: str) -> None:
    with pytest.raises(BodyUnreadableError, match=problem):
        parse_body(body)


def test_the_rejection_summary_names_index_and_field_and_counts_the_rest() -> None:
    rejected = [Rejection(i, "userId", "userId or anonymousId is required") for i in range(12)]
    message = rejection_message(rejected, 12)
    assert message.startswith(
        "12 of 12 messages rejected: batch[0].userId: userId or anonymousId is required;"
    )
    assert message.endswith("and 2 more")
    assert rejection_message([Rejection(None, "event", "track needs it")], 1) == "event: track needs it"
