"""Slow down password guessing: too many failed sign-ins lock a username for a while."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from guanxi.errors import RateLimitedError


@dataclass
class SignInThrottle:
    """At most ``limit`` failed sign-ins per username within ``window``.

    Kept in memory per app process (a restart forgets it). ``check`` raises
    :class:`~guanxi.errors.RateLimitedError` while a username is locked; a
    successful sign-in clears its failures. Thread-safe.
    """

    limit: int = 5
    window: timedelta = timedelta(minutes=15)
    _failures: dict[str, deque[datetime]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _recent(self, key: str, now: datetime) -> deque[datetime]:
        times = self._failures.setdefault(key, deque())
        while times and now - times[0] >= self.window:
            times.popleft()
        return times

    def check(self, username: str, now: datetime) -> None:
        key = username.strip().lower()
        with self._lock:
            times = self._recent(key, now)
            if len(times) >= self.limit:
                wait = max(1, int((times[0] + self.window - now).total_seconds() // 60) + 1)
                raise RateLimitedError(f"too many failed sign-ins for {key!r}; try again in {wait} minutes")

    def failed(self, username: str, now: datetime) -> None:
        key = username.strip().lower()
        with self._lock:
            self._recent(key, now).append(now)
            if len(self._failures) > 10_000:
                self._failures = {k: v for k, v in self._failures.items() if v and now - v[-1] < self.window}

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._failures.pop(username.strip().lower(), None)
