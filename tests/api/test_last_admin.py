"""The last active admin cannot be demoted or deactivated (409 last_admin, nothing written), and two
concurrent demotions of the only two admins cannot both succeed (the admins' rows are locked)."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from gateway.db.people import AuditEntry, Operator
from tests.api.operator_support import add_operator
from tests.api.support import Api


async def admins(api: Api) -> list[str]:
    async with api.db.sessions() as session:
        rows = await session.scalars(
            select(Operator.email).where(Operator.role == "admin", Operator.active.is_(True)).order_by(Operator.id)
        )
        return list(rows)


async def audited(api: Api) -> int:
    async with api.db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


async def test_the_last_admin_is_neither_demoted_nor_deactivated(api: Api) -> None:
    ana = await add_operator(api.db, "ana@example.com", role="admin")
    await add_operator(api.db, "bo@example.com", name="Bo")  # an agent does not count
    before = await audited(api)
    for body in ({"role": "agent"}, {"active": False}, {"name": "Ana B", "role": "agent", "active": False}):
        refused = await api.patch(f"/api/v1/operators/{ana}", json=body, as_="admin")
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "last_admin", body
    assert await admins(api) == ["ana@example.com"] and await audited(api) == before
    async with api.db.sessions() as session:
        assert await session.scalar(select(Operator.name).where(Operator.id == ana)) == "Ana"  # nothing written
    # other changes to the last admin still work
    renamed = await api.patch(f"/api/v1/operators/{ana}", json={"name": "Ana B", "role": "admin"}, as_="admin")
    assert renamed.status_code == 200 and renamed.json()["name"] == "Ana B"

    cy = await add_operator(api.db, "cy@example.com", role="admin", name="Cy")
    assert (await api.patch(f"/api/v1/operators/{ana}", json={"role": "agent"}, as_="admin")).status_code == 200
    last = await api.patch(f"/api/v1/operators/{cy}", json={"active": False}, as_="admin")
    assert last.status_code == 409 and last.json()["error"]["code"] == "last_admin"
    # an inactive admin does not count either: reactivating one lets the other go
    dee = await add_operator(api.db, "dee@example.com", role="admin", name="Dee")
    assert (await api.patch(f"/api/v1/operators/{dee}", json={"active": False}, as_="admin")).status_code == 200
    assert (await api.patch(f"/api/v1/operators/{cy}", json={"role": "agent"}, as_="admin")).status_code == 409
    assert (await api.patch(f"/api/v1/operators/{dee}", json={"active": True}, as_="admin")).status_code == 200
    assert (await api.patch(f"/api/v1/operators/{cy}", json={"role": "agent"}, as_="admin")).status_code == 200
    assert await admins(api) == ["dee@example.com"]


async def test_two_concurrent_demotions_of_the_two_admins_cannot_both_succeed(api: Api) -> None:
    for round_ in range(5):  # several rounds: the requests interleave differently each time
        pair = [
            await add_operator(api.db, f"a{round_}@example.com", role="admin", name="A"),
            await add_operator(api.db, f"b{round_}@example.com", role="admin", name="B"),
        ]
        change = ({"role": "agent"}, {"active": False})[round_ % 2]
        answers = await asyncio.gather(
            *(api.patch(f"/api/v1/operators/{operator}", json=change, as_="admin") for operator in pair)
        )
        assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
        (refused,) = [a for a in answers if a.status_code == 409]
        assert refused.json()["error"]["code"] == "last_admin"
        assert len(await admins(api)) == 1
        async with api.db.session() as session:  # the next round starts with no admin left over
            for row in await session.scalars(select(Operator)):
                row.active = False
