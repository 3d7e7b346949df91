"""The simulator's world: clock, seeded ids, access tokens, fault plan and the logs tests read.

Platform state lives in msgspec Structs (`WeComCorp` in wecom/state.py, `MpApp` in mp/state.py)
held by `WorldState`, so the whole world dumps to and loads from JSON. Everything that varies is
drawn from `World.rng`, seeded, so a seeded run is reproducible.
"""

from __future__ import annotations

import fnmatch
import random
import string
import time
from typing import Any

import msgspec

from kefu_sim.mp.state import MpApp
from kefu_sim.wecom.state import WeComCorp


class SimError(Exception):
    """A platform error answer: HTTP 200 with `{"errcode": n, "errmsg": "..."}`."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"{errcode} {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg


class SimClock:
    """Simulated epoch seconds. Frozen clocks move only by `advance`; live ones also follow real time."""

    def __init__(self, start: float | None = None, *, frozen: bool = False) -> None:
        self._start = time.time() if start is None else start
        self._offset = 0.0
        self._frozen = frozen
        self._t0 = time.monotonic()

    @property
    def frozen(self) -> bool:
        return self._frozen

    def now(self) -> float:
        elapsed = 0.0 if self._frozen else time.monotonic() - self._t0
        return self._start + self._offset + elapsed

    def advance(self, seconds: float) -> float:
        self._offset += seconds
        return self.now()


class SimConfig(msgspec.Struct, kw_only=True):
    token_lifetime: int = 7200  # seconds, WeCom gettoken and MP token / stable_token
    auto_assign: bool = True  # WeCom: a new session goes to an on-duty servicer (state 3) when there is one
    callback_timeout: float = 5.0  # seconds the receiver has to answer a pushed callback
    callback_retries: int = 3
    callback_retry_delay: float = 0.0  # real seconds between retries (the platform waits a little)


class Person(msgspec.Struct, kw_only=True):
    """A WeChat user; `unionid` is shared by their WeCom external_userid and their MP openids."""

    unionid: str
    nickname: str
    avatar: str = ""
    gender: int = 0


class TokenGrant(msgspec.Struct, kw_only=True):
    value: str
    owner: str  # "wecom:<corpid>:<secret>" or "mp:<appid>" or "mp-stable:<appid>"
    expires_at: float
    issued_at: float


class CallRecord(msgspec.Struct, kw_only=True):
    """One request received on a platform path (access_token removed from `query`)."""

    seq: int
    time: float
    host: str  # "wecom" | "mp"
    method: str
    path: str  # the platform path, e.g. /cgi-bin/kf/send_msg
    query: dict[str, str]
    body: Any
    errcode: int | None = None
    http_status: int = 200
    owner: str | None = None
    fault: str | None = None


class Delivery(msgspec.Struct, kw_only=True):
    """A message the platform delivered to a customer (or a servicer/kf sent to one)."""

    seq: int
    time: float
    platform: str  # "wecom" | "mp"
    app_id: str  # corpid or appid
    account: str  # open_kfid, or "" for an MP account
    touser: str  # external_userid or openid
    msgid: str
    msgtype: str
    payload: Any
    sender: str = "api"  # "api" | "servicer:<userid>" | "kf:<kf_account>" | "event"
    kf_account: str | None = None


class FaultRule(msgspec.Struct, kw_only=True):
    """Inject a fault into calls whose platform path matches `path` (fnmatch pattern).

    kind: "latency" (value = seconds, then answer normally), "http_status" (value = status code,
    e.g. 502), "timeout" (hold the request for value seconds, then 504), "errcode" (answer with
    errcode `value`). `remaining` None = until cleared; `probability` < 1 draws from the seeded rng.
    """

    id: int
    path: str
    kind: str
    value: float
    host: str | None = None
    remaining: int | None = None
    probability: float = 1.0
    errmsg: str = "injected by simulator"


class CallbackFaults(msgspec.Struct, kw_only=True):
    drop_next: int = 0  # the next N callbacks are never sent
    duplicate_next: int = 0  # the next N callbacks are sent twice


class WorldState(msgspec.Struct, kw_only=True):
    """Everything that makes up the simulated platforms; JSON-serialisable."""

    seed: int = 0
    clock: float = 0.0
    config: SimConfig = msgspec.field(default_factory=SimConfig)
    persons: dict[str, Person] = msgspec.field(default_factory=dict)
    corps: dict[str, WeComCorp] = msgspec.field(default_factory=dict)
    mp_apps: dict[str, MpApp] = msgspec.field(default_factory=dict)
    tokens: dict[str, TokenGrant] = msgspec.field(default_factory=dict)
    counter: int = 0


class World:
    """Live simulator state plus the non-serialisable parts (rng, clock, logs, faults)."""

    def __init__(
        self,
        *,
        seed: int = 0,
        clock: SimClock | None = None,
        config: SimConfig | None = None,
        state: WorldState | None = None,
    ) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.clock = clock or SimClock()
        self.state = state or WorldState(seed=seed, config=config or SimConfig())
        if config is not None:
            self.state.config = config
        self.calls: list[CallRecord] = []
        self.deliveries: list[Delivery] = []
        self.faults: list[FaultRule] = []
        self.callback_faults = CallbackFaults()
        self._fault_seq = 0

    # ------------------------------------------------------------------ shortcuts

    @property
    def config(self) -> SimConfig:
        return self.state.config

    def now(self) -> float:
        return self.clock.now()

    def next_seq(self) -> int:
        self.state.counter += 1
        return self.state.counter

    def new_id(self, prefix: str = "", length: int = 24, alphabet: str = string.ascii_letters + string.digits) -> str:
        """A seeded random id, e.g. new_id("wk", 30) for an open_kfid."""
        return prefix + "".join(self.rng.choice(alphabet) for _ in range(length))

    # ------------------------------------------------------------------ tokens

    def issue_token(self, owner: str, *, lifetime: int | None = None) -> TokenGrant:
        now = self.now()
        grant = TokenGrant(
            value=self.new_id("", 64, string.ascii_letters + string.digits + "-_"),
            owner=owner,
            expires_at=now + (lifetime if lifetime is not None else self.config.token_lifetime),
            issued_at=now,
        )
        self.state.tokens[grant.value] = grant
        return grant

    def tokens_of(self, owner: str) -> list[TokenGrant]:
        return [g for g in self.state.tokens.values() if g.owner == owner]

    def revoke_tokens(self, owner: str | None = None) -> int:
        """Invalidate every token (of `owner`, or all): the next call with one gets 40014."""
        doomed = [v for v, g in self.state.tokens.items() if owner is None or g.owner == owner]
        for value in doomed:
            del self.state.tokens[value]
        return len(doomed)

    def check_token(self, access_token: str | None, *, prefix: str) -> TokenGrant:
        """The grant behind `access_token`; 41001 missing, 40014 unknown/other host, 42001 expired."""
        if not access_token:
            raise SimError(41001, "access_token missing")
        grant = self.state.tokens.get(access_token)
        if grant is None or not grant.owner.startswith(prefix):
            raise SimError(40014, "invalid access_token")
        if grant.expires_at <= self.now():
            raise SimError(42001, "access_token expired")
        return grant

    # ------------------------------------------------------------------ faults

    def add_fault(self, **fields: Any) -> FaultRule:
        self._fault_seq += 1
        rule = FaultRule(id=self._fault_seq, **fields)
        self.faults.append(rule)
        return rule

    def clear_faults(self) -> None:
        self.faults.clear()

    def take_fault(self, host: str, path: str) -> FaultRule | None:
        """The first rule matching this call (consuming one use of it), if any fires."""
        for rule in list(self.faults):
            if rule.host not in (None, host) or not fnmatch.fnmatchcase(path, rule.path):
                continue
            if rule.probability < 1.0 and self.rng.random() >= rule.probability:
                continue
            if rule.remaining is not None:
                rule.remaining -= 1
                if rule.remaining <= 0:
                    self.faults.remove(rule)
            return rule
        return None

    # ------------------------------------------------------------------ logs

    def record_delivery(self, **fields: Any) -> Delivery:
        delivery = Delivery(seq=self.next_seq(), time=self.now(), **fields)
        self.deliveries.append(delivery)
        return delivery

    # ------------------------------------------------------------------ persistence

    def dump(self) -> bytes:
        self.state.clock = self.now()
        return msgspec.json.encode(self.state)

    @classmethod
    def load(cls, data: bytes, *, frozen: bool = True) -> World:
        state = msgspec.json.decode(data, type=WorldState)
        return cls(seed=state.seed, clock=SimClock(state.clock, frozen=frozen), state=state)
