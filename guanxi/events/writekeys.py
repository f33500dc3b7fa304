"""Write keys: API keys with the ``ingest`` scope, read from a request and checked through a short cache.

A Segment client sends its write key as the HTTP Basic user name with an
empty password (``Authorization: Basic base64("KEY:")``); analytics.js puts it
in the body as ``writeKey``; guanxi's own callers may use ``X-API-Key``. The
first of Basic, ``X-API-Key`` and ``writeKey`` that is present is used.

:class:`WriteKeys` remembers each key's verdict (its source, or the error it
raised) for ``events_key_cache_seconds``, so the app database is asked about a
busy key once per period and not once per request: a revoked key, or a key
whose scope changed, is refused at the latest that long after the change.
Unknown keys are remembered too (a flood of bad keys does not reach the
database), in a cache of bounded size.
"""

from __future__ import annotations

import base64
import binascii
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from guanxi.appdb.api_keys import SCOPE_INGEST, authenticate_api_key, digest
from guanxi.errors import AuthError, GuanxiError, PermissionDeniedError

DEFAULT_SOURCE = "segment"
"""The ``source`` of events sent with a write key that names none."""
CACHE_ENTRIES = 4096
"""Most verdicts kept; the cache starts afresh beyond it."""
HOW_TO = (
    "send an API key with the ingest scope as the HTTP Basic user name (password empty), "
    "in X-API-Key, or as writeKey in the body; issue one with `guanxi users add-key NAME --scope ingest`"
)


@dataclass(frozen=True)
class WriteKey:
    """What an accepted write key stands for."""

    prefix: str
    source: str


def key_from_headers(headers: Mapping[str, str]) -> str | None:
    """The write key in ``Authorization: Basic …`` (the user name) or ``X-API-Key``, else None.

    Raises :class:`AuthError` for a Basic header that is not base64.
    """
    authorization = headers.get("authorization", "")
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() == "basic" and credentials.strip():
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as err:
            raise AuthError(f"the Authorization header is not valid Basic credentials; {HOW_TO}") from err
        user = decoded.partition(":")[0].strip()
        if user:
            return user
    key = headers.get("x-api-key", "").strip()
    return key or None


class WriteKeys:
    """Checks write keys against the app database, remembering verdicts briefly (thread-safe)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Callable[[], datetime],
        *,
        ttl_seconds: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._ttl = ttl_seconds
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._verdicts: dict[str, tuple[float, WriteKey | GuanxiError]] = {}

    def check(self, key: str | None) -> WriteKey:
        """The key's source; raises :class:`AuthError` (none, unknown, revoked) or
        :class:`PermissionDeniedError` (no ``ingest`` scope)."""
        if not key:
            raise AuthError(f"no write key; {HOW_TO}")
        fingerprint = digest(key.strip())
        now = self._monotonic()
        with self._lock:
            found = self._verdicts.get(fingerprint)
        if found is not None and found[0] > now:
            verdict = found[1]
        else:
            verdict = self._ask(key)
            if self._ttl > 0:
                with self._lock:
                    if len(self._verdicts) >= CACHE_ENTRIES:
                        self._verdicts.clear()
                    self._verdicts[fingerprint] = (now + self._ttl, verdict)
        if isinstance(verdict, GuanxiError):
            raise type(verdict)(verdict.message, code=verdict.code)
        return verdict

    def forget(self) -> None:
        """Drop every remembered verdict (after issuing or revoking keys in this process)."""
        with self._lock:
            self._verdicts.clear()

    def _ask(self, key: str) -> WriteKey | GuanxiError:
        with self._sessions() as session:
            try:
                record = authenticate_api_key(session, key, now=self._clock(), scope=SCOPE_INGEST)
            except AuthError as err:
                return AuthError(f"{err.message}; {HOW_TO}", code=err.code)
            except PermissionDeniedError as err:
                return PermissionDeniedError(err.message, code=err.code)
            session.commit()
            return WriteKey(prefix=record.prefix, source=record.source or DEFAULT_SOURCE)
