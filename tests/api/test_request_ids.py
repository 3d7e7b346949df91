"""Request ids: answered on every response, on every log line of the request and of the jobs it queues;
one access line per request; request time by route template (bounded labels)."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from gateway.db.models import Conversation, Job
from gateway.logs import REQUEST_ID, JsonFormatter
from tests.api.test_ops import samples

CORP = "wwcorp0001"


class Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[tuple[str, str | None]] = []
        self.formatted: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append((record.getMessage(), REQUEST_ID.get()))
        self.formatted.append(JsonFormatter().format(record))


@pytest.fixture
def captured() -> Captured:
    handler = Captured()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield handler
    root.removeHandler(handler)
    root.setLevel(level)


async def test_every_response_carries_an_id_and_a_sane_client_id_is_kept(api, captured: Captured) -> None:
    generated = await api.get("/api/v1/conversations")
    assert generated.status_code == 200 and len(generated.headers["x-request-id"]) == 32
    kept = await api.get("/api/v1/conversations", headers={"X-Request-ID": "crm-trace.42"})
    assert kept.headers["x-request-id"] == "crm-trace.42"
    hostile = await api.get("/api/v1/conversations", headers={"X-Request-ID": "a b\r\n<script>"})
    assert hostile.headers["x-request-id"] != "a b\r\n<script>" and len(hostile.headers["x-request-id"]) == 32
    refused = await api.get("/api/v1/conversations", as_=None)
    assert refused.status_code == 401 and refused.headers["x-request-id"]
    access = [(line, rid) for line, rid in captured.lines if line.startswith("GET /api/v1/conversations ")]
    assert [rid for _, rid in access] == [
        generated.headers["x-request-id"],
        "crm-trace.42",
        hostile.headers["x-request-id"],
        refused.headers["x-request-id"],
    ]
    assert access[0][0].split()[2] == "200" and access[-1][0].split()[2] == "401"
    assert any('"request_id": "crm-trace.42"' in line for line in captured.formatted)


async def test_a_reply_job_carries_the_request_id_into_its_log_lines(sim_api, captured: Captured) -> None:
    h = sim_api.h
    await h.wecom_channel()
    kf = (await h.driver.wecom_add_kf_account(CORP))["open_kfid"]
    customer = (await h.driver.wecom_add_customer(CORP))["external_userid"]
    await h.driver.wecom_customer_send(CORP, kf, customer, content="hi")
    await h.sync_all()
    async with h.db.sessions() as session:
        conversation = await session.scalar(select(Conversation))
    await h.driver.add_fault("/cgi-bin/kf/send_msg", "errcode", 95001, remaining=1)  # the failure is logged
    response = await sim_api.post(
        f"/api/v1/conversations/{conversation.id}/messages", json={"content": "x"}, headers={"X-Request-ID": "trace-7"}
    )
    assert response.status_code == 202
    async with h.db.sessions() as session:
        job = await session.scalar(select(Job).where(Job.kind == "send_message"))
    assert job.payload["request_id"] == "trace-7"
    captured.lines.clear()
    await h.runtime.jobs.drain()
    sends = [rid for line, rid in captured.lines if "send_msg" in line]
    assert sends and set(sends) == {"trace-7"}  # the send job's lines (the platform call included)
    assert {rid for _, rid in captured.lines} <= {"trace-7", None}  # jobs queued by no request carry none
    assert REQUEST_ID.get() is None  # the test's own context was left alone


async def test_request_time_is_labelled_by_route_template(api) -> None:
    for conversation_id in range(1, 40):
        await api.get(f"/api/v1/conversations/{conversation_id}")
    values = samples((await api.client.get("/metrics")).text)
    routes = {
        dict(labels)["route"] for (name, labels) in values if name == "gateway_http_request_duration_seconds_count"
    }
    assert "/api/v1/conversations/{conversation_id}" in routes
    assert not any(route.endswith(("/7", "/39")) for route in routes)
