"""Benchmark 5: callback verify + decrypt per second, gateway.wechat.crypto against wechatpy's WeChatCrypto.

Both sides get the same encrypted envelopes (the XML body plus msg_signature/timestamp/nonce) and
do the whole receive step: parse the envelope, check msg_signature, AES-CBC decrypt, unpad, check
the receive id, return the inner XML. Payloads: WeCom kf_msg_or_event pushes (checked against
`wechatpy.enterprise.crypto.WeChatCrypto`) and MP safe-mode text messages (`wechatpy.crypto.WeChatCrypto`).
Target: the gateway at least 2× wechatpy.

    .venv/bin/python -m tests.bench.crypto [--rounds 5] [--seconds 1.0]
"""

from __future__ import annotations

import argparse
import os
import random
import string
import time
from collections.abc import Callable

from tests.bench.common import AES_KEY, heading, ratio, save

CORPID = "wwbenchcorp000001"
APPID = "wxbenchapp0000001"
TOKEN = "BenchCallbackToken"


def envelopes(kind: str, count: int) -> list[tuple[str, str, str, str, str]]:
    """(body, msg_signature, timestamp, nonce, expected plaintext) × count, all distinct."""
    from gateway.wechat.crypto import WeChatCrypto
    from gateway.wechat.xmlmsg import build_xml

    rng = random.Random(5)
    receive_id = CORPID if kind == "wecom" else APPID
    crypto = WeChatCrypto(TOKEN, AES_KEY, receive_id)
    out = []
    for n in range(count):
        timestamp = str(1_760_000_000 + n)
        nonce = "".join(rng.choice(string.digits) for _ in range(10))
        if kind == "wecom":
            plain = build_xml(
                {
                    "ToUserName": CORPID,
                    "CreateTime": int(timestamp),
                    "MsgType": "event",
                    "Event": "kf_msg_or_event",
                    "Token": "ENC" + os.urandom(22).hex(),
                    "OpenKfId": "wkBenchAccount0000000000000001",
                }
            )
            to_user = CORPID
        else:
            plain = build_xml(
                {
                    "ToUserName": "gh_bench",
                    "FromUserName": "o" + os.urandom(14).hex(),
                    "CreateTime": int(timestamp),
                    "MsgType": "text",
                    "Content": f"你好，我想问一下订单 {n} 的物流",
                    "MsgId": str(24_000_000_000_000_000 + n),
                }
            )
            to_user = "gh_bench"
        env = crypto.encrypt_message(plain, timestamp=timestamp, nonce=nonce, to_user=to_user)
        out.append((env.xml, env.msg_signature, timestamp, nonce, plain))
    return out


def rate(
    fn: Callable[[str, str, str, str], object],
    payloads: list[tuple[str, str, str, str, str]],
    *,
    rounds: int,
    seconds: float,
) -> float:
    """Best-of-`rounds` calls per second, each round looping over the payloads for ~`seconds`."""
    best = 0.0
    for _ in range(rounds):
        calls = 0
        started = time.perf_counter()
        while True:
            for body, signature, timestamp, nonce, _ in payloads:
                fn(body, signature, timestamp, nonce)
            calls += len(payloads)
            elapsed = time.perf_counter() - started
            if elapsed >= seconds:
                break
        best = max(best, calls / elapsed)
    return best


def steps(
    crypto: object, payloads: list[tuple[str, str, str, str, str]], *, rounds: int, seconds: float
) -> dict[str, float]:
    """Where the gateway's time goes, step by step along WeChatCrypto.decrypt_message."""
    from gateway.wechat.crypto import MAX_XML_BYTES, WeChatCrypto, _b64decode, _envelope_encrypt
    from gateway.wechat.xmlmsg import parse_xml

    assert isinstance(crypto, WeChatCrypto)
    prepared = [(parse_xml(b)["Encrypt"], s, t, n) for b, s, t, n, _ in payloads]

    def per_call(fn: Callable[[int], object]) -> float:
        best = float("inf")
        for _ in range(rounds):
            calls, started = 0, time.perf_counter()
            while time.perf_counter() - started < seconds:
                for i in range(len(payloads)):
                    fn(i)
                calls += len(payloads)
            best = min(best, (time.perf_counter() - started) / calls)
        return round(best * 1e6, 2)

    out = {
        "envelope fast path (_envelope_encrypt)": per_call(lambda i: _envelope_encrypt(payloads[i][0], MAX_XML_BYTES)),
        "full parser, for comparison (parse_xml)": per_call(lambda i: parse_xml(payloads[i][0])),
        "check_signature": per_call(
            lambda i: crypto.check_signature(prepared[i][1], prepared[i][2], prepared[i][3], prepared[i][0])
        ),
        "base64 decode": per_call(lambda i: _b64decode(prepared[i][0])),
        "decrypt() (AES + checks)": per_call(lambda i: crypto.decrypt(prepared[i][0])),
        "decrypt_message() total": per_call(lambda i: crypto.decrypt_message(*payloads[i][:4])),
    }
    for name, value in out.items():
        print(f"  {name:<42} {value:>7} µs")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--payloads", type=int, default=2000)
    args = parser.parse_args()

    import wechatpy
    from wechatpy.crypto import WeChatCrypto as WechatpyMpCrypto
    from wechatpy.crypto.base import WeChatCipher
    from wechatpy.enterprise.crypto import WeChatCrypto as WechatpyWorkCrypto

    from gateway.wechat.crypto import WeChatCrypto

    backend = WeChatCipher.__module__.rsplit(".", 1)[-1]  # cryptography or pycrypto(dome)
    figures: dict[str, object] = {
        "wechatpy_version": wechatpy.__version__,
        "wechatpy_aes_backend": backend,
        "target_ratio": 2.0,
        "cases": {},
    }
    for kind, receive_id, theirs_cls in (("wecom", CORPID, WechatpyWorkCrypto), ("mp", APPID, WechatpyMpCrypto)):
        heading(f"{kind}: verify + decrypt")
        payloads = envelopes(kind, args.payloads)
        ours = WeChatCrypto(TOKEN, AES_KEY, receive_id)
        theirs = theirs_cls(TOKEN, AES_KEY, receive_id)
        for body, signature, timestamp, nonce, plain in payloads[:50]:  # same answers before timing
            mine = ours.decrypt_message(body, signature, timestamp, nonce)
            other = theirs.decrypt_message(body, signature, timestamp, nonce)
            other = other.decode() if isinstance(other, bytes) else other
            assert mine == plain == other, (mine, other)
        ours_rate = theirs_rate = 0.0
        for _ in range(args.rounds):  # interleaved, so background load hits both sides alike
            ours_rate = max(ours_rate, rate(ours.decrypt_message, payloads, rounds=1, seconds=args.seconds))
            theirs_rate = max(theirs_rate, rate(theirs.decrypt_message, payloads, rounds=1, seconds=args.seconds))
        case = {
            "payload_bytes": round(sum(len(p[0]) for p in payloads) / len(payloads)),
            "gateway_per_s": round(ours_rate),
            "gateway_us": round(1e6 / ours_rate, 2),
            "wechatpy_per_s": round(theirs_rate),
            "wechatpy_us": round(1e6 / theirs_rate, 2),
            "ratio": ratio(ours_rate, theirs_rate),
        }
        case["gateway_steps_us"] = steps(ours, payloads, rounds=args.rounds, seconds=args.seconds / 2)
        figures["cases"][kind] = case  # type: ignore[index]
        print(f"gateway  {case['gateway_per_s']:>8}/s  ({case['gateway_us']} µs)")
        print(f"wechatpy {case['wechatpy_per_s']:>8}/s  ({case['wechatpy_us']} µs)   [AES backend: {backend}]")
        print(f"ratio gateway/wechatpy = {case['ratio']}  (target ≥ 2.0)")
    save("crypto", figures)


if __name__ == "__main__":
    main()
