"""Simulated Official Account (MP) kefu on api.weixin.qq.com: tokens, kf accounts, sessions, custom/send, users."""
