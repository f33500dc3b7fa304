"""What comes back from providers and people: delivery receipts, bounces, SMS replies.

* **SMS receipts** mark the outbox message (found by the provider's message
  id) ``delivered`` or ``undelivered`` with the provider's error code.
* **Bounces** (parsed DSNs, :mod:`guanxi.marketing.bounces`): a hard bounce
  suppresses the address on ``email`` (reason ``bounce``) and marks the message
  it answers (found by idempotency key, else by its VERP token) undelivered;
  a soft bounce (``delayed``, 4.x.x) only notes the receipt.
* **SMS replies**: an opt-out reply (``T``, ``TD``, ``退订``, ``N``, ``取消`` …,
  :func:`guanxi.marketing.sms_rules.is_opt_out_reply`) revokes the number's
  ``sms`` consent (source ``sms_reply``, the reply's text and time as proof), so
  the next wave — and every queued message, at the send-time check — leaves
  it out. Other replies are counted and ignored here.

Every function is idempotent (a receipt or reply delivered twice changes
nothing more) and works in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.marketing import consent, suppression
from guanxi.marketing.bounces import Bounce
from guanxi.marketing.outbox import OutboxMessage
from guanxi.marketing.sms_rules import InboundSms, SmsReceipt, is_opt_out_reply

DELIVERED = "delivered"
UNDELIVERED = "undelivered"


@dataclass
class FeedbackReport:
    """What one batch of feedback changed."""

    receipts: int = 0
    unmatched: int = 0
    suppressed: int = 0
    opted_out: int = 0
    ignored: int = 0


def apply_sms_receipts(session: Session, receipts: Iterable[SmsReceipt]) -> FeedbackReport:
    """Mark each receipt's message delivered or undelivered (by provider message id)."""
    report = FeedbackReport()
    for receipt in receipts:
        message = session.scalars(
            select(OutboxMessage).where(OutboxMessage.provider_message_id == receipt.provider_message_id)
        ).first()
        if message is None:
            report.unmatched += 1
            continue
        message.receipt = DELIVERED if receipt.delivered else UNDELIVERED
        message.receipt_at = receipt.reported_at
        message.receipt_error = None if receipt.delivered else (receipt.error_code or "undelivered")[:255]
        report.receipts += 1
    return report


def _bounced_message(session: Session, bounce: Bounce) -> OutboxMessage | None:
    if bounce.idempotency_key:
        found = session.scalars(
            select(OutboxMessage).where(OutboxMessage.idempotency_key == bounce.idempotency_key)
        ).first()
        if found is not None:
            return found
    if bounce.verp_token:
        return session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.provider_message_id.startswith(f"<{bounce.verp_token}@")
            )
        ).first()
    return None


def apply_bounces(session: Session, bounces: Iterable[Bounce], *, now: datetime) -> FeedbackReport:
    """Suppress hard-bounced addresses and note the receipt on the message each bounce answers."""
    report = FeedbackReport()
    for bounce in bounces:
        if not bounce.recipient.strip():
            report.unmatched += 1
            continue
        message = _bounced_message(session, bounce)
        if message is not None:
            message.receipt = UNDELIVERED if bounce.hard else f"{bounce.action}"[:16]
            message.receipt_at = now
            message.receipt_error = f"{bounce.status} {bounce.diagnostic or ''}".strip()[:255]
            report.receipts += 1
        else:
            report.unmatched += 1
        if bounce.hard:
            suppression.suppress(
                session,
                medium="email",
                address=bounce.recipient,
                reason="bounce",
                actor="bounce",
                now=now,
                note=f"{bounce.status} {bounce.diagnostic or ''}".strip()[:500],
            )
            report.suppressed += 1
    return report


def apply_sms_replies(
    session: Session, replies: Iterable[InboundSms], *, now: datetime, source: str
) -> FeedbackReport:
    """Revoke ``sms`` consent of every number that replied with an opt-out word."""
    report = FeedbackReport()
    for reply in replies:
        if not is_opt_out_reply(reply.text):
            report.ignored += 1
            continue
        change = consent.record_consent(
            session,
            medium="sms",
            address=reply.phone,
            state=consent.REVOKED,
            source="sms_reply",
            at=reply.received_at,
            now=now,
            actor=source,
            proof={"reply": reply.text[:70], "provider_id": reply.provider_id},
        )
        report.opted_out += int(change.changed)
    return report
