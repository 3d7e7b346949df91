"""kefu-gateway: WeCom 微信客服 and MP kefu behind one conversation model."""

__version__ = "0.1.0"
