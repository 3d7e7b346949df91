"""The errcode registry: every platform errcode the gateway can meet → its exception class and meaning.

The class (gateway.errors) fixes the HTTP status, the stable `code` and whether a retry can help
(`transient`, with `retry_after`); the meaning is what the caller reads in the answer's `message`,
said as what to change. `platform_error` is the one factory (wechat/http.py and wechat/tokens.py
use it); codes missing here raise the generic PlatformError (502 platform_error), which still
carries `errcode` and `errmsg`. docs/errors.md is `markdown()` of this table (a test keeps them
equal); docs/platforms.md §6 has the platforms' own wording.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.errors import (
    AgentUnavailable,
    AlreadyExists,
    ChannelMisconfigured,
    ContactUnreachable,
    ConversationEnded,
    InvalidArgument,
    InvalidCode,
    InvalidMedia,
    InvalidWechatId,
    InvitationConflict,
    LimitReached,
    NoPlatformSession,
    NotAServicer,
    PlatformConflict,
    PlatformError,
    PlatformForbids,
    PlatformNotFound,
    RateLimited,
    ReplyQuotaExhausted,
    ReplyWindowClosed,
    ServedByAnotherAgent,
    SessionStateForbids,
    StateTransitionRefused,
    SystemBusy,
    TokenError,
    TypingRefused,
    UpgradeTargetNotConfigured,
)

BOTH, WECOM, MP, CONTACT = "both", "wecom", "mp", "wecom-contact"  # CONTACT: WeCom external contact API


@dataclass(frozen=True, slots=True)
class Errcode:
    error: type[PlatformError]
    platform: str
    meaning: str


_TABLE: dict[int, tuple[type[PlatformError], str, str]] = {
    # --- outages and limits: transient, answered 503 with Retry-After (docs/platforms.md §0, §6.2)
    -1: (SystemBusy, BOTH, "the platform is busy; retry in a few seconds"),
    45009: (RateLimited, BOTH, "call frequency or daily quota exceeded; retry after the limit's window"),
    45011: (RateLimited, MP, "per-minute call limit reached; retry in a minute"),
    45033: (RateLimited, WECOM, "too many concurrent calls; retry shortly"),
    # --- the channel's credentials and platform settings (§1, §6.1): an admin fixes the channel
    40001: (TokenError, BOTH, "the channel's secret was refused (wrong, rotated or another app's): fix it"),
    40014: (TokenError, BOTH, "the access token stayed invalid after a refresh: check the channel's secret"),
    42001: (TokenError, BOTH, "the access token stayed expired after a refresh: check the channel's secret"),
    40002: (ChannelMisconfigured, MP, "the token request's grant_type was refused: check the channel's token_kind"),
    40013: (ChannelMisconfigured, BOTH, "invalid CorpID / AppID: fix the channel's app_id"),
    40091: (ChannelMisconfigured, WECOM, "the secret is not valid for this corp: set the kf app's secret"),
    40164: (ChannelMisconfigured, MP, "the gateway's IP is not in the account's IP whitelist: add it"),
    41001: (ChannelMisconfigured, BOTH, "the platform saw no access token: check the channel's secret"),
    41002: (ChannelMisconfigured, BOTH, "the token request had no CorpID / AppID: set the channel's app_id"),
    41004: (ChannelMisconfigured, BOTH, "the token request had no secret: set the channel's secret"),
    48001: (ChannelMisconfigured, MP, "this API is not authorized for the account: check its permissions"),
    48002: (ChannelMisconfigured, BOTH, "this API is forbidden for the app: grant it in the admin console"),
    60020: (ChannelMisconfigured, WECOM, "the gateway's IP is not among the app's trusted IPs: add it"),
    65400: (ChannelMisconfigured, MP, "the new customer service is not enabled (or still propagating): enable it"),
    95011: (ChannelMisconfigured, WECOM, "the kf is WeCom-integrated but the secret is the standalone kf's"),
    95012: (ChannelMisconfigured, WECOM, "the kf is standalone but the secret is the WeCom-integrated app's"),
    95017: (ChannelMisconfigured, WECOM, "the app's kf API switch is off: enable API management of the accounts"),
    95023: (
        ChannelMisconfigured,
        WECOM,
        "the kf API switch is delegated to a 代开发 app: use that app or take it back",
    ),
    95032: (ChannelMisconfigured, WECOM, "the kf component lost its chat-record permission: grant it again"),
    # --- the reply window and the session's state (§2.3, §2.5, §4.2)
    45015: (ReplyWindowClosed, MP, "outside the reply window, or the user unfollowed: wait for the user to write"),
    95002: (ReplyWindowClosed, WECOM, "48 h passed since the customer's last message: wait for them to write"),
    95031: (ReplyWindowClosed, WECOM, "the customer has not written within 48 h: wait for them to write"),
    45047: (ReplyQuotaExhausted, MP, "the replies allowed since the user's last message are used up"),
    95001: (ReplyQuotaExhausted, WECOM, "5 replies per customer message are used up: wait for the customer"),
    95018: (SessionStateForbids, WECOM, "a servicer holds the session: hand it back to the bot (handover) first"),
    95016: (
        StateTransitionRefused,
        WECOM,
        "the session cannot move from its state to that one: check the conversation's state",
    ),
    95013: (ConversationEnded, WECOM, "the platform session has already ended; the customer's next message opens one"),
    95007: (InvalidCode, WECOM, "the event code expired (welcome 20 s, others 48 h) or was used: send a normal reply"),
    41051: (InvalidCode, CONTACT, "the welcome code can no longer be used (20 s passed, or the chat started)"),
    43004: (ContactUnreachable, MP, "the user does not follow the account (or unfollowed)"),
    43019: (ContactUnreachable, MP, "the user is in the account's blacklist: remove them from it first"),
    84061: (ContactUnreachable, CONTACT, "the member and the customer have no contact relationship"),
    45072: (TypingRefused, MP, "invalid typing command"),
    45080: (TypingRefused, MP, "typing needs an exchange with the user in the last 30 s"),
    45081: (TypingRefused, MP, "a typing indicator is already showing (it lasts 15 s)"),
    # --- agents and kf accounts (§2.2, §2.3, §4.1, §4.3)
    95014: (NotAServicer, WECOM, "not a servicer of this kf account, or not activated in WeCom: add it first"),
    95019: (AgentUnavailable, WECOM, "the servicer stopped or suspended receiving: pick an on-duty servicer"),
    65402: (AgentUnavailable, MP, "the kf account is not bound to a WeChat user: invite one and wait"),
    65415: (AgentUnavailable, MP, "the kf is not online: pick an online kf"),
    65414: (ServedByAnotherAgent, MP, "another kf serves this user: that kf must close the session first"),
    65413: (NoPlatformSession, MP, "the user has no kf session on the platform"),
    95004: (PlatformNotFound, WECOM, "the kf account (open_kfid) no longer exists: refresh with POST /agents/sync"),
    65401: (PlatformNotFound, MP, "the kf account does not exist on the platform: refresh with POST /agents/sync"),
    65406: (AlreadyExists, MP, "a kf account of this name already exists: pick another name"),
    40071: (AlreadyExists, CONTACT, "a tag of this name already exists in the group"),
    65407: (InvitationConflict, MP, "the invitee is already a kf of this account"),
    65408: (InvitationConflict, MP, "an invitation was already sent to this WeChat user"),
    65410: (InvitationConflict, MP, "the invitee is bound to too many kf accounts"),
    65411: (InvitationConflict, MP, "an invitation for this kf account is pending: wait until accepted or expired"),
    65412: (InvitationConflict, MP, "the kf account is already bound to a WeChat user"),
    65409: (InvalidWechatId, MP, "invalid WeChat ID: give the invitee's WeChat ID (not a nickname or phone)"),
    95021: (UpgradeTargetNotConfigured, WECOM, "the member / group chat is not configured in 升级服务: configure it"),
    95003: (LimitReached, WECOM, "the corp's customer capacity is reached: verify the corp"),
    95005: (LimitReached, WECOM, "too many kf accounts, or the last one cannot be deleted"),
    95026: (LimitReached, WECOM, "the accounts are used too little to create another"),
    95027: (LimitReached, WECOM, "an unverified corp has at most 10 kf accounts"),
    65405: (LimitReached, MP, "the account already has the most kf accounts allowed (100)"),
    40128: (LimitReached, CONTACT, "the customer was transferred too often (2 in 90 days)"),
    40129: (PlatformConflict, CONTACT, "the customer is being transferred already"),
    40201: (PlatformForbids, WECOM, "the kf account is banned for sensitive content"),
    95015: (PlatformForbids, WECOM, "a dedicated service is configured for this account in the admin console"),
    95030: (PlatformForbids, WECOM, "the kf component's settings forbid this message type"),
    84074: (PlatformForbids, CONTACT, "the member lacks the customer-contact feature"),
    # --- media (§2.8, MP media)
    40004: (InvalidMedia, BOTH, "invalid media type: use image, voice, video or file"),
    40005: (InvalidMedia, BOTH, "the file's format does not fit its type: image JPG/PNG, voice AMR, video MP4"),
    40006: (InvalidMedia, BOTH, "invalid file size: more than 5 bytes, within the type's limit"),
    40007: (InvalidMedia, BOTH, "the media_id is unknown or older than 3 days: upload the file again"),
    40009: (InvalidMedia, BOTH, "the image is too large (10 MB; an MP head image 5 MB)"),
    40010: (InvalidMedia, BOTH, "the voice file is too large (2 MB, 60 s)"),
    40011: (InvalidMedia, BOTH, "the video is too large (10 MB)"),
    40012: (InvalidMedia, MP, "the thumbnail is too large (64 KB)"),
    41005: (InvalidMedia, BOTH, "the upload carried no file"),
    44001: (InvalidMedia, BOTH, "the file is empty"),
    # --- other arguments the caller gave
    40003: (InvalidArgument, BOTH, "invalid openid / userid: not known to this account"),
    40008: (InvalidArgument, BOTH, "this platform cannot send that message type"),
    40050: (InvalidArgument, CONTACT, "unknown or dismissed group chat"),
    40058: (InvalidArgument, BOTH, "a parameter is invalid (the errmsg names it): fix it"),
    40068: (InvalidArgument, CONTACT, "unknown tag or tag group"),
    40073: (InvalidArgument, MP, "invalid card_id"),
    40096: (InvalidArgument, BOTH, "invalid external_userid (another corp's or app's)"),
    41006: (InvalidArgument, BOTH, "media_id missing"),
    41048: (InvalidArgument, CONTACT, "the message has neither text nor attachments"),
    44003: (InvalidArgument, MP, "a news reply needs an article"),
    44004: (InvalidArgument, BOTH, "the text is empty"),
    45002: (InvalidArgument, BOTH, "the content is too long (text at most 2048 bytes)"),
    45008: (InvalidArgument, MP, "a news reply takes exactly one article"),
    47001: (InvalidArgument, BOTH, "the request body was not valid JSON"),
    60111: (InvalidArgument, WECOM, "no member with this userid in the corp"),
    60123: (InvalidArgument, WECOM, "no such department"),
    65403: (InvalidArgument, MP, "invalid nickname: 1 to 16 characters"),
    65404: (InvalidArgument, MP, "invalid kf_account: 1-10 of [A-Za-z0-9_], '@', the account's WeChat ID"),
    65416: (InvalidArgument, MP, "invalid chat-record query parameters"),
    65417: (InvalidArgument, MP, "a chat-record query spans at most 24 h"),
    81017: (InvalidArgument, CONTACT, "listing group chats of more than 1000 members needs an owner filter"),
    95000: (InvalidArgument, WECOM, "invalid open_kfid"),
    95006: (InvalidArgument, WECOM, "invalid kf account name: 1 to 16 characters"),
    95008: (InvalidArgument, WECOM, "too many menu items (at most 10)"),
    95009: (InvalidArgument, WECOM, "invalid menu item type (click, view, miniprogram, text)"),
    95022: (InvalidArgument, WECOM, "invalid location_type"),
}

ERRCODES: dict[int, Errcode] = {code: Errcode(*row) for code, row in _TABLE.items()}


def platform_error(errcode: int, errmsg: str = "", *, path: str | None = None) -> PlatformError:
    """The registered exception for `errcode`, its message the registry's meaning (generic PlatformError
    with the platform's errmsg when the code is not registered)."""
    entry = ERRCODES.get(errcode)
    if entry is None:
        return PlatformError(errcode, errmsg, path=path)
    return entry.error(errcode, errmsg, path=path, meaning=entry.meaning)


def markdown() -> str:
    """The registry as the table of docs/errors.md: errcode, HTTP status, code, platform, meaning."""
    lines = ["| errcode | HTTP | code | platform | meaning |", "| --- | --- | --- | --- | --- |"]
    for errcode, entry in sorted(ERRCODES.items()):
        cls = entry.error
        status = f"{cls.status_code}" + (" (Retry-After)" if cls.retry_after else "")
        lines.append(f"| {errcode} | {status} | `{cls.code}` | {entry.platform} | {entry.meaning} |")
    return "\n".join(lines) + "\n"
