"""WeCom corp state held by the simulator (kf accounts, servicers, customers, sessions, messages)."""

from __future__ import annotations

import msgspec

from gateway.simulator.contact_state import ContactBook


class WeComCorp(msgspec.Struct, kw_only=True):
    """One WeCom corp. `secrets` are the app secrets gettoken accepts (kf app, contact app)."""

    corpid: str
    secrets: list[str] = msgspec.field(default_factory=list)
    verified: bool = True
    callback_url: str | None = None  # where kf_msg_or_event callbacks are POSTed
    callback_token: str | None = None
    encoding_aes_key: str | None = None
    contacts: ContactBook = msgspec.field(default_factory=ContactBook)
