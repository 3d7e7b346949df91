"""WeCom corp basics shared by 微信客服 and 客户联系: corp state, gettoken, temporary media (qyapi.weixin.qq.com)."""
