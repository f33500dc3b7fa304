"""Bounces: delivery status notifications (RFC 3464) parsed, and the return-path Maildir read.

:func:`parse_dsn` is pure: bytes in, one :class:`Bounce` per recipient block
out. A DSN is a ``multipart/report; report-type=delivery-status`` message (what
Postfix, Exim, Sendmail, Exchange and the big mailbox providers send); anything
else — an auto-reply, a feedback report, a human answer — gives ``[]``, never an
error. Malformed fields give ``None``/empty values rather than exceptions.

Each bounce is traced to our message two ways, either may be missing:

- ``idempotency_key``: the ``X-Guanxi-Idempotency-Key`` header of the returned
  message (the ``text/rfc822-headers`` or ``message/rfc822`` part);
- ``verp_token``: the token of the VERP address the DSN was delivered to
  (``Delivered-To``, ``X-Original-To``, ``X-RcptTo``, ``Envelope-To``, ``To``),
  see :func:`guanxi.marketing.channels.smtp.verp_address`. It survives DSNs that
  quote none of our headers; the message it names has provider message id
  ``<token@mail-from-domain>``.

``hard`` is true for ``Action: failed`` with a ``5.x.x`` status: retrying cannot
help and the address should be suppressed. ``delayed`` and ``4.x.x`` failures are soft.

:func:`read_maildir` and :func:`mark_done` let a service work through a
return-path Maildir: read ``new/``, handle each message, then move it to
``cur/`` (flag ``S``). A crash between the two re-reads the message, so the
handling must be idempotent (delivery is at least once).
"""

from __future__ import annotations

import mailbox
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes, message_from_string, policy
from email.message import EmailMessage, Message
from pathlib import Path

from guanxi.errors import NotFoundError
from guanxi.marketing.channels.smtp import verp_token

IDEMPOTENCY_HEADER = "X-Guanxi-Idempotency-Key"
ENVELOPE_HEADERS = ("Delivered-To", "X-Original-To", "X-RcptTo", "Envelope-To", "X-Envelope-To", "To")
"""Where the address a DSN was delivered to shows, most trustworthy first (the MTA's, then the sender's)."""

_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")


@dataclass(frozen=True)
class Bounce:
    """One recipient's outcome in a DSN."""

    recipient: str
    """Final-Recipient address (Original-Recipient when absent), lower-cased; ``""`` when neither is given."""
    action: str
    """``failed``, ``delayed``, ``delivered``, ``relayed`` or ``expanded`` (lower-cased, as reported)."""
    status: str
    """The RFC 3463 status code, ``5.1.1``; ``""`` when the block has none."""
    hard: bool
    """Action failed with a 5.x.x status: a permanent failure."""
    diagnostic: str | None
    """The Diagnostic-Code text without its type (``550 5.1.1 … User unknown``), unfolded."""
    idempotency_key: str | None
    """X-Guanxi-Idempotency-Key of the returned message, when the DSN quotes its headers."""
    verp_token: str | None
    """Token of the VERP address the DSN came back to, when it is one."""


def parse_dsn(raw: bytes) -> list[Bounce]:
    """The bounces reported by the DSN ``raw``, one per recipient block; ``[]`` when ``raw`` is no DSN."""
    report = message_from_bytes(raw, policy=policy.default)
    if report.get_content_type() != "multipart/report":
        return []
    if str(report.get_param("report-type", "", header="content-type")).lower() != "delivery-status":
        return []
    status_part = _first(report, "message/delivery-status")
    if status_part is None:
        return []
    blocks = status_part.get_payload()
    if not isinstance(blocks, list) or len(blocks) < 2:
        return []
    key = _idempotency_key(report)
    token = _envelope_token(report)
    return [_bounce(block, key, token) for block in blocks[1:] if isinstance(block, Message)]


def _bounce(block: Message, key: str | None, token: str | None) -> Bounce:
    recipient = _typed_value(block.get("Final-Recipient")) or _typed_value(block.get("Original-Recipient"))
    action = _unfold(block.get("Action")).lower()
    found = _STATUS.search(_unfold(block.get("Status")))
    status = ".".join(found.groups()) if found else ""
    return Bounce(
        recipient=(recipient or "").strip("<>").lower(),
        action=action,
        status=status,
        hard=action == "failed" and status.startswith("5."),
        diagnostic=_typed_value(block.get("Diagnostic-Code")),
        idempotency_key=key,
        verp_token=token,
    )


def _first(message: EmailMessage, content_type: str) -> Message | None:
    for part in message.walk():
        if part.get_content_type() == content_type:
            return part
    return None


def _idempotency_key(report: EmailMessage) -> str | None:
    for part in report.walk():
        returned: Message | None = None
        if part.get_content_type() == "text/rfc822-headers":
            text = part.get_payload(decode=True)
            if isinstance(text, bytes):
                returned = message_from_string(text.decode("utf-8", errors="replace"), policy=policy.default)
        elif part.get_content_type() == "message/rfc822":
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                returned = inner[0]
        if returned is not None and returned.get(IDEMPOTENCY_HEADER):
            return _unfold(returned.get(IDEMPOTENCY_HEADER))
    return None


def _envelope_token(report: EmailMessage) -> str | None:
    for name in ENVELOPE_HEADERS:
        for value in report.get_all(name, []):
            for address in _unfold(value).split(","):
                token = verp_token(address)
                if token is not None:
                    return token
    return None


def _typed_value(value: object) -> str | None:
    """``rfc822; someone@example.com`` → ``someone@example.com``; the text of a typed DSN field."""
    if value is None:
        return None
    text = _unfold(value)
    kind, semicolon, rest = text.partition(";")
    text = rest.strip() if semicolon and " " not in kind.strip() else text
    return text or None


def _unfold(value: object) -> str:
    return " ".join(str(value or "").split())


def read_maildir(path: str | os.PathLike[str]) -> Iterator[tuple[str, bytes]]:
    """Each message in ``path``'s ``new/`` as (key, raw bytes), oldest file name first.

    Messages already moved to ``cur/`` by :func:`mark_done` are not yielded.
    ``path`` is opened with ``mailbox.Maildir`` (created when missing). A message
    removed while iterating is skipped.
    """
    box = mailbox.Maildir(path, factory=None, create=True)
    for name in sorted(os.listdir(Path(path) / "new")):
        if name.startswith("."):
            continue
        key = name.split(box.colon)[0]
        try:
            raw = box.get_bytes(key)
        except KeyError:
            continue
        yield key, raw


def mark_done(path: str | os.PathLike[str], key: str) -> None:
    """Move message ``key`` from ``new/`` to ``cur/`` with the Seen flag; idempotent for a message in ``cur/``.

    Raises NotFoundError when ``path`` holds no message ``key``.
    """
    box = mailbox.Maildir(path, factory=None, create=False)
    try:
        message = box.get_message(key)
    except KeyError:
        raise NotFoundError(f"no message {key!r} in the maildir {os.fspath(path)!r}") from None
    if message.get_subdir() == "cur" and "S" in message.get_flags():
        return
    message.set_subdir("cur")
    message.add_flag("S")
    box[key] = message
