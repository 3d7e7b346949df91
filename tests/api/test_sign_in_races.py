"""The failed sign-in limit holds under concurrent attempts: an attempt is counted (and the limit
checked) in one serialized step before its password is verified, so 20 wrong passwords at once get
at most the limit's 5 verifications, with no slack, and the rest 429 too_many_attempts."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import func, select

from gateway.db.people import SignInFailure
from gateway.db.repositories.signins import MAX_PER_ADDRESS, MAX_PER_EMAIL
from tests.api.operator_support import PASSWORD, add_operator, sign_in
from tests.api.support import Api


async def failures(api: Api) -> int:
    async with api.db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(SignInFailure)) or 0)


def tally(answers: list[Any]) -> tuple[int, int]:
    """(401s, 429s); the only other answer allowed is the load shedder's 503 (nothing counted)."""
    codes = [a.status_code for a in answers]
    assert set(codes) <= {401, 429, 503}, codes
    assert all(a.json()["error"]["code"] == "overloaded" for a in answers if a.status_code == 503)
    assert all(a.json()["error"]["code"] == "too_many_attempts" for a in answers if a.status_code == 429)
    return codes.count(401), codes.count(429)


async def test_twenty_concurrent_wrong_passwords_get_at_most_the_limit(api: Api) -> None:
    await add_operator(api.db)
    wrong = {"email": "ana@example.com", "password": "not the password"}
    answers = await asyncio.gather(*(api.client.post("/api/v1/auth/sign-in", json=wrong) for _ in range(20)))
    verified, limited = tally(answers)
    assert verified == MAX_PER_EMAIL and limited >= 1, (verified, limited)
    assert await failures(api) == MAX_PER_EMAIL  # a refused attempt is not counted again
    right = await api.client.post("/api/v1/auth/sign-in", json={"email": "ana@example.com", "password": PASSWORD})
    assert right.status_code == 429  # the right password waits out the window too


async def test_concurrent_guesses_from_one_address_get_at_most_its_limit(api: Api) -> None:
    answers = await asyncio.gather(
        *(
            api.client.post("/api/v1/auth/sign-in", json={"email": f"guess{n}@example.com", "password": "nope nope"})
            for n in range(MAX_PER_ADDRESS + 10)
        )
    )
    verified, limited = tally(answers)
    assert verified <= MAX_PER_ADDRESS and verified + limited >= MAX_PER_ADDRESS + 1, (verified, limited)
    assert await failures(api) == verified


async def test_a_good_sign_in_is_not_counted_as_a_failure(api: Api) -> None:
    await add_operator(api.db)
    wrong = {"email": "ana@example.com", "password": "not the password"}
    for _ in range(MAX_PER_EMAIL - 1):
        assert (await api.client.post("/api/v1/auth/sign-in", json=wrong)).status_code == 401
    await sign_in(api.client)  # the 5th attempt, counted while its password is checked, then cleared
    assert await failures(api) == 0
    for _ in range(MAX_PER_EMAIL):
        assert (await api.client.post("/api/v1/auth/sign-in", json=wrong)).status_code == 401
    assert (await api.client.post("/api/v1/auth/sign-in", json=wrong)).status_code == 429
