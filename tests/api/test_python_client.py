"""clients/python/kefu_gateway_client: a fresh generation of the document (gateway.api.pyclient),
and the generated client driving the real app with the simulator behind it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from gateway.api.pyclient import render, snake, type_of
from gateway.db.models import Conversation
from tests.api.support import Api, SimApi

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "clients" / "python"))  # the client is its own package, not installed here

from kefu_gateway_client import ApiError, KefuGatewayClient, models, paginate  # noqa: E402

PACKAGE = ROOT / "clients" / "python" / "kefu_gateway_client"
CORP = "wwcorp0001"


async def test_the_checked_in_client_is_a_fresh_generation(api: Api) -> None:
    doc = (await api.client.get("/schema/openapi.json")).json()
    fresh = render(doc)
    for name, text in fresh.items():
        assert (PACKAGE / name).read_text(encoding="utf-8") == text, (
            f"{name} stale: run python scripts/openapi_python.py"
        )
    assert "    async def list_conversations(\n" in fresh["client.py"]
    assert "        idempotency_key: str | None = None,\n" in fresh["client.py"]
    assert "class SendMessage(msgspec.Struct, kw_only=True):" in fresh["models.py"]
    assert "    'idempotency_key_busy',\n" in fresh["models.py"]  # ErrorCode
    ops = sum(1 for item in doc["paths"].values() for method in item if method in ("get", "post", "patch", "delete"))
    assert fresh["client.py"].count("    async def ") == ops  # one method per operation


def test_the_script_checks_the_same_files() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "openapi_python.py"), "--check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


def test_json_schema_to_python() -> None:
    assert snake("listConversations") == "list_conversations"
    assert snake("If-None-Match") == "if_none_match" and snake("Last-Event-ID") == "last_event_id"
    assert type_of({"oneOf": [{"type": "string"}, {"type": "null"}]}) == "str | None"
    assert type_of({"type": "string", "format": "date-time"}) == "datetime"
    assert type_of({"type": "array", "items": {"$ref": "#/components/schemas/ChannelOut"}}, "models.") == (
        "list[models.ChannelOut]"
    )
    assert type_of({"type": "object", "additionalProperties": {"type": "integer"}}) == "dict[str, int]"
    assert type_of({"enum": ["a", None]}) == "Literal['a'] | None"
    # msgspec cannot tell two objects (or two strings) apart in an untagged union: Any, not a wrong type
    assert type_of({"anyOf": [{"$ref": "#/components/schemas/A"}, {"$ref": "#/components/schemas/B"}]}) == "Any"
    assert type_of({"anyOf": [{"enum": ["x"]}, {"type": "string"}]}) == "Any"
    assert type_of({"not": {}}) == "Any"


async def three_conversations(sim_api: SimApi) -> list[int]:
    h = sim_api.h
    assert h is not None
    await h.wecom_channel()
    kf = (await h.driver.wecom_add_kf_account(CORP))["open_kfid"]
    for n in range(3):
        customer = (await h.driver.wecom_add_customer(CORP))["external_userid"]
        await h.driver.wecom_customer_send(CORP, kf, customer, content=f"hello {n}")
    await h.sync_all()
    async with h.db.sessions() as session:
        return sorted((await session.scalars(select(Conversation.id))).all())


@pytest.mark.parametrize("with_transport", [False, True])
async def test_the_generated_client_against_the_app(sim_api: SimApi, with_transport: bool) -> None:
    conversations = await three_conversations(sim_api)
    assert len(conversations) == 3 and sim_api.h is not None
    if with_transport:  # base_url + transport: the client makes (and closes) its own httpx client
        transport = httpx.ASGITransport(sim_api.h.app)
        gw = KefuGatewayClient("http://gateway", api_key=sim_api.keys["admin"], transport=transport)
    else:
        gw = KefuGatewayClient(client=sim_api.client, api_key=sim_api.keys["admin"])
    async with gw:
        channels = await gw.list_channels()
        assert isinstance(channels, models.ChannelList)
        assert [(c.kind, c.enabled) for c in channels.data] == [("wecom", True)]

        pages: list[models.ConversationPage] = []

        async def page(**kwargs: object) -> models.ConversationPage:
            pages.append(await gw.list_conversations(**kwargs))  # type: ignore[arg-type]
            return pages[-1]

        seen = [c.id async for c in paginate(page, limit=2)]
        assert sorted(seen) == conversations and len(seen) == 3
        assert len(pages) == 2 and pages[0].next_cursor and pages[1].next_cursor is None
        assert all(isinstance(c, models.ConversationOut) for p in pages for c in p.data)

        target = conversations[0]
        body = models.SendMessage(content_type="text", content="hi from a typed client")
        first = await gw.send(target, body=body, idempotency_key="crm-42")
        again = await gw.send(target, body=body, idempotency_key="crm-42")
        assert isinstance(first, models.MessageOut) and first.status == "queued"
        assert again.id == first.id
        with pytest.raises(ApiError) as reused:
            await gw.send(target, body=models.SendMessage(content="other"), idempotency_key="crm-42")
        assert (reused.value.status, reused.value.code) == (422, "idempotency_key_reused")

        with pytest.raises(ApiError) as missing:
            await gw.get_conversation(target + 1000)
        assert (missing.value.status, missing.value.code) == (404, "not_found")
        assert missing.value.message and missing.value.error["code"] == "not_found"
    await sim_api.h.runtime.jobs.drain()
    thread = (await sim_api.get(f"/api/v1/conversations/{target}/messages")).json()["data"]
    assert [m["status"] for m in thread if m["message_type"] == "outgoing"] == ["sent"]  # sent once
    assert not sim_api.client.is_closed  # a client passed in is the caller's to close


async def test_header_parameters_reach_the_app(api: Api) -> None:
    """A documented header (Last-Event-ID on the event stream) is sent by name; the stream's refusal
    arrives as ApiError before any frame is read."""
    gw = KefuGatewayClient(client=api.client, api_key=api.keys["read"])
    with pytest.raises(ApiError) as refused:
        await gw.stream(last_event_id="not-an-id")
    assert (refused.value.status, refused.value.code, refused.value.field) == (422, "validation_error", "Last-Event-ID")
    with pytest.raises(ApiError) as unauthorized:
        await KefuGatewayClient(client=api.client).list_channels()
    assert (unauthorized.value.status, unauthorized.value.code) == (401, "unauthorized")
