"""The simulated Official Account (MP) platform: every handler mounted under /mp (api.weixin.qq.com)."""

from gateway.simulator import mp_kf, mp_send, mp_session, mp_token, mp_user

HANDLERS = [*mp_token.HANDLERS, *mp_kf.HANDLERS, *mp_session.HANDLERS, *mp_send.HANDLERS, *mp_user.HANDLERS]
