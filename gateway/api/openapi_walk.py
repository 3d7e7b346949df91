"""The walk of the finished OpenAPI document that the client generators share.

gateway.api.typescript (TypeScript types) and gateway.api.pyclient (the Python client) both build
the document of an app that is never started (`document`) and visit its operations in one stable
order (`operations`: by operation id), so the two clients always name the same operations.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

METHODS = ("get", "post", "put", "patch", "delete")


def document(database_url: str) -> dict[str, Any]:
    """The finished document of an app built on `database_url` (never connected to: nothing starts)."""
    from gateway.api.app import create_app  # the app imports every controller: only when asked
    from gateway.api.contract import finish
    from gateway.settings import Settings

    settings = Settings.from_env({"GATEWAY_DATABASE_URL": database_url, "GATEWAY_SECRET_KEY": "k" * 44})
    app = create_app(settings, background=False)
    return finish(app, app.openapi_schema.to_schema())


def operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    """(operation id, method, path, operation) for every operation, sorted by operation id."""
    found = [
        (item[method]["operationId"], method, path, item[method])
        for path, item in doc.get("paths", {}).items()
        for method in METHODS
        if method in item
    ]
    yield from sorted(found)


def parameters(op: dict[str, Any], place: str) -> list[dict[str, Any]]:
    """The operation's parameters `in` one place (path, query, header), in document order."""
    return [p for p in op.get("parameters", []) if p.get("in") == place]


def error_codes(doc: dict[str, Any]) -> list[str]:
    """Every `error.code` an operation documents (the examples of its error answers), sorted."""
    codes: set[str] = set()
    for _, _, _, op in operations(doc):
        for response in op.get("responses", {}).values():
            examples = response.get("content", {}).get("application/json", {}).get("examples", {})
            codes.update(
                e["value"]["error"]["code"]
                for e in examples.values()
                if isinstance(e.get("value"), dict) and isinstance(e["value"].get("error"), dict)
            )
    return sorted(codes)
