"""/api/v1/webhooks: admin-only subscriptions, a write-only secret shown once, the delivery log, redelivery."""

from __future__ import annotations

import base64
import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select, update

from gateway.api.app import create_app
from gateway.db.engine import Database
from gateway.db.models import Webhook, WebhookDelivery
from gateway.db.repositories.webhooks import wake
from gateway.runtime import Runtime
from gateway.sealing import SecretBox
from tests.api.support import Api, add_channel, api_settings, make_keys, say
from tests.outbound.test_webhooks import CRM, SECRET, Receiver, _true, event_ids, pump, settled


@pytest.fixture
async def hooked(db: Database, box: SecretBox) -> AsyncIterator[tuple[Api, Runtime, Receiver]]:
    """The app, its runtime (job loop driven by the test) and a CRM receiver reached in-process."""
    receiver = Receiver(SECRET)
    http = httpx.AsyncClient(mounts={CRM: httpx.ASGITransport(app=receiver.app)})
    # the development settings: the receiver is plain http on a host that is not public
    settings = api_settings(db, GATEWAY_WEBHOOK_ALLOW_HTTP="1", GATEWAY_WEBHOOK_ALLOWED_TARGETS="crm.test")
    runtime = Runtime(settings, db=db, http_client=http)
    runtime.webhooks.schedule = (0.01, 0.02)  # three attempts
    app = create_app(settings, runtime=runtime, background=False)
    # ASGITransport keeps the app on the test's event loop, which owns the asyncpg pool
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as client:
        yield Api(client, db, box, await make_keys(db)), runtime, receiver
    await http.aclose()


@pytest.fixture
def api(hooked: tuple[Api, Runtime, Receiver]) -> Api:
    return hooked[0]


async def create(api: Api, **body: object) -> dict:
    response = await api.post("/api/v1/webhooks", as_="admin", json={"url": f"{CRM}/hook", **body})
    assert response.status_code == 201, response.text
    return response.json()


async def test_create_shows_the_secret_once_and_seals_it(api: Api) -> None:
    made = await create(api, events=["message.created", "conversation.updated"], description="crm")
    assert made["secret"].startswith("whsec_") and len(made["secret"]) > 30
    # a generated secret is what the Standard Webhooks libraries take as is: whsec_ + base64 of 32 bytes
    assert len(base64.b64decode(made["secret"].removeprefix("whsec_"), validate=True)) == 32
    assert made["events"] == ["message.created", "conversation.updated"] and made["enabled"] is True
    shown = (await api.get(f"/api/v1/webhooks/{made['id']}", as_="admin")).json()
    listed = (await api.get("/api/v1/webhooks", as_="admin")).json()["data"]
    assert "secret" not in shown and [w["id"] for w in listed] == [made["id"]] and "secret" not in listed[0]
    assert shown["pending_deliveries"] == 0
    async with api.db.sessions() as session:
        row = await session.scalar(select(Webhook))
    assert made["secret"] not in row.secret_sealed and api.box.open(row.secret_sealed) == made["secret"]
    own = await create(api, secret="my-own-secret-0123456789")
    assert own["secret"] == "my-own-secret-0123456789" and own["events"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://crm.test/hook"}, "url"),
        ({"url": "/relative"}, "url"),
        ({"url": "http://crm.test/h", "events": ["message.created", "message.exploded"]}, "events"),
        ({"url": "http://crm.test/h", "secret": "short"}, "secret"),
        ({"url": "http://crm.test/h", "colour": "red"}, "colour"),
    ],
)
async def test_invalid_bodies_answer_422_with_the_field(api: Api, body: dict, field: str) -> None:
    response = await api.post("/api/v1/webhooks", as_="admin", json=body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error" and field in (error.get("field") or "") + error["message"]


async def test_only_admin_keys_manage_webhooks(api: Api) -> None:
    made = await create(api)
    assert (await api.get("/api/v1/webhooks", as_="read")).status_code == 403
    response = await api.post("/api/v1/webhooks", as_="write", json={"url": f"{CRM}/x"})
    assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden"
    assert (await api.delete(f"/api/v1/webhooks/{made['id']}", as_="write")).status_code == 403
    assert (await api.get("/api/v1/webhooks", as_=None)).status_code == 401


async def test_patch_and_delete(api: Api) -> None:
    made = await create(api)
    patched = await api.patch(
        f"/api/v1/webhooks/{made['id']}",
        as_="admin",
        json={"events": ["contact.merged"], "description": "merges", "enabled": False, "secret": "x" * 20},
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert (body["events"], body["description"], body["enabled"]) == (["contact.merged"], "merges", False)
    assert "secret" not in body
    async with api.db.sessions() as session:
        assert api.box.open((await session.scalar(select(Webhook))).secret_sealed) == "x" * 20
    assert (await api.patch("/api/v1/webhooks/999", as_="admin", json={"enabled": True})).status_code == 404
    assert (await api.delete(f"/api/v1/webhooks/{made['id']}", as_="admin")).status_code == 204
    missing = await api.get(f"/api/v1/webhooks/{made['id']}", as_="admin")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


async def test_delivery_log_pages_and_redeliver(hooked, caplog) -> None:
    api, runtime, receiver = hooked
    caplog.set_level(logging.DEBUG)
    made = await create(api, secret=SECRET)
    channel = await add_channel(api.db, api.box)
    receiver.poison.add("boom")
    await say(api.db, channel, "kf1", "alice", "hi")
    await say(api.db, channel, "kf1", "alice", "boom")
    ids = await event_ids(api.db)
    await pump(runtime, lambda: settled(api.db))
    base = f"/api/v1/webhooks/{made['id']}/deliveries"
    log = (await api.get(base, as_="admin")).json()
    assert [d["event_id"] for d in log["data"]] == ids[::-1] and log["next_cursor"] is None
    failed = log["data"][0]
    assert failed["status"] == "failed" and failed["event_type"] == "message.created"
    assert (failed["attempts"], failed["response_status"], failed["last_error"]) == (3, 500, "HTTP 500")
    ok = log["data"][1]
    assert (ok["status"], ok["attempts"], ok["response_status"]) == ("delivered", 1, 204) and ok["delivered_at"]
    page = (await api.get(f"{base}?limit=2", as_="admin")).json()
    rest = (await api.get(base, params={"limit": 2, "cursor": page["next_cursor"]}, as_="admin")).json()
    assert [d["event_id"] for d in page["data"] + rest["data"]] == ids[::-1]
    assert [d["id"] for d in (await api.get(f"{base}?status=failed", as_="admin")).json()["data"]] == [failed["id"]]

    receiver.poison.clear()  # the CRM fixed its bug: send it again
    again = await api.post(f"{base}/{failed['id']}/redeliver", as_="admin")
    assert again.status_code == 202 and (again.json()["status"], again.json()["attempts"]) == ("pending", 0)
    await pump(runtime, lambda: _true(len(receiver.ids()) == len(ids)))
    assert receiver.ids() == ids
    redone = (await api.get(f"{base}?status=delivered", as_="admin")).json()["data"]
    assert len(redone) == len(ids) and redone[0]["attempts"] == 1
    assert (await api.post(f"{base}/999/redeliver", as_="admin")).status_code == 404
    assert sum(SECRET in body for body in api.bodies) == 1  # the answer to POST only
    assert SECRET not in caplog.text


async def test_disabling_parks_the_queue_and_enabling_resumes_it(hooked) -> None:
    api, runtime, receiver = hooked
    runtime.webhooks.schedule = (60.0,)  # the head stays parked in backoff
    made = await create(api, secret=SECRET)
    channel = await add_channel(api.db, api.box)
    receiver.down = True
    await say(api.db, channel, "kf1", "alice", "hi")
    await pump(runtime, lambda: _true(len(receiver.attempts) >= 1))
    await api.patch(f"/api/v1/webhooks/{made['id']}", as_="admin", json={"enabled": False})
    await say(api.db, channel, "kf1", "alice", "while off")  # not queued for a disabled webhook
    receiver.down = False
    async with api.db.session() as session:  # time passes: the head's retry is due, and a wake-up runs
        await session.execute(update(WebhookDelivery).values(next_attempt_at=None))
        await wake(session, made["id"])
    tried = len(receiver.attempts)
    await runtime.jobs.drain()
    assert len(receiver.attempts) == tried  # disabled: nothing is sent
    shown = (await api.get(f"/api/v1/webhooks/{made['id']}", as_="admin")).json()
    assert shown["pending_deliveries"] == 3  # contact, conversation, first message
    conflict = await api.post(f"/api/v1/webhooks/{made['id']}/deliveries/1/redeliver", as_="admin")
    assert conflict.status_code == 409
    await api.patch(f"/api/v1/webhooks/{made['id']}", as_="admin", json={"enabled": True})
    await pump(runtime, lambda: _true(len(receiver.ids()) == 3))
    await runtime.jobs.drain()
    assert receiver.ids() == (await event_ids(api.db))[:3]  # what happened while off was never queued


async def test_a_rotated_secret_signs_what_follows(hooked) -> None:
    api, runtime, receiver = hooked
    made = await create(api, secret=SECRET)
    await api.patch(f"/api/v1/webhooks/{made['id']}", as_="admin", json={"secret": "rotated-secret-0123456789"})
    receiver.secret = "rotated-secret-0123456789"
    await say(api.db, await add_channel(api.db, api.box), "kf1", "alice", "hi")
    await pump(runtime, lambda: _true(len(receiver.ids()) == 3))
    assert receiver.bad == 0
