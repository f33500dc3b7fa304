"""Subscribing and unsubscribing: e-mail double opt-in and the signed unsubscribe links.

* :func:`request_opt_in` records ``pending`` consent for an e-mail address and
  puts a transactional confirmation mail in the outbox (once per address and
  day); :func:`confirm_opt_in` — the link in that mail — records ``granted``
  with the confirming request's IP and user agent as proof.
* :func:`unsubscribe` — the page behind every marketing mail's link and its
  RFC 8058 one-click POST — records ``revoked`` for the link's medium and
  address, with the campaign and the request as proof.

All are idempotent and work in the caller's transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from guanxi.config import Settings
from guanxi.marketing import consent, outbox, suppression
from guanxi.marketing.links import CONFIRM, CONFIRM_MAX_AGE, UNSUBSCRIBE, LinkTarget, confirm_url, read_token

CONFIRM_SUBJECT = "请确认订阅"
CONFIRM_BODY = "您好！请打开下面的链接确认订阅我们的邮件（7 天内有效）：\n\n{url}\n\n如果不是您本人操作，请忽略这封邮件。\n"


def request_opt_in(
    session: Session,
    settings: Settings,
    *,
    email: str,
    now: datetime,
    proof: dict[str, str | None],
    customer_id: str | None = None,
    channel: str = "email",
) -> outbox.OutboxMessage | None:
    """Start double opt-in for ``email``; returns the confirmation message (None when already granted).

    Raises ValidationFailedError for an address that is not an e-mail address.
    A suppressed address gets no confirmation mail either.
    """
    address = consent.normalize_address("email", email, region=settings.default_region)
    if consent.state_of(session, "email", address) == consent.GRANTED:
        return None
    consent.record_consent(
        session,
        medium="email",
        address=address,
        state=consent.PENDING,
        source="form",
        at=now,
        now=now,
        actor="subscriber",
        customer_id=customer_id,
        proof={k: v for k, v in proof.items() if v},
    )
    if suppression.active_entry(session, "email", address) is not None:
        return None
    url = confirm_url(settings, LinkTarget("email", address))
    day = now.astimezone(settings.zone).date().isoformat()
    return outbox.enqueue(
        session,
        channel=channel,
        recipient=address,
        idempotency_key=f"optin:{address}:{day}",
        now=now,
        subject=CONFIRM_SUBJECT,
        body=CONFIRM_BODY.format(url=url),
        customer_id=customer_id,
        medium="email",
        transactional=True,
    )


def confirm_opt_in(
    session: Session, settings: Settings, token: str, *, now: datetime, proof: dict[str, str | None]
) -> LinkTarget:
    """Grant consent for the address of a confirmation link; raises LinkInvalidError for a bad or old link."""
    target = read_token(settings, CONFIRM, token, max_age=CONFIRM_MAX_AGE)
    consent.record_consent(
        session,
        medium=target.medium,
        address=target.address,
        state=consent.GRANTED,
        source="double_opt_in",
        at=now,
        now=now,
        actor="subscriber",
        proof={k: v for k, v in proof.items() if v},
    )
    return target


def unsubscribe(
    session: Session,
    settings: Settings,
    token: str,
    *,
    now: datetime,
    proof: dict[str, str | None],
    one_click: bool,
) -> LinkTarget:
    """Revoke consent for the address of an unsubscribe link; raises LinkInvalidError for a forged one."""
    target = read_token(settings, UNSUBSCRIBE, token)
    details = {k: v for k, v in proof.items() if v}
    if target.campaign:
        details["campaign"] = target.campaign
    details["method"] = "one-click" if one_click else "page"
    consent.record_consent(
        session,
        medium=target.medium,
        address=target.address,
        state=consent.REVOKED,
        source="unsubscribe",
        at=now,
        now=now,
        actor="subscriber",
        proof=details,
    )
    return target
