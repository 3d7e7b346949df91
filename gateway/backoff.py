"""Retry delays, one formula for every retry loop: jobs, sync streams, platform calls, webhooks."""

from __future__ import annotations

import random


def exponential(attempt: int, *, base: float, cap: float) -> float:
    """`base` · 2^(attempt−1) seconds for retry `attempt` (1-based), at most `cap`."""
    return min(cap, base * 2 ** (max(1, attempt) - 1))


def jittered(seconds: float, spread: float = 0.2) -> float:
    """`seconds` ± `spread` (a fraction), so retries of many failures do not land together."""
    return seconds * random.uniform(1 - spread, 1 + spread)


def full_jitter(seconds: float) -> float:
    """Anywhere in [0, seconds]: for calls many clients retry at once (the platforms' rate limits)."""
    return random.uniform(0, seconds)
