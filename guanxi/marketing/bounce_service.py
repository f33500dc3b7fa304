"""The ``mail-bounces`` service: DSNs in the return-path Maildir suppress hard-bounced addresses.

Each pass reads up to :data:`PASS_LIMIT` messages from ``new/`` of
``GUANXI_MAIL_BOUNCE_MAILDIR`` (nothing when unset), parses them
(:func:`guanxi.marketing.bounces.parse_dsn`), applies every bounce in **one**
app-database transaction (:func:`guanxi.marketing.feedback.apply_bounces`) and
only then moves the messages to ``cur/`` (:func:`~guanxi.marketing.bounces.mark_done`).
A crash between the commit and the moves reads those messages again next pass;
applying a bounce twice changes nothing more (suppression keeps its first entry),
so delivery is at least once and the outcome exactly once. A mail that is no
DSN (an auto-reply) is moved to ``cur/`` with the others and otherwise ignored.
A bounce without a recipient address is skipped.
"""

from __future__ import annotations

from guanxi.config import Settings
from guanxi.jobs.kinds import JobContext, Service
from guanxi.marketing.bounces import Bounce, mark_done, parse_dsn, read_maildir
from guanxi.marketing.feedback import apply_bounces

PASS_LIMIT = 500
"""Most messages one pass handles; the rest wait for the next pass."""
PASS_SECONDS = 30.0
"""Seconds between two passes."""


def read_bounces(ctx: JobContext) -> int:
    """One pass: apply the bounces of the new messages, then mark them done; returns how many messages it read."""
    maildir = ctx.settings.mail_bounce_maildir
    if maildir is None:
        return 0
    keys: list[str] = []
    bounces: list[Bounce] = []
    for key, raw in read_maildir(maildir):
        keys.append(key)
        bounces.extend(bounce for bounce in parse_dsn(raw) if bounce.recipient)
        if len(keys) >= PASS_LIMIT:
            break
    if not keys:
        return 0
    with ctx.sessions() as session, session.begin():
        report = apply_bounces(session, bounces, now=ctx.now)
    for key in keys:
        mark_done(maildir, key)
    ctx.log(
        f"{len(keys)} mail(s), {len(bounces)} bounce(s): {report.suppressed} suppressed, "
        f"{report.receipts} message(s) marked, {report.unmatched} unmatched"
    )
    return len(keys)


def _interval(_settings: Settings) -> float:
    return PASS_SECONDS


BOUNCES_SERVICE = Service(
    name="mail-bounces",
    run=read_bounces,
    interval=_interval,
    description="Read DSNs from GUANXI_MAIL_BOUNCE_MAILDIR: hard bounces suppress the address",
    writes_warehouse=False,
)
"""Registered by :mod:`guanxi.marketing.plugin` (``register_services``)."""
