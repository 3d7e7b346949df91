"""/healthz and /metrics: unauthenticated, truthful, in the Prometheus text format."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from gateway.db.models import Conversation

CORP = "wwcorp0001"


def samples(text: str) -> dict[tuple[str, tuple], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


async def test_healthz_reports_the_database(api) -> None:
    response = await api.get("/healthz", as_=None)
    assert response.status_code == 200 and response.json()["status"] == "ok"


async def test_metrics_count_callbacks_messages_sends_and_queue(sim_api) -> None:
    h = sim_api.h
    channel_id = await h.wecom_channel()
    kf = (await h.driver.wecom_add_kf_account(CORP))["open_kfid"]
    customer = (await h.driver.wecom_add_customer(CORP))["external_userid"]
    await h.driver.wecom_customer_send(CORP, kf, customer, content="hi")
    await h.sync_all()
    bad = await h.client.post(
        f"/callbacks/{channel_id}?msg_signature=x&timestamp=1&nonce=2", content=b"<xml><Encrypt>AAAA</Encrypt></xml>"
    )
    assert bad.status_code == 400
    async with h.db.sessions() as session:
        conversation = await session.scalar(select(Conversation))
    assert (
        await sim_api.post(f"/api/v1/conversations/{conversation.id}/messages", json={"content": "x"})
    ).status_code == 202
    queued = samples((await h.client.get("/metrics")).text)
    assert queued[("gateway_job_queue_depth", (("kind", "send_message"),))] == 1
    await h.runtime.jobs.drain()
    values = samples((await h.client.get("/metrics")).text)
    cid = str(channel_id)
    assert values[("gateway_callbacks_total", (("channel", cid), ("result", "accepted")))] >= 1
    assert values[("gateway_callbacks_total", (("channel", cid), ("result", "callback_bad_signature")))] == 1
    assert values[("gateway_messages_in_total", (("channel", cid),))] == 1
    assert values[("gateway_messages_out_total", (("channel", cid),))] == 1
    assert values[("gateway_token_refreshes_total", (("kind", "wecom"),))] == 1
    assert ("gateway_sync_lag_seconds", (("channel", cid), ("stream", kf))) in values
    # round trips per platform API (paths of the gateway's own clients), jobs' run time and lag
    sends = values[("gateway_platform_call_seconds_count", (("api", "/cgi-bin/kf/send_msg"), ("outcome", "ok")))]
    assert sends == 1
    assert values[("gateway_platform_call_seconds_count", (("api", "/cgi-bin/kf/sync_msg"), ("outcome", "ok")))] >= 1
    assert values[("gateway_job_run_seconds_count", (("kind", "send_message"), ("outcome", "done")))] == 1
    assert values[("gateway_job_lag_seconds_count", (("kind", "send_message"),))] == 1


async def test_callbacks_to_unknown_channels_do_not_grow_the_metric_series(sim_api) -> None:
    """Anyone can post to /callbacks/<any number>: those share one label, so memory and the scrape stay bounded."""
    h = sim_api.h
    await h.client.post("/callbacks/1000000?msg_signature=x&timestamp=1&nonce=2", content=b"<xml/>")
    await h.client.get("/metrics")  # its own request time is a series too, from the next scrape on
    before = len(samples((await h.client.get("/metrics")).text))
    for channel_id in range(2_000_000, 2_003_000):
        response = await h.client.post(f"/callbacks/{channel_id}?timestamp=1&nonce=2", content=b"<xml/>")
        assert response.status_code == 404
    values = samples((await h.client.get("/metrics")).text)
    assert len(values) == before
    assert values[("gateway_callbacks_total", (("channel", "unknown"), ("result", "channel_not_found")))] == 3001


async def test_send_failures_are_labelled_by_channel_not_inbox(sim_api) -> None:
    h = sim_api.h
    await h.mp_channel()  # channel 1 has no inbox of the conversation: the ids differ from here on
    channel_id = await h.wecom_channel()
    kf = (await h.driver.wecom_add_kf_account(CORP))["open_kfid"]
    customer = (await h.driver.wecom_add_customer(CORP))["external_userid"]
    await h.driver.wecom_customer_send(CORP, kf, customer, content="hi")
    await h.sync_all()
    async with h.db.sessions() as session:
        conversation = await session.scalar(select(Conversation))
    assert conversation.inbox_id != channel_id
    await h.driver.add_fault("/cgi-bin/kf/send_msg", "errcode", 95001, remaining=1)
    reply = await sim_api.post(f"/api/v1/conversations/{conversation.id}/messages", json={"content": "x"})
    assert reply.status_code == 202
    await h.runtime.jobs.drain()
    values = samples((await h.client.get("/metrics")).text)
    failures = {labels: v for (name, labels), v in values.items() if name == "gateway_send_failures_total"}
    assert failures == {(("channel", str(channel_id)), ("errcode", "95001")): 1.0}
