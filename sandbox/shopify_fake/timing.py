"""Clocks and Shopify's cost leaky bucket, for the fake and for tests that share its clock.

Shopify's GraphQL Admin rate limit is a leaky bucket of cost points: a query may start only
if the bucket holds its *requested* (worst-case) cost; that much is taken, and the difference
to the *actual* cost is given back after execution. The bucket refills at ``restoreRate``
points per second up to ``maximumAvailable``.
"""
from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Callable

__all__ = ["LeakyBucket", "ManualClock", "utcnow"]


def utcnow() -> datetime:
    """The current UTC time (timezone-aware)."""
    return datetime.now(timezone.utc)


class ManualClock:
    """A clock that moves only when told: ``monotonic()`` seconds and ``now()`` datetimes.

    Pass ``clock.monotonic`` / ``clock.now`` to the fake and ``clock.sleep`` /
    ``clock.monotonic`` to :class:`connector.adapters.shopify.client.AdminClient`, and waits
    for the bucket take no real time.

    Args:
        start: The wall-clock time at ``monotonic() == 0``.
        real_sleep: Real seconds to sleep per :meth:`sleep` call (lets background threads,
            such as a bulk operation, make progress while a poller "waits").
    """

    def __init__(self, start: datetime | None = None, real_sleep: float = 0.0) -> None:
        self._t = 0.0
        self._start = start or utcnow()
        self._lock = threading.Lock()
        self.real_sleep = real_sleep
        self.slept: list[float] = []

    def monotonic(self) -> float:
        with self._lock:
            return self._t

    def now(self) -> datetime:
        with self._lock:
            return self._start + timedelta(seconds=self._t)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._t += max(0.0, float(seconds))

    def sleep(self, seconds: float) -> None:
        """Advance by ``seconds`` (recorded in :attr:`slept`) and yield briefly."""
        self.slept.append(float(seconds))
        self.advance(seconds)
        if self.real_sleep:
            time.sleep(self.real_sleep)


class LeakyBucket:
    """Cost points available to one shop.

    Args:
        maximum: ``maximumAvailable`` points.
        restore_rate: ``restoreRate`` points per second.
        clock: Monotonic seconds.
    """

    def __init__(self, maximum: float = 2000.0, restore_rate: float = 100.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.maximum = float(maximum)
        self.restore_rate = float(restore_rate)
        self._clock = clock
        self._available = float(maximum)
        self._at = clock()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._available = min(self.maximum,
                              self._available + max(0.0, now - self._at) * self.restore_rate)
        self._at = now

    def configure(self, maximum: float | None = None, restore_rate: float | None = None) -> None:
        """Change the size or rate; the bucket is refilled to the new maximum."""
        with self._lock:
            if maximum is not None:
                self.maximum = float(maximum)
            if restore_rate is not None:
                self.restore_rate = float(restore_rate)
            self._available = self.maximum
            self._at = self._clock()

    def try_take(self, cost: float) -> bool:
        """Take ``cost`` points if the bucket holds them; False (nothing taken) otherwise."""
        with self._lock:
            self._refill()
            if cost > self._available:
                return False
            self._available -= cost
            return True

    def give_back(self, points: float) -> None:
        """Return points (requested minus actual cost) to the bucket."""
        with self._lock:
            self._refill()
            self._available = min(self.maximum, self._available + max(0.0, points))

    def status(self) -> dict:
        """Shopify's ``throttleStatus`` object."""
        with self._lock:
            self._refill()
            return {"maximumAvailable": self.maximum,
                    "currentlyAvailable": int(self._available),
                    "restoreRate": self.restore_rate}
