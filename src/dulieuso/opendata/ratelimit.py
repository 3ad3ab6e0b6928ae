# SPDX-License-Identifier: AGPL-3.0-or-later
"""A token bucket per client address for downloads and data API calls.

In-process: each web worker keeps its own buckets, so with N workers a client gets up
to N times the rate. A multi-node deployment should keep the buckets in Redis (one
``INCR`` + ``EXPIRE`` per window, or a Lua token bucket); see docs/opendata.md.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from dulieuso.errors import TooManyRequests
from dulieuso.i18n import Msg

#: Default: bursts of 60 downloads, then one a second (3,600 an hour) per address.
CAPACITY = 60.0
REFILL_PER_SECOND = 1.0
MAX_KEYS = 100_000


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TokenBucket:
    def __init__(self, capacity: float = CAPACITY, refill_per_second: float = REFILL_PER_SECOND) -> None:
        self.capacity = capacity
        self.refill = refill_per_second
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, key: str, cost: float = 1.0) -> float:
        """Take ``cost`` tokens for ``key``; return 0, or the seconds to wait when empty."""
        now = time.monotonic()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= MAX_KEYS:
                    self._buckets.clear()  # crude, bounded memory; a full bucket is the default anyway
                bucket = self._buckets[key] = _Bucket(self.capacity, now)
            bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.updated) * self.refill)
            bucket.updated = now
            if bucket.tokens >= cost:
                bucket.tokens -= cost
                return 0.0
            return (cost - bucket.tokens) / self.refill

    def check(self, key: str | None, cost: float = 1.0) -> None:
        """Raise ``TooManyRequests`` (429, Vietnamese and English) when ``key`` is over."""
        wait = self.take(key or "unknown", cost)
        if wait > 0:
            raise TooManyRequests(
                Msg("Too many downloads from your address. Please wait {seconds} seconds and try again.", seconds=max(1, round(wait))),
                code="rate_limited",
                extra={"retry_after": max(1, round(wait))},
            )

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()


#: The buckets of this process (downloads, dumps, packages and data API calls share one).
DOWNLOADS = TokenBucket()
