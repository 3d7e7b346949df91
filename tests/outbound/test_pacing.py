"""The send pacing bucket: a burst passes at once, then tokens come at `rate` per second."""

from __future__ import annotations

import pytest

from gateway.outbound.pacing import Limiter, TokenBucket


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_burst_then_paced(monkeypatch) -> None:
    clock = FakeClock()
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.now += seconds

    monkeypatch.setattr("gateway.outbound.pacing.asyncio.sleep", fake_sleep)
    bucket = TokenBucket(rate=10, burst=3, clock=clock)
    waits = [await bucket.acquire() for _ in range(5)]
    assert waits[:3] == [0, 0, 0]
    assert waits[3] == pytest.approx(0.1) and waits[4] == pytest.approx(0.1)
    clock.now += 10  # idle time refills up to the burst only
    assert [await bucket.acquire() for _ in range(3)] == [0, 0, 0]
    assert await bucket.acquire() == pytest.approx(0.1)


async def test_limiter_keys_are_independent(monkeypatch) -> None:
    async def no_sleep(seconds: float) -> None:
        raise AssertionError("a fresh key must not wait")

    limiter = Limiter(rate=1)
    await limiter.acquire("a")
    monkeypatch.setattr("gateway.outbound.pacing.asyncio.sleep", no_sleep)
    await limiter.acquire("b")


def test_rate_must_be_positive() -> None:
    with pytest.raises(ValueError):
        TokenBucket(rate=0)
