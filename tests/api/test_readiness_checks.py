"""/readyz beyond the database: refused channel credentials, a stuck job, a pull behind its callbacks,
a standing pull error. Each fails through the real components (the simulator, the job queue, the
callback path and the puller) and passes again once the cause is gone."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import update

from gateway.db.models import Job, SyncCursor
from gateway.db.types import utcnow
from gateway.outbound.jobs import enqueue
from tests.api.support import Api, SimApi
from tests.api.test_channels import SECRET, assert_no_secrets, wecom

CORP = "wwcorp0001"  # Harness.wecom_channel's corp
LIMIT = 300.0  # the default GATEWAY_READY_* limits


def failing(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["status"] == "error" and "checks" not in body
    return body["failing"]


def checks(response: Any) -> dict[tuple[str, Any], dict[str, Any]]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok" and all(c["ok"] for c in body["checks"])
    return {(c["check"], c.get("stream") or c.get("channel_id")): c for c in body["checks"]}  # kf account, channel


async def test_credentials_the_platform_refused_make_the_process_unready(sim_api: SimApi) -> None:
    assert sim_api.h is not None
    await sim_api.h.driver.wecom_create_corp(corpid="ww0001", secret=SECRET)
    body = wecom(secrets={**wecom()["secrets"], "secret": "wrong-one"})
    channel = (await sim_api.post("/api/v1/channels", as_="admin", json=body)).json()["id"]
    ready = checks(await sim_api.get("/readyz", as_=None))
    assert ready[("token", channel)]["state"] == "unknown"  # no fetch yet: nothing known against it

    assert (await sim_api.post(f"/api/v1/channels/{channel}/verify", as_="admin")).status_code == 424
    [token] = failing(await sim_api.get("/readyz", as_=None))
    assert (token["check"], token["channel_id"], token["channel"], token["state"]) == (
        "token",
        channel,
        "corp",
        "refused",
    )
    assert token["error"]["code"] == "channel_misconfigured" and token["error"]["errcode"] == 40001

    fixed = await sim_api.patch(f"/api/v1/channels/{channel}", as_="admin", json={"secrets": {"secret": SECRET}})
    assert fixed.status_code == 200, fixed.text
    assert (await sim_api.post(f"/api/v1/channels/{channel}/verify", as_="admin")).status_code == 200
    assert checks(await sim_api.get("/readyz", as_=None))[("token", channel)]["state"] == "ok"
    assert_no_secrets(sim_api, "wrong-one", SECRET)


async def test_an_outage_is_not_a_credential_failure(sim_api: SimApi) -> None:
    assert sim_api.h is not None
    await sim_api.h.driver.wecom_create_corp(corpid="ww0001", secret=SECRET)
    channel = (await sim_api.post("/api/v1/channels", as_="admin", json=wecom())).json()["id"]
    await sim_api.h.driver.add_fault(host="wecom", path="/cgi-bin/gettoken", kind="http_status", value=503)
    assert (await sim_api.post(f"/api/v1/channels/{channel}/verify", as_="admin")).status_code in (502, 503)
    token = checks(await sim_api.get("/readyz", as_=None))[("token", channel)]
    assert token["state"] == "failed" and token["error"]["code"] == "platform_unreachable"


async def test_a_job_waiting_past_the_limit_fails_the_backlog_check(api: Api) -> None:
    async with api.db.session() as session:
        job = await enqueue(session, "send_reply", {"message_id": 1})
    assert checks(await api.get("/readyz", as_=None))[("jobs", None)]["waited_seconds"] < LIMIT
    async with api.db.session() as session:  # time passes and no worker takes it
        await session.execute(update(Job).where(Job.id == job).values(run_at=utcnow() - timedelta(seconds=LIMIT + 60)))
    [jobs] = failing(await api.get("/readyz", as_=None))
    assert (jobs["check"], jobs["oldest_kind"]) == ("jobs", "send_reply") and jobs["waited_seconds"] > LIMIT
    async with api.db.session() as session:  # a worker ran it
        await session.execute(update(Job).where(Job.id == job).values(status="done"))
    assert checks(await api.get("/readyz", as_=None))[("jobs", None)]["oldest_kind"] is None


async def test_a_kf_account_behind_its_callbacks_fails_sync_lag_until_pulled(sim_api: SimApi) -> None:
    h = sim_api.h
    assert h is not None
    channel = await h.wecom_channel()
    kf = (await h.driver.wecom_add_kf_account(CORP, name="kf"))["open_kfid"]
    customer = (await h.driver.wecom_add_customer(CORP))["external_userid"]
    await h.driver.wecom_customer_send(CORP, kf, customer, content="anyone there?")
    await h.driver.flush_callbacks()  # the callback's sync Token is stored; the loops are stopped: no pull
    lag = checks(await sim_api.get("/readyz", as_=None))[("sync_lag", kf)]
    assert lag["channel_id"] == channel and lag["last_pull_at"] is None and lag["seconds"] < LIMIT
    async with h.db.session() as session:  # time passes without a pull
        await session.execute(update(SyncCursor).values(callback_token_at=utcnow() - timedelta(seconds=LIMIT + 60)))
    [behind] = failing(await sim_api.get("/readyz", as_=None))
    assert (behind["check"], behind["stream"], behind["channel_id"]) == ("sync_lag", kf, channel)
    metrics = (await sim_api.get("/metrics", as_=None)).text
    assert f'gateway_sync_behind_seconds{{channel="{channel}",stream="{kf}"}}' in metrics

    await h.sync_all()  # the puller catches up
    assert checks(await sim_api.get("/readyz", as_=None))[("sync_lag", kf)]["seconds"] == 0


async def test_a_pull_error_standing_past_the_limit_fails_the_pull_check(sim_api: SimApi) -> None:
    h = sim_api.h
    assert h is not None
    channel = await h.wecom_channel()
    kf = (await h.driver.wecom_add_kf_account(CORP, name="kf"))["open_kfid"]
    customer = (await h.driver.wecom_add_customer(CORP))["external_userid"]
    await h.driver.wecom_customer_send(CORP, kf, customer, content="one")
    await h.sync_all()
    await h.driver.add_fault(host="wecom", path="/cgi-bin/kf/sync_msg", kind="errcode", value=-1)
    await h.driver.wecom_customer_send(CORP, kf, customer, content="two")
    await h.driver.flush_callbacks()
    await h.runtime.syncer._attempt(channel, kf)  # one round of the sync loop: the pull fails, its error stands
    pull = checks(await sim_api.get("/readyz", as_=None))[("pull", channel)]
    assert kf in pull["errors"] and pull["last_pull_at"] is not None  # a fresh error: not yet a failure
    async with h.db.session() as session:  # time passes: no pull has succeeded since
        await session.execute(update(SyncCursor).values(last_synced_at=utcnow() - timedelta(seconds=LIMIT + 60)))
    failed = {c["check"]: c for c in failing(await sim_api.get("/readyz", as_=None))}
    assert failed["pull"]["channel_id"] == channel and kf in failed["pull"]["errors"]
    await h.driver.clear_faults()
    await h.sync_all()
    assert checks(await sim_api.get("/readyz", as_=None))[("pull", channel)]["errors"] == {}
