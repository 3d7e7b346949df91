"""Rich tables for the migrate commands: the plan, what apply did, the report."""

from __future__ import annotations

from dataclasses import asdict

from rich.table import Table

from gateway.cutover.apply import ApplySummary
from gateway.cutover.invite import InviteSummary
from gateway.cutover.planfile import Plan
from gateway.cutover.report import COLUMNS, Report


def plan_table(plan: Plan) -> Table:
    table = Table(title=f"cutover plan {plan.name}: MP channel {plan.mp_channel} → WeCom channel {plan.wecom_channel}")
    for column in ("what", "target", "from", "note"):
        table.add_column(column)
    for account in plan.accounts:
        table.add_row("kf account", account.name, "", account.open_kfid or "to create")
    for s in plan.servicers:
        table.add_row(
            "servicer", s.servicer or "[red]?[/]", f"{s.mp_kf_account} ({s.mp_nickname})", f"matched by {s.matched_by}"
        )
    for way in plan.contact_ways:
        table.add_row("contact way", f"scene {way.scene}", way.entry, f"account {way.account}")
    return table


def apply_table(summary: ApplySummary) -> Table:
    table = Table(title="cutover apply")
    for column in ("step", "result", "detail"):
        table.add_column(column)
    for change in summary.changes:
        table.add_row(change.step, change.action, change.detail)
    return table


def invite_table(summary: InviteSummary) -> Table:
    """What happened to each follower in scope, by outcome (sent, would send, opted out, …)."""
    table = Table(title=f"invitation campaign: {summary.in_scope} followers in scope")
    table.add_column("outcome")
    table.add_column("followers", justify="right")
    for outcome, n in sorted(summary.outcomes.items()):
        table.add_row(outcome.replace("_", " "), str(n))
    return table


def report_tables(report: Report) -> list[Table]:
    totals = Table(
        title=f"migration {report.plan}: MP channel {report.mp_channel} → WeCom channel {report.wecom_channel}"
    )
    agents = Table(title="per MP kf account")
    for table, first in ((totals, ""), (agents, "MP kf account → servicer")):
        table.add_column(first)
        for column in COLUMNS:
            table.add_column(column.replace("_", " "), justify="right")
    totals.add_row("all followers", *map(str, asdict(report.totals).values()))
    for kf, (servicer, row) in sorted(report.agents.items()):
        agents.add_row(f"{kf} → {servicer or '?'}", *map(str, asdict(row).values()))
    days = Table(title="by day")
    for column in ("day", "invited", "entered WeCom", "wrote on WeCom"):
        days.add_column(column, justify="right")
    for day, counts in sorted(report.days.items()):
        days.add_row(day, str(counts["invited"]), str(counts["entered_wecom"]), str(counts["wrote_wecom"]))
    return [totals, agents, days]
