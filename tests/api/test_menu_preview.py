"""The list preview of a menu sent through the API: a msgmenu carries no `content`, so the row shows
its head text, or its first option when it has no head, instead of "[menu]" (still the fallback)."""

from __future__ import annotations

from typing import Any

from gateway.db.views import preview
from tests.api.support import SimApi
from tests.api.test_send_types import WeCom

ITEMS = [{"type": "click", "id": "yes", "content": "Yes, ship it"}, {"type": "click", "id": "no", "content": "No"}]


async def last_message(api: SimApi, conversation_id: int) -> dict[str, Any]:
    """The conversation's last_message as GET /conversations lists it (and GET /conversations/{id} agrees)."""
    listed = await api.get("/api/v1/conversations?assignee=all")
    assert listed.status_code == 200, listed.text
    row = next(r for r in listed.json()["data"] if r["id"] == conversation_id)
    one = await api.get(f"/api/v1/conversations/{conversation_id}")
    assert one.status_code == 200, one.text
    assert one.json()["last_message"] == row["last_message"]
    return dict(row["last_message"])


async def test_a_menu_sent_through_the_api_previews_its_head_or_first_option(sim_api: SimApi) -> None:
    side = WeCom(sim_api)
    conversation_id = await side.setup()
    send = f"/api/v1/conversations/{conversation_id}/messages"

    head = "  How was\n our service?  "
    answer = await sim_api.post(send, json={"content_type": "msgmenu", "head_content": head, "items": ITEMS})
    assert answer.status_code == 202, answer.text
    shown = await last_message(sim_api, conversation_id)
    assert (shown["content_type"], shown["preview"]) == ("menu", "How was our service?")

    answer = await sim_api.post(send, json={"content_type": "menu", "items": ITEMS, "tail_content": "Thanks"})
    assert answer.status_code == 202, answer.text
    assert (await last_message(sim_api, conversation_id))["preview"] == "Yes, ship it"

    # a long head is cut like any text
    answer = await sim_api.post(send, json={"content_type": "menu", "head_content": "选" * 100, "items": ITEMS})
    assert answer.status_code == 202, answer.text
    assert (await last_message(sim_api, conversation_id))["preview"] == "选" * 79 + "…"


def test_the_preview_falls_back_to_the_type() -> None:
    assert preview("menu", None, {}) == "[menu]"
    assert preview("menu", None, None) == "[menu]"
    assert preview("menu", None, {"head_content": "  ", "items": [{"id": "x"}]}) == "[menu]"
    assert preview("menu", None, {"items": "not a list"}) == "[menu]"
    assert preview("menu", "Pick one Yes No", {"head_content": "Pick one"}) == "Pick one Yes No"  # content wins
    assert preview("image", None, {"head_content": "ignored"}) == "[image]"
