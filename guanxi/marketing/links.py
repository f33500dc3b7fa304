"""Signed links in messages: unsubscribe (one click) and double opt-in confirmation.

A token carries the medium, the address, the purpose and (for unsubscribe) the
campaign, signed with ``GUANXI_SECRET_KEY`` (itsdangerous, HMAC-SHA256 with a
per-purpose salt) so nobody can unsubscribe or confirm an address they only
guessed. Unsubscribe tokens never expire (a year-old mail must still work);
confirmation tokens are refused after ``max_age`` seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from guanxi.config import Settings
from guanxi.errors import ValidationFailedError

UNSUBSCRIBE = "unsubscribe"
CONFIRM = "confirm"
CONFIRM_MAX_AGE = 7 * 24 * 3600
"""A double opt-in link works for seven days."""


class LinkInvalidError(ValidationFailedError):
    code = "link_invalid"


@dataclass(frozen=True)
class LinkTarget:
    medium: str
    address: str
    campaign: str | None = None


def _serializer(settings: Settings, purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key.get_secret_value(), salt=f"guanxi.{purpose}")


def make_token(settings: Settings, purpose: str, target: LinkTarget) -> str:
    """A URL-safe token for ``target``."""
    data: dict[str, Any] = {"m": target.medium, "a": target.address}
    if target.campaign:
        data["c"] = target.campaign
    return str(_serializer(settings, purpose).dumps(data))


def read_token(settings: Settings, purpose: str, token: str, *, max_age: int | None = None) -> LinkTarget:
    """The target of a token; raises LinkInvalidError (``link_invalid``) when forged, damaged or expired."""
    try:
        data = _serializer(settings, purpose).loads(token, max_age=max_age)
    except SignatureExpired as err:
        raise LinkInvalidError("this link has expired; ask for a new one") from err
    except BadSignature as err:
        raise LinkInvalidError("this link is not valid") from err
    if not isinstance(data, dict) or not isinstance(data.get("m"), str) or not isinstance(data.get("a"), str):
        raise LinkInvalidError("this link is not valid")
    campaign = data.get("c")
    return LinkTarget(data["m"], data["a"], campaign if isinstance(campaign, str) else None)


def unsubscribe_url(settings: Settings, target: LinkTarget) -> str:
    """The page (GET: confirm; POST: RFC 8058 one-click) that revokes consent for ``target``."""
    return f"{settings.public_url.rstrip('/')}/u/{make_token(settings, UNSUBSCRIBE, target)}"


def confirm_url(settings: Settings, target: LinkTarget) -> str:
    """The double opt-in confirmation page for ``target``."""
    return f"{settings.public_url.rstrip('/')}/consent/confirm/{make_token(settings, CONFIRM, target)}"
