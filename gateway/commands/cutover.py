"""`kefu-gateway migrate plan|apply|invite|cutover|report`: move an MP kefu channel to WeCom kf
(gateway.cutover). Every refusal (a wrong channel, a bad plan or mapping) is one line and exit 1.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import click

from gateway.commands import run


@asynccontextmanager
async def open_runtime() -> AsyncIterator[Any]:
    """The pieces a command needs (database, channel pool, job wake-up); tests replace this.

    First the checks of gateway.commands.precheck (not the demo's key; the database exists and is
    migrated), so a command run in the wrong place says so in one line and creates no database file.
    They run in a thread: reading the alembic revision starts its own event loop.
    """
    from gateway.commands.precheck import check_database, check_secret_key
    from gateway.runtime import Runtime
    from gateway.settings import get_settings

    settings = get_settings()
    check_secret_key(settings)
    await asyncio.to_thread(check_database, settings.database.url)
    runtime = Runtime(settings)
    try:
        yield runtime
    finally:
        await runtime.stop()


def _console() -> Any:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


@click.group("migrate")
def migrate() -> None:
    """Move an MP kefu channel to WeCom kf: plan, apply, invite followers, cutover mode, report."""


@migrate.command("plan")
@click.option("--mp-channel", type=int, required=True, help="Id of the MP channel.")
@click.option("--wecom-channel", type=int, required=True, help="Id of the WeCom kf channel.")
@click.option("--mapping", type=click.Path(path_type=Path), help="YAML/JSON: MP kf account or nickname → WeCom userid.")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=Path("cutover-plan.yaml"),
    show_default=True,
    help="Where to write the plan (.yaml or .json).",
)
def plan_command(mp_channel: int, wecom_channel: int, mapping: Path | None, out: Path) -> None:
    """Propose the WeCom kf accounts, servicers and contact-way links; write an editable plan."""
    from gateway.cutover.plan import load_mapping, propose
    from gateway.cutover.planfile import dump_plan
    from gateway.cutover.views import plan_table

    given = run(_async(load_mapping, mapping)) if mapping is not None else None

    async def go() -> Any:
        async with open_runtime() as rt:
            return await propose(rt.db, rt.channels, mp_channel, wecom_channel, given)

    proposal = run(go())
    console = _console()
    console.print(plan_table(proposal.plan))
    for warning in proposal.warnings:
        console.print(f"[yellow]warning:[/] {warning}")
    dump_plan(proposal.plan, out)
    click.echo(f"plan {proposal.plan.name} written to {out}; edit it, then `kefu-gateway migrate apply {out}`")


async def _async(func: Any, *args: Any) -> Any:
    return func(*args)


@migrate.command("apply")
@click.argument("plan_file", type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="Read the platform and show what would change; change nothing.")
def apply_command(plan_file: Path, dry_run: bool) -> None:
    """Create the kf accounts, add the servicers, create the contact ways (idempotent, resumable)."""
    from rich.progress import Progress

    from gateway.cutover.apply import apply_plan, step_total
    from gateway.cutover.planfile import load_plan
    from gateway.cutover.views import apply_table

    plan = run(_async(load_plan, plan_file))
    progress = Progress(transient=True, disable=dry_run)

    async def go() -> Any:
        async with open_runtime() as rt:
            task = progress.add_task("applying", total=step_total(plan))
            with progress:
                return await apply_plan(
                    rt.db, rt.channels, plan, dry_run=dry_run, on_step=lambda _: progress.advance(task)
                )

    summary = run(go())
    console = _console()
    console.print(apply_table(summary))
    verb = "would change" if dry_run else "changed"
    click.echo(
        f"{verb} {summary.changed}, unchanged {summary.count('exists')}, skipped {summary.count('skipped')}, "
        f"failed {summary.failed}" + ("" if summary.changed or dry_run else " (nothing to do)")
    )
    if summary.failed:
        raise SystemExit(1)


@migrate.command("invite")
@click.option("--plan", "plan_file", type=click.Path(path_type=Path), required=True, help="The applied plan.")
@click.option("--template", help="Message text with {link} (and {name}); default: a short Chinese notice.")
@click.option("--dry-run", is_flag=True, help="Count who would be invited; send nothing.")
@click.option("--limit", type=click.IntRange(min=1), help="Invite at most N followers this run.")
@click.option("--opt-out", "opt_out", multiple=True, help="Opt out this follower (openid); repeatable.")
def invite_command(
    plan_file: Path, template: str | None, dry_run: bool, limit: int | None, opt_out: tuple[str, ...]
) -> None:
    """Send MP followers whose reply window is open their personal WeCom kf link (resumable)."""
    from rich.progress import Progress

    from gateway.cutover.invitations import DEFAULT_TEMPLATE
    from gateway.cutover.invite import run_campaign
    from gateway.cutover.planfile import load_plan
    from gateway.cutover.views import invite_table

    plan = run(_async(load_plan, plan_file))
    progress = Progress(transient=True)

    async def go() -> Any:
        async with open_runtime() as rt:
            task = progress.add_task("dry run" if dry_run else "inviting", total=None)
            with progress:
                return await run_campaign(
                    rt.db,
                    plan,
                    template=template or DEFAULT_TEMPLATE,
                    dry_run=dry_run,
                    limit=limit,
                    opt_out=opt_out,
                    notify=rt.jobs.notify,
                    on_follower=lambda _: progress.advance(task),
                    on_scope=lambda n: progress.update(task, total=n),
                )

    summary = run(go())
    if summary.outcomes:
        _console().print(invite_table(summary))
    click.echo(("dry run: " if dry_run else "") + summary.line())
    if summary.outcomes["sent"]:
        click.echo("queued: the gateway's job runner (`kefu-gateway serve`) sends them, paced per channel")


@migrate.command("cutover")
@click.option("--mp-channel", type=int, required=True, help="Id of the MP channel.")
@click.argument("state", type=click.Choice(["on", "off"]))
@click.option("--plan", "plan_file", type=click.Path(path_type=Path), help="The applied plan (needed for on).")
@click.option("--template", help="Auto-reply text with {link} (and {name}).")
def cutover_command(mp_channel: int, state: str, plan_file: Path | None, template: str | None) -> None:
    """Cutover mode: new MP conversations get an automatic reply with the personal WeCom kf link."""
    from gateway.cutover.mode import set_cutover
    from gateway.cutover.planfile import load_plan

    if state == "on" and plan_file is None:
        raise click.UsageError("`on` needs --plan (the applied plan whose invite link is sent)")
    plan = run(_async(load_plan, plan_file)) if plan_file is not None else None

    async def go() -> Any:
        async with open_runtime() as rt:
            return await set_cutover(rt.db, mp_channel, plan, template)

    click.echo(run(go()))


@migrate.command("report")
@click.option("--plan", "plan", help="Name of an applied plan (default: the last applied).")
@click.option("--csv", "csv_file", type=click.Path(path_type=Path), help="Also write the report as CSV.")
@click.option("--chart", "chart_file", type=click.Path(path_type=Path), help="Also draw it as an SVG bar chart.")
def report_command(plan: str | None, csv_file: Path | None, chart_file: Path | None) -> None:
    """Who moved: in scope, invited, entered WeCom, wrote on WeCom, still only on MP; by day and kf account."""
    from gateway.cutover.chart import render_svg
    from gateway.cutover.report import build_report
    from gateway.cutover.views import report_tables

    async def go() -> Any:
        async with open_runtime() as rt:
            return await build_report(rt.db, plan)

    report = run(go())
    console = _console()
    for table in report_tables(report):
        console.print(table)
    if csv_file is not None:
        csv_file.write_text(report.to_csv(), encoding="utf-8")
        click.echo(f"CSV written to {csv_file}")
    if chart_file is not None:
        chart_file.write_text(render_svg(report), encoding="utf-8")
        click.echo(f"chart written to {chart_file}")
