"""The OpenAPI document is the contract: every operation named, summarised, described and tagged."""

from __future__ import annotations

import re

METHODS = ("get", "post", "put", "patch", "delete")


async def document(api) -> dict:
    response = await api.client.get("/schema/openapi.json")
    assert response.status_code == 200
    return response.json()


def operations(doc: dict):
    for path, item in doc["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


async def test_every_operation_is_named_described_and_tagged(api) -> None:
    doc = await document(api)
    ops = list(operations(doc))
    assert len(ops) > 40
    ids = [op.get("operationId") for _, _, op in ops]
    assert len(set(ids)) == len(ids), "operation ids must be unique"
    undescribed = []
    for path, method, op in ops:
        assert re.fullmatch(r"[a-z][A-Za-z0-9]+", op["operationId"]), (path, method, op["operationId"])
        assert op.get("tags"), (path, method)
        if not (op.get("description") or "").strip():
            undescribed.append(f"{method.upper()} {path}")
    assert undescribed == [], "operations without a description (give the handler a docstring)"
