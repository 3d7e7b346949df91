"""`kefu-gateway import mp-history` and `kefu-gateway export`: move history in and out.

Both check their settings, the database (exists, migrated) and the channel before they create
anything (gateway.commands.precheck); `--demo` runs them on the demo's database with its key.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from gateway.commands import run
from gateway.commands.precheck import check_database, check_secret_key, command_settings
from gateway.settings import Settings

DEMO_HELP = "Work on the demo's database (./kefu-gateway-demo.db) with the demo's settings and key."


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
@click.option(
    "--gap-hours",
    type=click.FloatRange(min=0, min_open=True),
    default=6.0,
    show_default=True,
    help="Without session records, a silence this long starts a new conversation.",
)
@click.option("--no-profiles", is_flag=True, help="Skip the user/info (unionid) pass after the import.")
@click.option("--demo", is_flag=True, help=DEMO_HELP)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def mp_history(
    channel_id: int, since: str, until: str | None, gap_hours: float, no_profiles: bool, demo: bool, quiet: bool
) -> None:
    """Import MP kefu chat records (msgrecord/getmsglist): resumable, never twice, stops where live capture began."""
    start = parse_day(since, "--since")
    end = None
    if until is not None:
        end = min(parse_day(until, "--until") + timedelta(days=1) - timedelta(seconds=1), datetime.now(tz=UTC))
        if end < start:
            raise click.BadParameter("is before --since", param_hint="--until")
    settings = command_settings(demo)
    check_secret_key(settings)
    check_database(settings.database.url)
    progress = not quiet and sys.stderr.isatty()
    summary = run(_import(settings, channel_id, start, end, gap_hours, profiles=not no_profiles, progress=progress))
    from gateway.migrate.history import describe

    resumed = f" (resumed at {_day(summary.resumed_from)})" if summary.resumed_from is not None else ""
    click.echo(f"imported {_day(summary.start)} .. {_day(summary.end)}{resumed}: {describe(summary)}")


def _day(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


async def _import(
    settings: Settings,
    channel_id: int,
    start: datetime,
    end: datetime | None,
    gap_hours: float,
    *,
    profiles: bool,
    progress: bool,
) -> Any:
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from gateway.migrate.history import Counts, Window, import_history
    from gateway.runtime import Runtime

    runtime = Runtime(settings)
    bar = Progress(
        TextColumn("msgrecord"),
        BarColumn(),
        TextColumn("{task.fields[day]}  {task.fields[new]} new · {task.fields[present]} present"),
        TextColumn("· {task.fields[live]} live"),
        TimeRemainingColumn(),
        disable=not progress,
        transient=True,
    )
    total = int(((end or datetime.now(tz=UTC)) - start).total_seconds()) or 1
    task = bar.add_task("import", total=total, day="", new=0, present=0, live=0)
    counts = Counts()

    def advance(window: Window) -> None:
        counts.add(window)
        bar.update(
            task,
            completed=window.end - int(start.timestamp()),
            day=_day(window.end)[:10],
            new=counts.new_messages,
            present=counts.present + counts.by_gateway,
            live=counts.live,
        )

    try:
        with bar:
            return await import_history(
                runtime.db,
                runtime.channels,
                channel_id,
                start,
                end,
                gap_hours=gap_hours,
                on_window=advance,
                profiles=profiles,
            )
    finally:
        await runtime.stop()


@click.command("export")
@click.option("--out", "out", default="-", show_default=True, help="Output file; '-' is stdout.")
@click.option("--since", default=None, help="Only conversations active at or after this ISO date/time.")
@click.option("--channel", "channel_id", type=int, default=None, help="Only this channel's conversations.")
@click.option("--raw", is_flag=True, help="Include platform payloads and identity profiles.")
@click.option("--demo", is_flag=True, help=DEMO_HELP)
def export(out: str, since: str | None, channel_id: int | None, raw: bool, demo: bool) -> None:
    """Export conversations as JSON lines (one per conversation, with contact and messages)."""
    moment = parse_instant(since) if since else None
    settings = command_settings(demo)
    if settings.secret_key:  # the export reads no secret, but a demo key points at the wrong database
        check_secret_key(settings)
    check_database(settings.database.url)
    summary = run(_export(settings.database.url, out, moment, channel_id, raw))
    click.echo(f"exported {summary.conversations} conversations, {summary.messages} messages", err=True)


async def _export(url: str, out: str, since: datetime | None, channel_id: int | None, raw: bool) -> Any:
    from gateway.db.engine import Database
    from gateway.migrate.export import check_channel, export_jsonl

    db = Database(url)
    try:
        if channel_id is not None:
            await check_channel(db, channel_id)
        if out == "-":
            return await export_jsonl(db, sys.stdout.buffer, since=since, channel_id=channel_id, raw=raw)
        target = Path(out)
        partial = target.with_name(f".{target.name}.partial")
        try:
            with partial.open("wb") as handle:
                summary = await export_jsonl(db, handle, since=since, channel_id=channel_id, raw=raw)
            partial.replace(target)  # the file appears complete or not at all
        finally:
            partial.unlink(missing_ok=True)
        return summary
    finally:
        await db.dispose()
