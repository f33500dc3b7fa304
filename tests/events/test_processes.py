"""Real ``guanxi serve`` processes: SIGKILL after 200s loses nothing acknowledged, and Segment's own
Python library talks to the intake unchanged. The loader here is the server's own service loop."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from segment.analytics import Client
from segment.analytics.request import APIError

from guanxi.appdb.migrate import upgrade
from guanxi.config import Settings
from tests.events.conftest import IssueKey, basic
from tests.events.servers import ServeProcess, query, serve_env, spool_size, stored_events, wait_for

pytestmark = pytest.mark.slow


@pytest.fixture
def migrated(events_settings: Settings) -> Settings:
    upgrade(events_settings)
    return events_settings


@pytest.fixture
def server(migrated: Settings, tmp_path: Path) -> Iterator[ServeProcess]:
    process = ServeProcess(serve_env(migrated), tmp_path)
    yield process
    process.stop()


def message(i: int, run: str) -> dict[str, Any]:
    return {"type": "track", "userId": f"u{i % 97}", "event": "Viewed", "messageId": f"{run}-{i}"}


class Sender(threading.Thread):
    """Posts batches of 50 messages until told to stop or the server goes away; remembers the acknowledged ids."""

    def __init__(self, url: str, key: str, run: str, batches: list[list[dict[str, Any]]]) -> None:
        super().__init__(daemon=True)
        self.url, self.key, self.run_name, self.batches = url, key, run, batches
        self.acked: list[str] = []
        self.acked_batches: list[list[dict[str, Any]]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        with httpx.Client(timeout=10) as client:
            for batch in self.batches:
                if self.stop.is_set():
                    return
                try:
                    response = client.post(
                        f"{self.url}/v1/batch", json={"batch": batch}, headers=basic(self.key)
                    )
                except httpx.HTTPError:
                    return
                if response.status_code == 200:
                    self.acked.extend(m["messageId"] for m in batch)
                    self.acked_batches.append(batch)


def test_sigkill_after_200s_loses_no_acknowledged_event_and_stores_none_twice(
    migrated: Settings, issue_key: IssueKey, tmp_path: Path
) -> None:
    key = issue_key()
    run = uuid.uuid4().hex[:6]
    first = ServeProcess(serve_env(migrated, GUANXI_EVENTS_LOAD_SECONDS="0.3"), tmp_path, "first")
    senders = [
        Sender(
            first.url,
            key,
            run,
            [[message(s * 100_000 + b * 50 + i, run) for i in range(50)] for b in range(400)],
        )
        for s in range(3)
    ]
    for sender in senders:
        sender.start()

    def acknowledged() -> int:
        return sum(len(s.acked) for s in senders)

    wait_for(lambda: acknowledged() >= 3000, 60, "3000 acknowledged events")
    # The loader has moved some of them (the spool holds fewer than were acknowledged) while more arrive.
    wait_for(lambda: spool_size(migrated) < acknowledged(), 60, "the first server's loader to run")
    first.kill()  # mid-stream: requests in flight, the loader between passes or inside one
    for sender in senders:
        sender.stop.set()
        sender.join(30)
    acked = {m for s in senders for m in s.acked}
    assert spool_size(migrated) > 0, "the kill should leave acknowledged events in the spool"

    second = ServeProcess(serve_env(migrated), tmp_path, "second")
    retried = senders[0].acked_batches[0]  # a client that never saw the first answer sends again
    assert (
        httpx.post(f"{second.url}/v1/batch", json={"batch": retried}, headers=basic(key)).status_code == 200
    )
    wait_for(lambda: spool_size(migrated) == 0, 60, "the restarted server's loader to drain the spool")
    assert second.stop() in (0, -15)  # uvicorn re-raises SIGTERM after its graceful shutdown

    stored = stored_events(migrated)
    ids = [event_id for _source, event_id in stored]
    assert len(ids) == len(set(ids)), "an event was stored twice"
    assert acked <= set(ids), f"{len(acked - set(ids))} acknowledged event(s) lost"


def test_segments_python_library_sends_track_identify_and_page_that_land(
    server: ServeProcess, migrated: Settings, write_key: str
) -> None:
    errors: list[Any] = []
    client = Client(write_key, host=server.url, sync_mode=True, on_error=lambda e, batch: errors.append(e))
    client.identify("u-42", {"email": "Wang.Wu@Example.com", "phone": "+86 138 0013 8000", "name": "王五"})
    client.track("u-42", "Order Completed", {"revenue": 128, "currency": "CNY"})
    client.page("u-42", "Docs", "Events", {"url": "https://shop.example/docs"})
    queued = Client(write_key, host=server.url)  # the default: a background thread posting batches
    queued.track(anonymous_id="anon-1", event="Viewed", properties={"sku": "A1"})
    queued.flush()
    queued.join()
    assert errors == []
    wait_for(lambda: spool_size(migrated) == 0, 30, "the server's loader to drain the spool")
    server.stop()
    found = query(
        migrated,
        "SELECT type, event, source_customer_id, anonymous_id, email, phone FROM raw_events ORDER BY type",
    )
    assert found == [
        ("identify", None, "u-42", None, "wang.wu@example.com", "+8613800138000"),
        ("page", "Events", "u-42", None, None, None),
        ("track", "Order Completed", "u-42", None, None, None),
        ("track", "Viewed", None, "anon-1", None, None),
    ]
    assert query(migrated, "SELECT source_customer_id, name, phone FROM raw_customers") == [
        ("u-42", "王五", "+8613800138000")
    ]


def test_segments_python_library_gets_a_401_for_an_unknown_key(server: ServeProcess) -> None:
    client = Client("gx_00000000_unknown", host=server.url, sync_mode=True)
    with pytest.raises(APIError) as raised:
        client.track("u1", "Viewed")
    assert raised.value.status == 401
