"""Settings: the one place configuration is read.

Build with :func:`get_settings` (reads ``GUANXI_*`` environment variables and an
optional ``.env``) and pass the object in; nothing is built at import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from guanxi.errors import ConfigError

DEV_SECRET = "guanxi-dev-secret-change-me"  # noqa: S105 - the refused default, never a real secret
ENV_FILE = ".env"
"""The optional file of ``GUANXI_*`` variables (in the working directory) read by Settings and channel settings."""


class Settings(BaseSettings):
    """All of guanxi's settings, prefix ``GUANXI_``.

    Guarantees: ``timezone`` names a real IANA zone; outside ``env='dev'`` the
    secret key must not be the development default. Unknown ``GUANXI_*``
    variables are ignored here: delivery channels read their own
    (:class:`guanxi.marketing.channels.ChannelSettings`).
    """

    model_config = SettingsConfigDict(env_prefix="GUANXI_", env_file=ENV_FILE, extra="ignore")

    env: Literal["dev", "test", "prod"] = "dev"
    data_dir: Path = Path("data")
    warehouse_url: str = "duckdb://data/warehouse.duckdb"
    app_db_url: str = "sqlite:///data/app.sqlite"
    timezone: str = "Asia/Shanghai"
    currency: str = "CNY"
    default_region: str = "CN"
    locale: Literal["zh-CN", "en"] = "zh-CN"
    secret_key: SecretStr = SecretStr(DEV_SECRET)
    # Data quality and identity guards.
    stale_months: int = Field(12, ge=1, description="No activity for this many months makes a record stale.")
    shared_identifier_limit: int = Field(
        20, ge=2, description="An identifier shared by more records than this is implausible and never links."
    )
    models_config: Path = Path("models.yaml")
    identity_config: Path = Path("identity.yaml")
    progress: bool = True
    # Outbox and journey steps (docs/outbox.md). Each channel owns its settings
    # (GUANXI_SMTP_*, GUANXI_MAIL_*, GUANXI_WEBHOOK_* …): see guanxi.marketing.channels.
    outbox_lease_seconds: float = Field(
        120, gt=0, description="A worker's claim on a message or step; more than twice the slowest send."
    )
    outbox_max_attempts: int = Field(8, ge=1, description="Attempts before a message or step is dead.")
    outbox_retry_base_seconds: float = Field(30, gt=0, description="Wait after the first failed attempt.")
    outbox_retry_max_seconds: float = Field(3600, gt=0, description="Longest wait between two attempts.")
    outbox_retry_jitter: float = Field(
        0.2, ge=0, le=1, description="Fraction by which a retry wait may be shortened at random."
    )
    worker_poll_seconds: float = Field(2.0, gt=0, description="Idle wait of `guanxi worker` between polls.")
    worker_batch: int = Field(20, ge=1, description="Items `guanxi worker` claims at a time per queue.")
    worker_send_concurrency: int = Field(
        8, ge=1, le=64, description="Messages one worker has in flight at once on a channel that allows it."
    )
    # Jobs (docs/jobs.md): long warehouse work run in the background by the warehouse's owner.
    jobs_lease_seconds: float = Field(
        60, gt=0, description="A running job's claim; renewed while it runs, so only a dead process loses it."
    )
    jobs_max_attempts: int = Field(3, ge=1, description="Attempts of a job whose process died or crashed.")
    jobs_retry_seconds: float = Field(30, gt=0, description="Wait before retrying a crashed job.")
    jobs_poll_seconds: float = Field(1.0, gt=0, description="Idle wait of the job runner between polls.")
    jobs_schedule_seconds: float = Field(
        30, gt=0, description="How often schedules are checked for due slots."
    )
    jobs_schedules: bool = Field(True, description="Whether this process creates the jobs of schedules.")
    jobs_in_app: bool = Field(
        True,
        description="Whether `guanxi serve` runs jobs, schedules and services itself (the embedded writer).",
    )
    # Event intake (docs/events.md): the spool is loaded into the warehouse in micro-batches.
    events_load_seconds: float = Field(
        2.0, gt=0, le=5, description="Seconds between two passes of the event loader (at most 5)."
    )
    events_batch_limit: int = Field(
        20_000, ge=1, description="Most spooled events one loader pass moves into the warehouse."
    )
    events_resolve: bool = Field(
        True, description="Resolve the identities of new records from events incrementally (no full resolve)."
    )
    events_resolve_seconds: float = Field(
        10.0, gt=0, le=3600, description="Seconds between two incremental resolves of what the loader wrote."
    )
    events_key_cache_seconds: float = Field(
        10.0, ge=0, le=300, description="How long a write key's check is remembered in-process (0: never)."
    )

    # Campaigns and the send path (docs/campaigns.md).
    public_url: str = Field(
        "http://127.0.0.1:8000",
        description="The address customers reach this server at: unsubscribe and confirmation links use it.",
    )
    marketing_cap_messages: int = Field(
        2, ge=0, description="Marketing messages one person may get across channels per cap window."
    )
    marketing_cap_days: float = Field(7, gt=0, description="The frequency cap's window in days.")
    marketing_quiet_start: str = Field("21:00", description="Local time quiet hours start (no marketing).")
    marketing_quiet_end: str = Field(
        "08:00", description="Local time quiet hours end; delayed sends go then."
    )
    sms_opt_out_suffix: str = Field("回T退订", description="Appended to every marketing SMS.")
    campaigns_wave_seconds: float = Field(
        15, gt=0, le=3600, description="How often due campaign waves are looked for and queued as jobs."
    )
    journeys_seconds: float = Field(
        30,
        gt=0,
        le=3600,
        description="How often the journeys service evaluates triggers, goals and due steps.",
    )
    journeys_batch: int = Field(
        500, ge=1, le=10_000, description="Journey steps the journeys service runs per batch."
    )
    journeys_wait_poll_minutes: float = Field(
        15, gt=0, le=1440, description="How often a step waiting for an event looks again."
    )
    journeys_holidays_file: Path | None = Field(
        None,
        description="A YAML holiday calendar adding holidays (店庆 …) to the built-in one, or changing their dates.",
    )
    mail_bounce_maildir: Path | None = Field(
        None,
        description="Return-path Maildir the mail-bounces service reads DSNs from (hard bounces suppress).",
    )
    inbound_token: SecretStr | None = Field(
        None,
        description="Shared secret providers put in receipt, reply and bounce callback URLs (?token=…).",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise ValueError(f"unknown time zone {value!r}") from err
        return value

    @model_validator(mode="after")
    def _no_default_secret_in_prod(self) -> Settings:
        if self.env == "prod" and self.secret_key.get_secret_value() == DEV_SECRET:
            raise ValueError("GUANXI_SECRET_KEY must be set to a real secret when GUANXI_ENV=prod")
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def get_settings(**overrides: object) -> Settings:
    """Read settings from the environment, with keyword overrides on top.

    Raises :class:`ConfigError` with every problem listed when a value is invalid.
    """
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValueError as err:
        raise ConfigError(f"invalid settings: {err}") from err
