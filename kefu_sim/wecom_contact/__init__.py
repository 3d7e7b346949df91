"""Simulated WeCom external contact (客户联系): customers, 联系我 ways, tags, groups, transfers, 群发, callbacks."""
