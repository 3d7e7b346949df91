"""JSONL export: round-trips the counts of an imported history, valid JSON lines, filters, CLI."""

from __future__ import annotations

import io
import json
from datetime import timedelta

from click.testing import CliRunner
from sqlalchemy import func, select

from gateway import cli
from gateway.db.models import Conversation, Message
from gateway.migrate.export import export_jsonl, iter_conversations
from gateway.migrate.history import import_history
from tests.conftest import TEST_SECRET_KEY
from tests.migrate.test_history import START, UNTIL, history  # noqa: F401  (the shared fixture)


def _lines(data: bytes) -> list[dict]:
    text = data.decode("utf-8")
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]  # each line is one JSON document


async def test_export_round_trips_an_import(history) -> None:  # noqa: F811
    h, channel_id, records = history
    await import_history(h.runtime.db, h.runtime.channels, channel_id, START, UNTIL)
    out = io.BytesIO()
    summary = await export_jsonl(h.db, out, channel_id=channel_id)
    lines = _lines(out.getvalue())
    async with h.db.sessions() as session:
        conversations = await session.scalar(select(func.count()).select_from(Conversation))
        messages = await session.scalar(select(func.count()).select_from(Message))
    assert summary.conversations == len(lines) == conversations
    assert summary.messages == sum(len(line["messages"]) for line in lines) == messages == len(records)
    assert [line["conversation"]["id"] for line in lines] == sorted(line["conversation"]["id"] for line in lines)
    for line in lines:
        assert line["inbox"] == {
            "id": line["inbox"]["id"],
            "channel_id": channel_id,
            "kind": "mp",
            "source_id": "wxhistory000001",
        }
        assert [i["channel_id"] for i in line["contact"]["identities"]] == [channel_id]
        assert all("raw" not in m for m in line["messages"])
        assert all("profile" not in i for i in line["contact"]["identities"])
        times = [m["sent_at"] for m in line["messages"]]
        assert times == sorted(times)
        assert line["conversation"]["status"] == "resolved"
        assert all(m["agent"] for m in line["messages"] if m["message_type"] == "outgoing")
    # the identities carry the unionid learnt after the import
    assert all(line["contact"]["unionid"] and line["contact"]["unionid"].startswith("union-") for line in lines)
    texts = sorted(m["content"] for line in lines for m in line["messages"] if m["content_type"] == "text")
    assert texts == sorted(r["text"] for r in records if not r["text"].startswith("["))
    assert "secret" not in out.getvalue().decode()


async def test_export_raw_since_channel_and_small_pages(history) -> None:  # noqa: F811
    h, channel_id, records = history
    await import_history(h.runtime.db, h.runtime.channels, channel_id, START, UNTIL)
    everything = [line async for line in iter_conversations(h.db, raw=True, page=2)]  # pages of 2 rows
    assert sum(len(line["messages"]) for line in everything) == len(records)
    assert {m["raw"]["openid"] for line in everything for m in line["messages"]} == {r["openid"] for r in records}
    assert all("profile" in i for line in everything for i in line["contact"]["identities"])
    # since: the conversations of the last window only (day 2)
    recent = [line async for line in iter_conversations(h.db, since=START + timedelta(days=2))]
    assert len(recent) == 3
    assert [line async for line in iter_conversations(h.db, channel_id=channel_id + 1)] == []


async def test_cli_export_to_a_file_and_stdout(history, tmp_path, monkeypatch) -> None:  # noqa: F811
    h, channel_id, records = history
    await import_history(h.runtime.db, h.runtime.channels, channel_id, START, UNTIL)
    from gateway.settings import get_settings

    monkeypatch.setenv("GATEWAY_DATABASE_URL", h.db.url)
    monkeypatch.setenv("GATEWAY_SECRET_KEY", TEST_SECRET_KEY)
    get_settings.cache_clear()
    target = tmp_path / "out.jsonl"
    runner = CliRunner()
    try:
        # the command runs its own event loop: run it in a thread so it does not nest in the test's
        import asyncio

        to_file = await asyncio.to_thread(
            runner.invoke, cli.main, ["export", "--out", str(target), "--channel", str(channel_id)]
        )
        to_stdout = await asyncio.to_thread(runner.invoke, cli.main, ["export", "--since", "2024-03-03"])
        bad = await asyncio.to_thread(runner.invoke, cli.main, ["export", "--since", "yesterday"])
    finally:
        get_settings.cache_clear()
    assert to_file.exit_code == 0, to_file.output
    lines = _lines(target.read_bytes())
    assert sum(len(line["messages"]) for line in lines) == len(records)
    assert f"exported {len(lines)} conversations, {len(records)} messages" in to_file.stderr
    assert to_stdout.exit_code == 0, to_stdout.output
    assert len(_lines(to_stdout.stdout_bytes)) == 3
    assert bad.exit_code == 2 and "not an ISO 8601" in bad.output
