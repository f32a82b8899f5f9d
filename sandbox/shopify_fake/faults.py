"""Deterministic fault injection: 502/503 answers, hangs past the client's timeout, 429s.

One uniform draw per request from ``random.Random(seed)`` decides its fate, so the same
sequence of requests meets the same faults. Configure with constructor keywords or
``POST /_fake/faults`` (same names, JSON).
"""
from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass, fields

__all__ = ["FaultConfig", "Faults", "Fault"]


@dataclass
class FaultConfig:
    """Fault knobs.

    Attributes:
        error_rate: Fraction of requests answered 502 or 503 (not executed).
        hang_rate: Fraction of requests that sleep ``hang_seconds`` before being answered
            (and executed: a client that timed out may still have changed data).
        rate_429: Fraction answered HTTP 429 with ``Retry-After: retry_after``.
        retry_after: Seconds in the ``Retry-After`` header.
        hang_seconds: How long a hang lasts (real seconds).
        seed: Seed of the fault draws; setting it restarts the sequence.
        downloads: Also inject 502/503 and hangs into bulk result downloads.
    """

    error_rate: float = 0.0
    hang_rate: float = 0.0
    rate_429: float = 0.0
    retry_after: float = 1.0
    hang_seconds: float = 5.0
    seed: int = 0
    downloads: bool = False


@dataclass(frozen=True)
class Fault:
    """What to do to one request: ``kind`` is ``error``, ``hang`` or ``429``."""

    kind: str
    status: int = 0


class Faults:
    """Draws faults per request and counts what it injected."""

    def __init__(self, **knobs) -> None:
        self.config = FaultConfig()
        self._lock = threading.Lock()
        self.injected = {"error": 0, "hang": 0, "429": 0}
        self.configure(**knobs)
        self._rng = random.Random(self.config.seed)

    def configure(self, **changes) -> dict:
        """Update knobs (unknown names raise ValueError); return the whole configuration."""
        names = {f.name for f in fields(FaultConfig)}
        unknown = set(changes) - names
        if unknown:
            raise ValueError(f"unknown fault knobs: {', '.join(sorted(unknown))}; "
                             f"known: {', '.join(sorted(names))}")
        with self._lock:
            for key, value in changes.items():
                setattr(self.config, key, type(getattr(FaultConfig(), key))(value))
            if "seed" in changes:
                self._rng = random.Random(self.config.seed)
            return asdict(self.config)

    def draw(self, download: bool = False) -> Fault | None:
        """The fault for the next request, or None."""
        c = self.config
        if download and not c.downloads:
            return None
        with self._lock:
            u = self._rng.random()
            pick = self._rng.random()
        if u < c.error_rate:
            self.injected["error"] += 1
            return Fault("error", 502 if pick < 0.5 else 503)
        u -= c.error_rate
        if u < c.hang_rate:
            self.injected["hang"] += 1
            return Fault("hang")
        u -= c.hang_rate
        if u < c.rate_429 and not download:
            self.injected["429"] += 1
            return Fault("429", 429)
        return None
