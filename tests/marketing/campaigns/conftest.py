"""Campaign fixtures: a tiny shop warehouse, a migrated app database, real SMTP and SMS servers, a clock.

The shop (``SHOP``): nine customers; odd ids have an e-mail, ids 2, 4, 6, 8 a
phone, 9 a WeChat openid for app ``wxshop``; 8 complained twice (credit
``do_not_disturb``). Consent and suppressions are set by each test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from ibis.backends import BaseBackend
from pydantic import SecretStr
from pydantic_settings import BaseSettings
from sqlalchemy.orm import Session, sessionmaker

from guanxi.appdb.database import make_engine, session_factory
from guanxi.appdb.migrate import upgrade
from guanxi.config import Settings
from guanxi.identity.schema import IDENTITY_IDENTIFIERS
from guanxi.jobs.kinds import JobContext
from guanxi.jobs.registry import job_kinds
from guanxi.jobs.runner import run_pending
from guanxi.marketing.campaigns.jobs import queue_due_waves
from guanxi.marketing.channels import ChannelSet
from guanxi.marketing.channels.sms_http import SmsHttpSettings
from guanxi.marketing.channels.smtp import SmtpSettings
from guanxi.marketing.channels.webhook import WebhookSettings
from guanxi.marketing.worker import Worker
from guanxi.models.outputs import CUSTOMER_TAGS
from guanxi.tables import CUSTOMERS, IDENTITY_MAP
from tests.appdb_fixtures import app_settings
from tests.marketing.channels_sms.servers import ProviderServer
from tests.marketing.receiver import WebhookReceiver
from tests.marketing.test_smtp import Mailbox, mailbox
from tests.segments.scenario import insert

__all__ = ["app_settings", "mailbox"]

WEBHOOK_SECRET = "whsec-campaign-test"  # noqa: S105 - a test secret


def shop_customers() -> list[dict[str, Any]]:
    rows = []
    for number in range(1, 10):
        rows.append(
            {
                "customer_id": number,
                "name": None if number == 3 else f"客户{number}",
                "city": "深圳" if number % 2 else "杭州",
                "email": f"c{number}@shop.cn" if number % 2 else None,
                "phone": f"+86138000000{number:02d}" if number in (2, 4, 6, 8) else None,
            }
        )
    return rows


@pytest.fixture
def shop(warehouse: BaseBackend) -> BaseBackend:
    insert(warehouse, CUSTOMERS, shop_customers())
    insert(warehouse, IDENTITY_MAP, [{"source": "wx", "source_customer_id": "w9", "customer_id": 9}])
    insert(
        warehouse,
        IDENTITY_IDENTIFIERS,
        [
            {
                "source": "wx",
                "source_customer_id": "w9",
                "kind": "wechat_openid",
                "value": "wxshop/oOPENID9",
                "origins": "customers",
                "occurrences": 1,
            }
        ],
    )
    insert(
        warehouse,
        CUSTOMER_TAGS,
        [
            {
                "customer_id": 8,
                "model": "credit",
                "tag": "restriction",
                "value": "do_not_disturb",
                "weight": 2.0,
            }
        ],
    )
    return warehouse


@pytest.fixture
def campaign_settings(app_settings: Settings) -> Settings:
    return app_settings.model_copy(
        update={
            "outbox_retry_jitter": 0.0,
            "public_url": "https://shop.example",
            "timezone": "Asia/Shanghai",
        }
    )


@pytest.fixture
def sessions(campaign_settings: Settings) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(campaign_settings)
    upgrade(campaign_settings, engine=engine)
    yield session_factory(engine)
    engine.dispose()


@pytest.fixture
def sms_server() -> Iterator[ProviderServer]:
    server = ProviderServer().start()
    yield server
    server.stop()


@pytest.fixture
def webhook_sink() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver(WEBHOOK_SECRET).start()
    yield server
    server.stop()


@pytest.fixture
def channel_settings(
    mailbox: tuple[Mailbox, int], sms_server: ProviderServer, webhook_sink: WebhookReceiver
) -> dict[str, BaseSettings]:
    return {
        "email": SmtpSettings(
            host="127.0.0.1", port=mailbox[1], security="plain", mail_from="店铺 <shop@shop.cn>"
        ),
        "sms": SmsHttpSettings(
            url=sms_server.url, success_json_path="code", success_value="0", message_id_json_path="msgid"
        ),
        "webhook": WebhookSettings(url=webhook_sink.url, secret=SecretStr(WEBHOOK_SECRET)),
    }


@dataclass
class Clock:
    """The controlled time of a test (aware UTC)."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def at_local(self, text: str) -> datetime:
        """Move to ``2026-11-0X HH:MM`` Asia/Shanghai."""
        from zoneinfo import ZoneInfo

        self.now = datetime.fromisoformat(text).replace(tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 1, 2, 0, tzinfo=UTC))  # 10:00 in Shanghai


@dataclass
class Loop:
    """Drives the send path on the controlled clock: the wave scheduler, the job runner, the delivery worker."""

    settings: Settings
    warehouse: BaseBackend
    sessions: sessionmaker[Session]
    channels: ChannelSet
    clock: Clock

    def waves(self) -> int:
        """One scheduler pass, then every due job (wave builds); returns how many jobs ran."""
        context = JobContext(
            settings=self.settings, warehouse=self.warehouse, sessions=self.sessions, now=self.clock()
        )
        queue_due_waves(context)
        ran = run_pending(
            settings=self.settings,
            sessions=self.sessions,
            warehouse=self.warehouse,
            worker_id="test-runner",
            kinds=job_kinds(),
            writer=True,
            clock=self.clock,
        )
        queue_due_waves(
            JobContext(
                settings=self.settings, warehouse=self.warehouse, sessions=self.sessions, now=self.clock()
            )
        )
        return ran

    def deliver(self) -> Worker:
        """Deliver every due message (the worker until nothing is due)."""
        import threading

        worker = Worker(
            self.sessions,
            self.settings,
            "test-worker",
            batch=50,
            stop_event=threading.Event(),
            clock=self.clock,
            channels=self.channels,
        )
        while worker.run_once():
            pass
        return worker

    def step(self) -> Worker:
        self.waves()
        return self.deliver()


@pytest.fixture
def loop(
    campaign_settings: Settings,
    shop: BaseBackend,
    sessions: sessionmaker[Session],
    channel_settings: dict[str, BaseSettings],
    clock: Clock,
) -> Iterator[Loop]:
    channels = ChannelSet(channel_settings=channel_settings)
    yield Loop(campaign_settings, shop, sessions, channels, clock)
    channels.close()


Run = Callable[[], None]
