"""Propose a cutover plan from what the platforms list: the MP channel's kf accounts (getkflist),
the WeCom channel's kf accounts (account/list) and servicers (servicer/list).

One WeCom kf account serves the followers, named after the MP channel (an existing account of that
name is reused); each MP kf account becomes the servicer whose userid or name matches its nickname
or account prefix, unless the mapping file names one; one contact-way link per entry point.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from gateway.channels.base import AgentInfo, Channel, InboxInfo
from gateway.channels.pool import ChannelPool
from gateway.cutover.planfile import (
    NAME_MAX,
    USERID_RE,
    AccountTarget,
    ContactWayTarget,
    Plan,
    PlanError,
    ServicerTarget,
    read_data,
)
from gateway.db.engine import Database
from gateway.db.models import Channel as ChannelRow
from gateway.domain import ChannelKind

ENTRY_POINTS = {  # entry point → scene (enter_session reports it back)
    "menu": "mp_menu",
    "article": "mp_article",
    "auto_reply": "mp_autoreply",
    "invite": "mp_invite",
}
MAIN = "main"


@dataclass
class Proposal:
    plan: Plan
    warnings: list[str] = field(default_factory=list)
    existing_accounts: list[InboxInfo] = field(default_factory=list)


def load_mapping(path: Path) -> dict[str, str]:
    """`{mp kf_account or nickname: wecom userid}`, also accepted under a `servicers:` key."""
    data = read_data(path, "mapping")
    if isinstance(data, dict) and isinstance(data.get("servicers"), dict):
        data = data["servicers"]
    if not isinstance(data, dict) or not data:
        raise PlanError(f"mapping {path}: expected `MP kf account or nickname: WeCom userid` lines")
    mapping = {}
    for key, value in data.items():
        if not isinstance(value, str) or not USERID_RE.fullmatch(value):
            raise PlanError(f"mapping {path}: {key!r} maps to {value!r}, which is not a WeCom userid")
        mapping[str(key)] = value
    return mapping


async def channel_rows(db: Database, mp_channel: int, wecom_channel: int) -> tuple[ChannelRow, ChannelRow]:
    """Both channel rows, or PlanError saying which id is wrong."""
    async with db.sessions() as session:
        rows = {
            r.id: r
            for r in await session.scalars(select(ChannelRow).where(ChannelRow.id.in_([mp_channel, wecom_channel])))
        }
    for channel_id, kind, option in (
        (mp_channel, ChannelKind.MP, "--mp-channel"),
        (wecom_channel, ChannelKind.WECOM, "--wecom-channel"),
    ):
        row = rows.get(channel_id)
        if row is None:
            raise PlanError(f"{option} {channel_id}: no such channel (`kefu-gateway channel list`)")
        if row.kind != kind:
            raise PlanError(f"{option} {channel_id}: channel {row.name!r} is a {row.kind} channel, not {kind}")
    return rows[mp_channel], rows[wecom_channel]


async def propose(
    db: Database, channels: ChannelPool, mp_channel: int, wecom_channel: int, mapping: dict[str, str] | None = None
) -> Proposal:
    mp_row, wecom_row = await channel_rows(db, mp_channel, wecom_channel)
    mp, wecom = await channels.get(mp_channel), await channels.get(wecom_channel)
    return await build(mp_row.name, wecom_row.name, mp, wecom, mp_channel, wecom_channel, mapping or {})


async def build(
    mp_name: str,
    wecom_name: str,
    mp: Channel,
    wecom: Channel,
    mp_channel: int,
    wecom_channel: int,
    mapping: dict[str, str],
) -> Proposal:
    kfs = await mp.list_agents()
    inboxes = await wecom.list_inboxes()
    servicers = await wecom.list_agents()
    name = mp_name[:NAME_MAX]
    existing = next((i for i in inboxes if i.name == name), None)
    plan = Plan(
        name=f"{mp_name}-to-{wecom_name}",
        mp_channel=mp_channel,
        wecom_channel=wecom_channel,
        accounts=[AccountTarget(key=MAIN, name=name, open_kfid=existing.source_id if existing else None)],
        contact_ways=[ContactWayTarget(entry=e, scene=s, account=MAIN) for e, s in ENTRY_POINTS.items()],
    )
    proposal = Proposal(plan=plan, existing_accounts=inboxes)
    _check_mapping(mapping, kfs)
    for kf in kfs:
        userid, how = _match(kf, mapping, servicers)
        plan.servicers.append(ServicerTarget(kf.source_id, kf.name, userid, MAIN, how))
    missing = [s for s in plan.servicers if s.servicer is None]
    if missing:
        names = ", ".join(f"{s.mp_kf_account} ({s.mp_nickname})" for s in missing)
        proposal.warnings.append(
            f"{len(missing)} of {len(plan.servicers)} MP kf accounts have no WeCom servicer: {names}; "
            "give them in --mapping or edit the plan (apply skips them)"
        )
    if not kfs:
        proposal.warnings.append(f"MP channel {mp_channel} lists no kf accounts: the plan adds no servicers")
    return proposal


def _check_mapping(mapping: dict[str, str], kfs: list[AgentInfo]) -> None:
    known = {kf.source_id for kf in kfs} | {kf.name for kf in kfs if kf.name}
    unknown = [key for key in mapping if key not in known]
    if unknown:
        listed = ", ".join(kf.source_id for kf in kfs) or "none"
        names = ", ".join(repr(k) for k in unknown)
        raise PlanError(f"mapping names {names}, not an MP kf account or nickname (MP lists: {listed})")


def _norm(text: str) -> str:
    return "".join(text.split()).lower()


def _match(kf: AgentInfo, mapping: dict[str, str], servicers: list[AgentInfo]) -> tuple[str | None, str]:
    """(WeCom userid, how it was found): the mapping first, then a name match."""
    given = mapping.get(kf.source_id) or (mapping.get(kf.name) if kf.name else None)
    if given:
        return given, "mapping"
    wanted = {_norm(kf.name), _norm(kf.source_id.split("@", 1)[0])} - {""}
    for servicer in servicers:
        if {_norm(servicer.source_id), _norm(servicer.name)} & wanted:
            return servicer.source_id, "name"
    return None, "none"
