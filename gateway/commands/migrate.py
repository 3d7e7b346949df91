"""`kefu-gateway import mp-history` and `kefu-gateway export`: move history in and out."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from typing import IO, Any

import click

from gateway.commands import run


def parse_day(value: str, param: str) -> datetime:
    """YYYY-MM-DD as midnight UTC."""
    try:
        return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date YYYY-MM-DD", param_hint=param) from None


def parse_instant(value: str) -> datetime:
    """ISO 8601 date or date-time; naive values are UTC."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 date/time", param_hint="--since") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@click.group("import")
def import_group() -> None:
    """Import history from a platform."""


@import_group.command("mp-history")
@click.option("--channel", "channel_id", type=int, required=True, help="Id of the MP channel.")
@click.option("--since", required=True, help="First day to import, YYYY-MM-DD (UTC).")
@click.option("--until", default=None, help="Last day to import, inclusive, YYYY-MM-DD (UTC); default now.")
@click.option("--no-profiles", is_flag=True, help="Skip the user/info (unionid) pass after the import.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def mp_history(channel_id: int, since: str, until: str | None, no_profiles: bool, quiet: bool) -> None:
    """Import MP kefu chat records (msgrecord/getmsglist): resumable, idempotent."""
    start = parse_day(since, "--since")
    end = None
    if until is not None:
        end = min(parse_day(until, "--until") + timedelta(days=1) - timedelta(seconds=1), datetime.now(tz=UTC))
        if end < start:
            raise click.BadParameter("is before --since", param_hint="--until")
    summary = run(_import(channel_id, start, end, profiles=not no_profiles, progress=not quiet and sys.stderr.isatty()))
    resumed = f" (resumed at {_day(summary.resumed_from)})" if summary.resumed_from is not None else ""
    click.echo(
        f"imported {_day(summary.start)} .. {_day(summary.end)}{resumed}: {summary.windows} windows, "
        f"{summary.records} records, {summary.new_messages} new messages, {summary.duplicates} duplicates, "
        f"{summary.profiles} profiles"
    )


def _day(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


async def _import(channel_id: int, start: datetime, end: datetime | None, *, profiles: bool, progress: bool) -> Any:
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from gateway.migrate.history import Window, import_history
    from gateway.runtime import Runtime
    from gateway.settings import get_settings

    runtime = Runtime(get_settings())
    bar = Progress(
        TextColumn("msgrecord"),
        BarColumn(),
        TextColumn("{task.fields[day]}  {task.fields[new]} new"),
        TimeRemainingColumn(),
        disable=not progress,
        transient=True,
    )
    total = int(((end or datetime.now(tz=UTC)) - start).total_seconds()) or 1
    task = bar.add_task("import", total=total, day="", new=0)
    new = 0

    def advance(window: Window) -> None:
        nonlocal new
        new += window.new_messages
        bar.update(task, completed=window.end - int(start.timestamp()), day=_day(window.end)[:10], new=new)

    try:
        with bar:
            return await import_history(runtime, channel_id, start, end, on_window=advance, profiles=profiles)
    finally:
        await runtime.stop()


@click.command("export")
@click.option("--out", "out", default="-", show_default=True, help="Output file; '-' is stdout.")
@click.option("--since", default=None, help="Only conversations active at or after this ISO date/time.")
@click.option("--channel", "channel_id", type=int, default=None, help="Only this channel's conversations.")
@click.option("--raw", is_flag=True, help="Include platform payloads and identity profiles.")
def export(out: str, since: str | None, channel_id: int | None, raw: bool) -> None:
    """Export conversations as JSON lines (one per conversation, with contact and messages)."""
    moment = parse_instant(since) if since else None
    if out == "-":
        summary = run(_export(sys.stdout.buffer, moment, channel_id, raw))
    else:
        with open(out, "wb") as handle:
            summary = run(_export(handle, moment, channel_id, raw))
    click.echo(f"exported {summary.conversations} conversations, {summary.messages} messages", err=True)


async def _export(out: IO[bytes], since: datetime | None, channel_id: int | None, raw: bool) -> Any:
    from gateway.db.engine import Database
    from gateway.migrate.export import export_jsonl
    from gateway.settings import get_settings

    db = Database(get_settings().database.url)
    try:
        return await export_jsonl(db, out, since=since, channel_id=channel_id, raw=raw)
    finally:
        await db.dispose()
