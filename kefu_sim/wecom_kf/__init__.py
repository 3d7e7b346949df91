"""Simulated WeCom 微信客服: kf accounts, servicers, the session engine, sync_msg, send_msg, customers, statistics."""
