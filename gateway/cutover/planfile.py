"""The cutover plan as data, and the YAML/JSON file the team edits (read back with every mistake
named in one line: `PlanError`).

    name: oa-to-corp            # keys the apply state (cutover_steps) and the invitations
    mp_channel: 2
    wecom_channel: 1
    accounts:    [{key, name, open_kfid?}]              # the WeCom kf accounts that serve the followers
    servicers:   [{mp_kf_account, mp_nickname, servicer, account, matched_by}]
    contact_ways: [{entry, scene, account}]             # one link per entry point (menu, article, …)
    invite_entry: invite                                # the contact way personal links are built on
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gateway.errors import InvalidRequest

SCENE_RE = re.compile(r"[0-9A-Za-z_-]{1,32}")  # docs/platforms.md §2.1
USERID_RE = re.compile(r"[0-9A-Za-z_.@-]{1,64}")
NAME_MAX = 16  # kf account name, characters


class PlanError(InvalidRequest):
    """A plan or mapping file the cutover cannot use; the message names the file and the entry."""

    code = "invalid_plan"


@dataclass
class AccountTarget:
    key: str
    name: str
    open_kfid: str | None = None  # None: apply creates it


@dataclass
class ServicerTarget:
    mp_kf_account: str
    mp_nickname: str
    servicer: str | None  # WeCom userid; None: not matched yet (apply skips it)
    account: str
    matched_by: str = "none"  # name | mapping | none


@dataclass
class ContactWayTarget:
    entry: str
    scene: str
    account: str


@dataclass
class Plan:
    name: str
    mp_channel: int
    wecom_channel: int
    accounts: list[AccountTarget] = field(default_factory=list)
    servicers: list[ServicerTarget] = field(default_factory=list)
    contact_ways: list[ContactWayTarget] = field(default_factory=list)
    invite_entry: str = "invite"

    def invite_way(self) -> ContactWayTarget:
        for way in self.contact_ways:
            if way.entry == self.invite_entry:
                return way
        raise PlanError(f"plan {self.name}: no contact way for invite_entry {self.invite_entry!r}")


def dump_plan(plan: Plan, path: Path) -> None:
    data = asdict(plan)
    if path.suffix.lower() == ".json":
        path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    else:
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def read_data(path: Path, what: str) -> Any:
    """YAML or JSON (JSON is YAML) from a file, or PlanError naming the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PlanError(f"{what} {path}: cannot read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise PlanError(f"{what} {path}: not UTF-8 text") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise PlanError(f"{what} {path}: not valid YAML/JSON{where}") from None


def load_plan(path: Path) -> Plan:
    data = read_data(path, "plan")
    where = f"plan {path}"
    if not isinstance(data, dict):
        raise PlanError(f"{where}: expected a mapping with name, mp_channel, wecom_channel, accounts, …")
    name = _str(data, "name", where)
    plan = Plan(
        name=name,
        mp_channel=_int(data, "mp_channel", where),
        wecom_channel=_int(data, "wecom_channel", where),
        invite_entry=str(data.get("invite_entry") or "invite"),
    )
    for i, item in enumerate(_list(data, "accounts", where)):
        at = f"{where}: accounts[{i}]"
        account = AccountTarget(key=_str(item, "key", at), name=_str(item, "name", at), open_kfid=item.get("open_kfid"))
        if len(account.name) > NAME_MAX:
            raise PlanError(f"{at}.name {account.name!r} is longer than {NAME_MAX} characters")
        plan.accounts.append(account)
    keys = [a.key for a in plan.accounts]
    if not keys:
        raise PlanError(f"{where}: accounts is empty (at least one WeCom kf account serves the followers)")
    if len(set(keys)) != len(keys):
        raise PlanError(f"{where}: account keys repeat ({', '.join(keys)})")
    for i, item in enumerate(_list(data, "servicers", where)):
        at = f"{where}: servicers[{i}]"
        servicer = item.get("servicer")
        if servicer is not None and (not isinstance(servicer, str) or not USERID_RE.fullmatch(servicer)):
            raise PlanError(f"{at}.servicer {servicer!r} is not a WeCom userid")
        target = ServicerTarget(
            mp_kf_account=_str(item, "mp_kf_account", at),
            mp_nickname=str(item.get("mp_nickname") or ""),
            servicer=servicer,
            account=_key(item, keys, at),
            matched_by=str(item.get("matched_by") or ("mapping" if servicer else "none")),
        )
        plan.servicers.append(target)
    for i, item in enumerate(_list(data, "contact_ways", where)):
        at = f"{where}: contact_ways[{i}]"
        way = ContactWayTarget(
            entry=_str(item, "entry", at), scene=_str(item, "scene", at), account=_key(item, keys, at)
        )
        if not SCENE_RE.fullmatch(way.scene):
            raise PlanError(f"{at}.scene {way.scene!r} must be 1-32 characters of [0-9a-zA-Z_-]")
        plan.contact_ways.append(way)
    entries = [w.entry for w in plan.contact_ways]
    if len(set(entries)) != len(entries):
        raise PlanError(f"{where}: contact_ways entries repeat ({', '.join(entries)})")
    plan.invite_way()
    return plan


def _str(item: Any, name: str, at: str) -> str:
    value = item.get(name) if isinstance(item, dict) else None
    if not isinstance(value, str) or not value.strip():
        raise PlanError(f"{at}: {name} is missing or not text")
    return value.strip()


def _int(item: dict[str, Any], name: str, at: str) -> int:
    value = item.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise PlanError(f"{at}: {name} must be a channel id (a number)")
    return value


def _list(item: dict[str, Any], name: str, at: str) -> list[Any]:
    value = item.get(name) or []
    if not isinstance(value, list):
        raise PlanError(f"{at}: {name} must be a list")
    return value


def _key(item: Any, keys: list[str], at: str) -> str:
    key = _str(item, "account", at)
    if key not in keys:
        raise PlanError(f"{at}.account {key!r} is not one of the plan's accounts ({', '.join(keys)})")
    return key
