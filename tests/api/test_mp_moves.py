"""An MP move between kf accounts that the platform refuses (POST …/assign): the conversation ends
only when the user really is with nobody, whatever the order of the platform's callbacks and the
gateway settling its mark (gateway.inbound.assignment)."""

from __future__ import annotations

from datetime import UTC, datetime

from gateway.db.models import Conversation
from gateway.domain import Batch, ConversationStatus, StateChange
from gateway.inbound.assignment import _after_refused_move
from gateway.inbound.ingest import ingest
from gateway.inbound.moves import MOVE_CLOSED, MOVE_REFUSED, MOVED, REASSIGNING
from tests.api.test_sessions import APPID, agent_id, assignee_source, mp_with_kfs, only_conversation

CREATE = "/customservice/kfsession/create"


async def held_by_alice(sim_api) -> tuple[int, str, int]:
    h = sim_api.h
    channel_id = await mp_with_kfs(h)
    openid = (await h.driver.mp_add_follower(APPID))["openid"]
    await h.driver.mp_user_text(APPID, openid, "hello")
    await h.driver.mp_kf_accept(APPID, "alice@gh_oa", openid)
    await h.driver.flush_callbacks()
    return channel_id, openid, (await only_conversation(h.db)).id


async def test_a_move_whose_give_back_is_refused_too_ends_the_conversation(sim_api) -> None:
    h = sim_api.h
    channel_id, openid, conversation_id = await held_by_alice(sim_api)
    bob = await agent_id(h.db, channel_id, "bob@gh_oa")
    await h.driver.add_fault(CREATE, "errcode", 65415, remaining=2)  # bob's create, then alice's
    refused = await sim_api.post(f"/api/v1/conversations/{conversation_id}/assign", json={"agent_id": bob})
    assert refused.status_code == 409 and refused.json()["error"]["errcode"] == 65415
    channel = await h.runtime.channels.get(channel_id)
    assert not (await channel.client.get_session(openid)).kf_account
    ended = await only_conversation(h.db)
    # ended before the close callback arrives
    assert (ended.id, ended.status, ended.platform_state) == (conversation_id, "resolved", "kf_close_session")
    await h.driver.flush_callbacks()
    assert (await only_conversation(h.db)).status == "resolved"


def close_by(kf: str, openid: str) -> StateChange:
    return session_event("kf_close_session", kf, openid)


async def mark(db, conversation_id: int, state: str) -> None:
    async with db.session() as session:
        (await session.get(Conversation, conversation_id)).platform_state = state


async def test_the_moves_close_is_ignored_whether_it_lands_before_or_after_the_refusal(sim_api) -> None:
    h = sim_api.h
    channel_id, openid, conversation_id = await held_by_alice(sim_api)
    given_back = StateChange(
        inbox_source_id=APPID,
        contact_source_id=openid,
        at=datetime.now(UTC),
        status=ConversationStatus.OPEN,
        platform_state="kfsession",
        assignee_source_id="alice@gh_oa",
    )
    close = Batch(channel_id=channel_id, state_changes=[close_by("alice@gh_oa", openid)])

    # the close is ingested while the move is under way, then the refusal is settled
    await mark(h.db, conversation_id, REASSIGNING)
    async with h.db.session() as session:
        await ingest(session, close)
    assert (await only_conversation(h.db)).platform_state == MOVE_CLOSED
    await _after_refused_move(h.db, channel_id, conversation_id, "kf_create_session", given_back)
    after = await only_conversation(h.db)
    assert (after.status, after.platform_state) == ("open", "kf_create_session")

    # the refusal is settled first, the close lands afterwards
    await mark(h.db, conversation_id, REASSIGNING)
    await _after_refused_move(h.db, channel_id, conversation_id, "kf_create_session", given_back)
    assert (await only_conversation(h.db)).platform_state == MOVE_REFUSED
    async with h.db.session() as session:
        await ingest(session, close)
    after = await only_conversation(h.db)
    assert (after.status, after.platform_state) == ("open", "kfsession")
    assert await assignee_source(h.db, after) == "alice@gh_oa"

    # the mark is spent: alice's next close ends the conversation
    async with h.db.session() as session:
        await ingest(session, close)
    assert (await only_conversation(h.db)).status == "resolved"


async def test_a_move_that_failed_before_closing_undoes_its_mark(sim_api) -> None:
    h = sim_api.h
    channel_id, openid, conversation_id = await held_by_alice(sim_api)
    await mark(h.db, conversation_id, REASSIGNING)
    await _after_refused_move(h.db, channel_id, conversation_id, "kf_create_session", None)
    assert (await only_conversation(h.db)).platform_state == "kf_create_session"
    async with h.db.session() as session:
        await ingest(session, Batch(channel_id=channel_id, state_changes=[close_by("alice@gh_oa", openid)]))
    assert (await only_conversation(h.db)).status == "resolved"


def session_event(event: str, kf: str, openid: str) -> StateChange:
    return StateChange(
        inbox_source_id=APPID,
        contact_source_id=openid,
        at=datetime.now(UTC),
        status=ConversationStatus.RESOLVED if event == "kf_close_session" else ConversationStatus.OPEN,
        platform_state=event,
        assignee_source_id=kf,
    )


async def test_after_a_move_older_events_about_the_first_kf_change_nothing(sim_api) -> None:
    h = sim_api.h
    channel_id, openid, conversation_id = await held_by_alice(sim_api)
    bob = await agent_id(h.db, channel_id, "bob@gh_oa")
    # the move's own close and create are lost on the way: this test delivers session events itself
    await h.driver.callback_faults(drop_next=2)
    moved = await sim_api.post(f"/api/v1/conversations/{conversation_id}/assign", json={"agent_id": bob})
    assert moved.status_code == 200 and moved.json()["assignee_id"] == bob
    assert (await only_conversation(h.db)).platform_state == MOVED

    async def feed(event: str, kf: str) -> Conversation:
        async with h.db.session() as session:
            await ingest(session, Batch(channel_id=channel_id, state_changes=[session_event(event, kf, openid)]))
        return await only_conversation(h.db)

    # alice's take and close from before the move, arriving late
    for event in ("kf_create_session", "kf_close_session", "kf_create_session"):
        late = await feed(event, "alice@gh_oa")
        assert (late.id, late.status, late.platform_state) == (conversation_id, "open", MOVED)
        assert await assignee_source(h.db, late) == "bob@gh_oa"
    # the platform's create for bob ends the mark; from then on alice's events are judged as usual
    caught_up = await feed("kf_create_session", "bob@gh_oa")
    assert (caught_up.status, caught_up.platform_state) == ("open", "kf_create_session")
    assert (await feed("kf_close_session", "alice@gh_oa")).status == "open"  # alice no longer holds it
    assert (await feed("kf_close_session", "bob@gh_oa")).status == "resolved"
