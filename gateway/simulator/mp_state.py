"""Official Account (MP) state held by the simulator (followers, kf accounts, sessions, records)."""

from __future__ import annotations

import msgspec


class MpApp(msgspec.Struct, kw_only=True):
    """One official account; `callback_mode` is "plain" | "compat" | "safe"."""

    appid: str
    secret: str
    gh_id: str = ""
    wechat_id: str = ""  # the account's WeChat ID: kf_account suffixes must use it
    callback_url: str | None = None
    callback_token: str | None = None
    encoding_aes_key: str | None = None
    callback_mode: str = "plain"
