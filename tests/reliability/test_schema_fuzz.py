"""Schemathesis over /schema: no request to any endpoint, valid or not, gets a 5xx.

(One kind of 5xx is the gateway's deliberate answer rather than a failure: 502 relaying a
platform refusal with its errcode. Those are allowed; a 500 never is.)

Cases come from the OpenAPI document the app serves (positive and negative generation), are sent
in-process (httpx.ASGITransport, the test's event loop, so the database and the simulator behind
the gateway are the real ones) with an admin API key, against a database holding a little of
everything (both channels, conversations, messages, a webhook). Only the SSE stream is left out:
a valid request to it never ends.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.generation.modes import GenerationMode

from tests.api.support import make_keys
from tests.reliability.conftest import APPID, CORP, Rig, sync_everything

SKIP = {("GET", "/api/v1/events/stream")}


async def operations(rig: Rig) -> list[Any]:
    """Every operation of the OpenAPI document the gateway serves at /schema/openapi.json."""
    response = await rig.h.client.get("/schema/openapi.json")
    assert response.status_code == 200
    ops = [result.ok() for result in schemathesis.openapi.from_dict(response.json()).get_all_operations()]
    return [op for op in ops if (op.method.upper(), op.path) not in SKIP]


async def seed(rig: Rig) -> None:
    """A little of everything, so generated ids sometimes name real rows."""
    h = rig.h
    await h.wecom_channel()
    await h.mp_channel(appid=APPID)
    kf = (await h.driver.wecom_add_kf_account(CORP))["open_kfid"]
    customer = (await h.driver.wecom_add_customer(CORP, unionid="U-fuzz"))["external_userid"]
    await h.driver.wecom_customer_send(CORP, kf, customer, content="hello")
    openid = (await h.driver.mp_add_follower(APPID, unionid="U-fuzz"))["openid"]
    await h.driver.mp_user_text(APPID, openid, "hi")
    await sync_everything(h)
    await h.runtime.jobs.drain()
    created = await rig.api.post("/api/v1/webhooks", as_="admin", json={"url": "http://sim/hook"})
    assert created.status_code == 201, created.text


def platform_refusal(response: Any) -> bool:
    """A 502 that relays the platform's own errcode (e.g. MP typing 45080 "no recent message") is a
    deliberate answer of the gateway (gateway.errors.PlatformError), not a crash."""
    if response.status_code != 502 or "json" not in response.headers.get("content-type", ""):
        return False
    error = response.json().get("error", {})
    return error.get("code", "").startswith("platform_") and isinstance(error.get("errcode"), int)


EXAMPLES = 25  # per operation, half of them negative (off-schema) on average


def generate(op: Any) -> list[Any]:
    """Seeded cases for one operation (drawn up front: the requests go out on the test's event loop)."""
    drawn: list[Any] = []

    @given(case=st.one_of(op.as_strategy(GenerationMode.POSITIVE), op.as_strategy(GenerationMode.NEGATIVE)))
    @settings(
        max_examples=EXAMPLES, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    def collect(case: Any) -> None:
        drawn.append(case)

    collect()
    return drawn


async def test_no_endpoint_answers_5xx(rig: Rig) -> None:
    await seed(rig)
    ops = await operations(rig)
    assert len(ops) >= 45, [f"{op.method} {op.path}" for op in ops]
    failures: list[str] = []
    sent = 0
    for op in ops:
        for case in generate(op):
            kwargs = case.as_transport_kwargs(base_url="http://gateway")
            headers = {k: str(v) for k, v in (kwargs.get("headers") or {}).items()}
            kwargs["headers"] = {**headers, "Authorization": f"Bearer {rig.api.keys['admin']}"}
            kwargs.pop("cookies", None)
            if "data" in kwargs and isinstance(kwargs["data"], bytes | str):
                kwargs["content"] = kwargs.pop("data")
            response = await rig.h.client.request(**kwargs)
            sent += 1
            if response.status_code == 401:  # a generated DELETE revoked our key: carry on with a new one
                rig.api.keys = await make_keys(rig.db)
            elif response.status_code >= 500 and not platform_refusal(response):
                failures.append(
                    f"{op.method.upper()} {op.path}: {response.status_code} {response.text[:200]}\n    {kwargs}"
                )
            elif response.status_code >= 400 and "json" in response.headers.get("content-type", ""):
                if "code" not in response.json().get("error", {}):
                    failures.append(
                        f"{op.method.upper()} {op.path}: {response.status_code} without error.code: "
                        f"{response.text[:200]}"
                    )
    assert sent >= len(ops) * EXAMPLES // 2
    assert not failures, f"{len(failures)} of {sent} requests failed:\n" + "\n".join(failures[:20])
