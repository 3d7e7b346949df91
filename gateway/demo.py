"""`kefu-gateway demo`: the gateway and the simulator on loopback, seeded, with customers chatting.

Seeds a WeCom corp (two kf accounts, servicers) and an MP account (two kf accounts), creates the
matching channels in the gateway, and drives customers (some the same person on both platforms,
linked by unionid) through the simulator's driver at a gentle pace. Callbacks flow from the
simulator to the gateway over real HTTP, exactly as from the real platforms.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass, field
from typing import Any

import httpx

from gateway.db.engine import Database
from gateway.db.repositories import operators
from gateway.db.repositories.channels import ChannelRepository
from gateway.sealing import SecretBox
from kefu_sim import SimDriver

log = logging.getLogger(__name__)

CORPID = "wwdemo0000000001"
WECOM_SECRET = "demo-wecom-kf-app-secret"
APPID = "wxdemo0000000001"
MP_SECRET = "demo-mp-app-secret"
TOKEN = "DemoCallbackToken"
OPERATOR_EMAIL = "demo@kefu.local"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
NAMES = ["王芳", "李娜", "张伟", "刘洋", "陈静", "杨帆", "赵磊", "黄敏", "周杰", "吴婷", "Alice", "Bob"]
TEXTS = [
    "你好，请问还有货吗？",
    "订单什么时候发货？",
    "能开发票吗",
    "想退货",
    "谢谢！",
    "Hello, is anyone there?",
    "快递单号是多少",
    "可以便宜一点吗",
    "尺码偏大还是偏小？",
    "收到了，很满意",
]


@dataclass
class DemoState:
    wecom_channel_id: int = 0
    mp_channel_id: int = 0
    kf_accounts: list[str] = field(default_factory=list)
    wecom_customers: list[str] = field(default_factory=list)
    mp_followers: list[str] = field(default_factory=list)
    sent: int = 0


async def ensure_channels(db: Database, box: SecretBox, sim_base: str, gateway_base: str) -> tuple[int, int]:
    """The two demo channels in the gateway (created once; reused on the next run)."""
    async with db.session() as session:
        repo = ChannelRepository(session, box)
        existing = {c.name: c for c in await repo.list()}
        wecom = existing.get("demo-wecom") or await repo.create(
            kind="wecom",
            name="demo-wecom",
            app_id=CORPID,
            secrets={"secret": WECOM_SECRET, "token": TOKEN, "encoding_aes_key": AES_KEY},
            settings={"api_base": f"{sim_base}/wecom", "welcome_message": "欢迎光临！有什么可以帮您？"},
        )
        mp = existing.get("demo-mp") or await repo.create(
            kind="mp",
            name="demo-mp",
            app_id=APPID,
            secrets={"secret": MP_SECRET, "token": TOKEN, "encoding_aes_key": AES_KEY},
            settings={"api_base": f"{sim_base}/mp", "callback_mode": "safe"},
        )
        await repo.update(wecom, settings={"api_base": f"{sim_base}/wecom"})
        await repo.update(mp, settings={"api_base": f"{sim_base}/mp"})
        return wecom.id, mp.id


async def seed(
    driver: SimDriver, state: DemoState, gateway_base: str, *, rng: random.Random, customers: int = 8
) -> None:
    """Corp, MP account, kf accounts, servicers and customers in the simulator."""
    await driver.wecom_create_corp(
        corpid=CORPID,
        secret=WECOM_SECRET,
        verified=True,
        callback_url=f"{gateway_base}/callbacks/{state.wecom_channel_id}",
        callback_token=TOKEN,
        encoding_aes_key=AES_KEY,
    )
    for userid, name in (("zhangsan", "张三"), ("lisi", "李四")):
        await driver.wecom_add_member(CORPID, userid, name=name)
    # "售前咨询" has no servicer on duty (the API answers, state 0/1); "售后服务" hands sessions to humans.
    presales = await driver.wecom_add_kf_account(CORPID, name="售前咨询")
    aftersales = await driver.wecom_add_kf_account(CORPID, name="售后服务", servicers=["zhangsan", "lisi"])
    state.kf_accounts = [presales["open_kfid"], aftersales["open_kfid"]]
    await driver.mp_create_app(
        appid=APPID,
        secret=MP_SECRET,
        wechat_id="demo_oa",
        callback_url=f"{gateway_base}/callbacks/{state.mp_channel_id}",
        callback_token=TOKEN,
        encoding_aes_key=AES_KEY,
        callback_mode="safe",
    )
    for n in range(customers):
        name = NAMES[n % len(NAMES)]
        unionid = f"demo-union-{n:03d}"
        if n % 2 == 0:  # even customers write on both platforms: one contact, two identities
            follower = await driver.mp_add_follower(APPID, unionid=unionid, nickname=name)
            state.mp_followers.append(follower["openid"])
            customer = await driver.wecom_add_customer(CORPID, unionid=unionid, nickname=name)
            state.wecom_customers.append(customer["external_userid"])
        elif n % 4 == 1:
            customer = await driver.wecom_add_customer(CORPID, unionid=unionid, nickname=name)
            state.wecom_customers.append(customer["external_userid"])
        else:
            follower = await driver.mp_add_follower(APPID, unionid=unionid, nickname=name)
            state.mp_followers.append(follower["openid"])


async def seed_mp_kf(mp_channel: Any, driver: SimDriver) -> None:
    """Two MP kf accounts, created through the platform API (as a real team would), bound and online."""
    existing = {a.kf_account for a in await mp_channel.client.list_accounts()}
    for n, (prefix, nick) in enumerate((("alice", "Alice"), ("bob", "Bob"))):
        account = f"{prefix}@demo_oa"
        if account not in existing:
            await mp_channel.client.add_account(account, nick)
        await driver.mp_kf_bind(APPID, account, f"wx_demo_kf_{n}")
        await driver.mp_kf_online(APPID, account, True)


async def chat_once(driver: SimDriver, state: DemoState, rng: random.Random) -> None:
    """One customer action: mostly text, sometimes an image or a location, on either platform."""
    use_wecom = state.wecom_customers and (not state.mp_followers or rng.random() < 0.6)
    text = rng.choice(TEXTS)
    if use_wecom:
        customer = rng.choice(state.wecom_customers)
        kf = rng.choice(state.kf_accounts)
        kind = rng.random()
        if kind < 0.1:
            await driver.wecom_enter(CORPID, customer, kf, scene="demo", scene_param="from-demo")
        elif kind < 0.2:
            await driver.wecom_customer_send(
                CORPID,
                kf,
                customer,
                "location",
                {"latitude": 31.23, "longitude": 121.47, "name": "上海", "address": "人民广场"},
            )
        else:
            await driver.wecom_customer_send(CORPID, kf, customer, content=text)
    else:
        openid = rng.choice(state.mp_followers)
        if rng.random() < 0.1:
            await driver.mp_event(APPID, openid, "CLICK", "MENU_HELP")
        else:
            await driver.mp_user_text(APPID, openid, text)
    state.sent += 1


async def chatter(driver: SimDriver, state: DemoState, *, rate: float, seed: int, stop: asyncio.Event) -> None:
    """Customers write at about `rate` actions per second until `stop` is set."""
    rng = random.Random(seed)
    while not stop.is_set():
        try:
            await chat_once(driver, state, rng)
        except (httpx.HTTPError, RuntimeError) as exc:
            log.warning("demo customer action failed: %s", exc)
        try:
            await asyncio.wait_for(stop.wait(), timeout=rng.expovariate(rate) if rate > 0 else 3600)
        except TimeoutError:
            pass


async def ensure_operator(db: Database, password: str) -> str:
    """The demo's admin operator (`demo@kefu.local`) with `password`, created or reset; its email."""
    async with db.session() as session:
        row = await operators.by_email(session, OPERATOR_EMAIL)
        if row is None:
            await operators.create_operator(
                session, email=OPERATOR_EMAIL, name="Demo Admin", password=password, role="admin"
            )
        else:
            await operators.set_password(session, row, password)
            row.role, row.active = "admin", True
    return OPERATOR_EMAIL


def summary_lines(api_base: str, key: str | None, sim_base: str, operator: tuple[str, str] | None = None) -> list[str]:
    """What the demo prints; the sign-in lines start with `Operator` so a script can find them."""
    signin = (
        [
            f"Operator email     {operator[0]}",
            f"Operator password  {operator[1]}   (POST {api_base}/api/v1/auth/sign-in)",
        ]
        if operator
        else []
    )
    lines = [
        "kefu-gateway demo is running",
        f"  REST API   {api_base}/api/v1   (Authorization: Bearer <key>)",
        f"  API key    {key}"
        if key
        else "  API key    (create one: kefu-gateway apikey create --name me --scope admin)",
        *signin,
        f"  OpenAPI    {api_base}/schema",
        f"  health     {api_base}/healthz     metrics {api_base}/metrics",
        f"  simulator  {sim_base}   (WeCom {sim_base}/wecom, MP {sim_base}/mp, driver {sim_base}/_sim)",
        f"  try        curl -H 'Authorization: Bearer {key or '<key>'}' {api_base}/api/v1/conversations",
        "Ctrl-C stops it.",
    ]
    return lines
