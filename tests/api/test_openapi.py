"""The OpenAPI document is the contract: every operation named, summarised, described and tagged,
with the errors its handler can answer (in the real envelope), its auth and its headers.

What a handler raises is read from its code (tests.api.raising), not from the table the document is
built from (gateway.api.contract_table), so a raise added without documenting it fails here.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from litestar import Litestar

from gateway.api import contract_table
from gateway.api.app import create_app
from gateway.api.contract import finish, handlers
from gateway.db.engine import Database
from gateway.domain import ConversationStatus, MessageStatus
from tests.api.raising import raised, reads_header
from tests.api.support import Api, api_settings

METHODS = ("get", "post", "put", "patch", "delete")
ENVELOPE = {"$ref": "#/components/schemas/ErrorBody"}
PROBES = {"healthz", "readyz", "metrics"}  # answer in their own shapes (and /metrics in text)


async def document(api: Api) -> dict:
    response = await api.client.get("/schema/openapi.json")
    assert response.status_code == 200
    return response.json()


def operations(doc: dict):
    for path, item in doc["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


@pytest.fixture
def app(db: Database) -> Litestar:
    """An app to read routes from (never started: no platform, no background loops)."""
    return create_app(api_settings(db), background=False)


def raw_document(app: Litestar) -> dict[str, Any]:
    return app.openapi_schema.to_schema()


def documented_codes(op: dict, status: int) -> set[str]:
    response = op["responses"].get(str(status))
    if response is None:
        return set()
    examples = response.get("content", {}).get("application/json", {}).get("examples", {})
    return {example["value"]["error"]["code"] for example in examples.values()}


def undocumented_raises(app: Litestar, doc: dict) -> list[str]:
    """`op: status code` for every GatewayError a handler's code raises that its operation lacks."""
    routes = handlers(app)
    missing = []
    for _, _, op in operations(doc):
        _, _, handler = routes[op["operationId"]]
        for error in raised(handler.fn):
            if error.code not in documented_codes(op, error.status_code):
                missing.append(f"{op['operationId']}: {error.status_code} {error.code}")
    return sorted(missing)


async def test_every_operation_is_named_summarised_described_and_tagged(api: Api) -> None:
    doc = await document(api)
    ops = list(operations(doc))
    assert len(ops) > 40
    ids = [op.get("operationId") for _, _, op in ops]
    assert len(set(ids)) == len(ids), "operation ids must be unique"
    undescribed = []
    for path, method, op in ops:
        assert re.fullmatch(r"[a-z][A-Za-z0-9]+", op["operationId"]), (path, method, op["operationId"])
        assert op.get("tags"), (path, method)
        assert re.fullmatch(r"[A-Z][a-z0-9]*( [a-z0-9]+)*", op.get("summary", "")), (path, method, op.get("summary"))
        if not (op.get("description") or "").strip():
            undescribed.append(f"{method.upper()} {path}")
    assert undescribed == [], "operations without a description (give the handler a docstring)"
    assert doc["paths"]["/api/v1/api-keys"]["get"]["summary"] == "List api keys"


async def test_every_error_response_is_the_envelope_with_its_codes(api: Api) -> None:
    doc = await document(api)
    assert doc["components"]["schemas"]["ErrorBody"]["required"] == ["error"]
    assert {"code", "message"} <= set(doc["components"]["schemas"]["ErrorDetail"]["required"])
    for path, method, op in operations(doc):
        errors = {status: r for status, r in op["responses"].items() if status[0] in "45"}
        assert "500" in errors, (path, method)
        if op["operationId"] in PROBES:
            continue
        assert any(status.startswith("4") for status in errors), (path, method)
        for status, response in errors.items():
            media = response["content"]["application/json"]
            assert media["schema"] == ENVELOPE, (path, method, status)
            assert media["examples"], (path, method, status)
            for code, example in media["examples"].items():
                assert example["value"]["error"]["code"] == code
                assert f"`{code}`" in response["description"]
        # Litestar's generic 400 is gone: a body that is not JSON, a callback or channel key that fails
        assert all(c == "bad_request" or c.startswith("callback_") for c in documented_codes(op, 400)), (path, method)
        json_body = "application/json" in op.get("requestBody", {}).get("content", {})
        assert ("bad_request" in documented_codes(op, 400)) == json_body, (path, method)


async def test_the_rules_every_operation_follows(api: Api) -> None:
    doc = await document(api)
    for path, method, op in operations(doc):
        if not path.startswith("/api/v1"):
            continue
        codes = {status: documented_codes(op, int(status)) for status in op["responses"] if status[0] in "45"}
        assert "overloaded" in codes["503"], (path, method)
        assert "Retry-After" in op["responses"]["503"]["headers"]
        if path != "/api/v1/auth/sign-in":
            assert "unauthorized" in codes["401"] and "forbidden" in codes["403"], (path, method)
            assert ("csrf_failed" in codes["403"]) == (method != "get"), (path, method)
        if "{" in path:
            assert "not_found" in codes["404"], (path, method)
        if "requestBody" in op:
            assert "payload_too_large" in codes["413"], (path, method)
        if "requestBody" in op or any(p["in"] == "query" for p in op.get("parameters", [])):
            assert "validation_error" in codes["422"], (path, method)
    assign = doc["paths"]["/api/v1/conversations/{conversation_id}/assign"]["post"]["responses"]
    assert {"404", "409", "422", "424", "502", "503"} <= set(assign)
    assert "channel_misconfigured" in documented_codes({"responses": assign}, 424)
    assert {"platform_unreachable", "platform_error"} <= documented_codes({"responses": assign}, 502)
    assert {"platform_busy", "platform_rate_limited", "overloaded"} <= documented_codes({"responses": assign}, 503)
    # a read that never reaches a platform does not claim its answers
    assert "424" not in doc["paths"]["/api/v1/conversations"]["get"]["responses"]


async def test_the_documented_400_is_what_a_malformed_body_gets(api: Api) -> None:
    doc = await document(api)
    sign_in = doc["paths"]["/api/v1/auth/sign-in"]["post"]
    answer = await api.client.post(
        "/api/v1/auth/sign-in", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] in documented_codes(sign_in, 400)


async def test_every_raise_in_a_handler_is_documented(api: Api, app: Litestar) -> None:
    doc = await document(api)
    assert undocumented_raises(app, doc) == []
    # what the walk finds is real: the send path's own refusals, media's, sign-in's
    routes = handlers(app)
    send_raises = {e.code for e in raised(routes["send"][2].fn)}
    assert {"idempotency_key_busy", "idempotency_key_reused", "reply_not_allowed"} <= send_raises
    assert {"media_pending", "media_expired"} <= {e.code for e in raised(routes["getMediaFile"][2].fn)}
    assert {"invalid_credentials", "too_many_attempts"} <= {e.code for e in raised(routes["signIn"][2].fn)}


async def test_the_check_fails_when_the_table_forgets_a_raise(app: Litestar, monkeypatch) -> None:
    raises = dict(contract_table.RAISES)
    del raises["send"], raises["createLabel"]
    monkeypatch.setattr(contract_table, "RAISES", raises)
    missing = undocumented_raises(app, finish(app, raw_document(app)))
    assert "send: 409 idempotency_key_busy" in missing
    assert "send: 422 idempotency_key_reused" in missing
    assert "createLabel: 409 label_exists" in missing


async def test_idempotency_key_is_documented_where_it_is_read(api: Api, app: Litestar) -> None:
    doc = await document(api)
    routes = handlers(app)
    reading = {op_id for op_id, (_, _, handler) in routes.items() if reads_header(handler.fn, "idempotency-key")}
    assert reading == {"send", "sendWithUpload"}
    documented = {
        op["operationId"]
        for _, _, op in operations(doc)
        if any(p["in"] == "header" and p["name"] == "Idempotency-Key" for p in op.get("parameters", []))
    }
    assert documented == reading


async def test_every_header_a_handler_reads_is_documented(api: Api, app: Litestar) -> None:
    doc = await document(api)
    routes = handlers(app)
    by_id = {op["operationId"]: op for _, _, op in operations(doc)}
    for name in ("Range", "If-Range", "If-None-Match", "Last-Event-ID", "Idempotency-Key"):
        reading = {op_id for op_id, (_, _, handler) in routes.items() if reads_header(handler.fn, name)}
        assert reading, name  # the walk finds the handler that reads it
        documented = {
            op_id
            for op_id, op in by_id.items()
            if any(p["in"] == "header" and p["name"] == name for p in op.get("parameters", []))
        }
        assert documented == reading, name
    media = {p["name"] for p in by_id["getMediaFile"]["parameters"] if p["in"] == "header"}
    assert media == {"Range", "If-Range", "If-None-Match"}
    assert [p["name"] for p in by_id["stream"]["parameters"] if p["in"] == "header"] == ["Last-Event-ID"]


async def test_the_uploads_document_their_multipart_forms(api: Api) -> None:
    doc = await document(api)
    by_id = {op["operationId"]: op for _, _, op in operations(doc)}
    upload = by_id["uploadMedia"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert upload["required"] == ["type", "file"]
    assert upload["properties"]["type"]["enum"] == ["image", "voice", "video", "file", "thumb"]
    assert upload["properties"]["file"]["format"] == "binary"
    form = by_id["sendWithUpload"]["requestBody"]["content"]["multipart/form-data"]
    assert form["schema"]["properties"]["message"]["$ref"] == "#/components/schemas/SendMessage"
    assert form["encoding"]["message"]["contentType"] == "application/json"
    assert {"media", "thumb"} <= set(form["schema"]["properties"])
    for op_id in ("uploadMedia", "sendWithUpload"):
        op = by_id[op_id]
        assert list(op["requestBody"]["content"]) == ["multipart/form-data"]
        assert "payload_too_large" in documented_codes(op, 413) and "validation_error" in documented_codes(op, 422)
        assert "bad_request" not in documented_codes(op, 400)  # an unreadable form is a 422
    # the documented field names are the ones the handlers read: a bad `type` is refused by name
    answer = await api.post(
        "/api/v1/channels/1/media", data={"type": "sticker"}, files={"file": ("a.png", b"x", "image/png")}
    )
    assert answer.status_code == 422 and answer.json()["error"]["field"] == "type"
    answer = await api.post("/api/v1/conversations/1/messages/upload", files={"media": ("a.png", b"x", "image/png")})
    assert answer.status_code == 422 and answer.json()["error"]["field"] == "message"


async def test_security_is_what_the_middleware_reads(api: Api) -> None:
    doc = await document(api)
    schemes = doc["components"]["securitySchemes"]
    assert schemes["BearerAuth"]["type"] == "http" and schemes["BearerAuth"]["scheme"] == "bearer"
    assert (schemes["SessionCookie"]["in"], schemes["SessionCookie"]["name"]) == ("cookie", "kefu_session")
    assert (schemes["CsrfToken"]["in"], schemes["CsrfToken"]["name"]) == ("header", "X-CSRF-Token")
    for path, method, op in operations(doc):
        if not path.startswith("/api/v1"):
            assert "security" not in op, (path, method)
        elif path == "/api/v1/auth/sign-in":
            assert op["security"] == [{}]
        elif method == "get":
            assert op["security"] == [{"BearerAuth": []}, {"SessionCookie": []}], (path, method)
        else:
            assert op["security"] == [{"BearerAuth": []}, {"SessionCookie": [], "CsrfToken": []}], (path, method)


async def test_enums_and_examples(api: Api) -> None:
    doc = await document(api)
    schemas = doc["components"]["schemas"]
    assert schemas["ConversationOut"]["properties"]["status"]["enum"] == [s.value for s in ConversationStatus]
    assert schemas["MessageOut"]["properties"]["status"]["enum"] == [s.value for s in MessageStatus]
    assert "deleted" in schemas["AgentOut"]["properties"]["status"]["enum"]
    sendable = schemas["SendMessage"]["properties"]["content_type"]["enum"]
    assert {"text", "image", "msgmenu", "menu", "mpnews", "business_card"} <= set(sendable)
    for (name, field), values in contract_table.ENUMS.items():
        assert schemas[name]["properties"][field]["enum"] == list(values), (name, field)
    send = doc["paths"]["/api/v1/conversations/{conversation_id}/messages"]["post"]["requestBody"]
    examples = send["content"]["application/json"]["examples"]
    assert all(example["value"]["content_type"] in sendable for example in examples.values())
    assign = doc["paths"]["/api/v1/conversations/{conversation_id}/assign"]["post"]["requestBody"]
    assert assign["content"]["application/json"]["examples"]["operator"]["value"] == {"operator_id": 3}


async def test_the_examples_are_accepted_by_the_api(api: Api) -> None:
    """A sign-in example is a valid body (a 401 for a person who does not exist, not a 422)."""
    doc = await document(api)
    body = doc["paths"]["/api/v1/auth/sign-in"]["post"]["requestBody"]["content"]["application/json"]
    answer = await api.client.post("/api/v1/auth/sign-in", json=body["examples"]["operator"]["value"])
    assert answer.status_code == 401 and answer.json()["error"]["code"] == "invalid_credentials"


async def test_the_document_validates(api: Api) -> None:
    doc = await document(api)
    try:
        from openapi_spec_validator import validate  # not a dependency: used where installed
    except ImportError:
        validate = None
    if validate is not None:
        validate(doc)
    structural_check(doc)


def structural_check(doc: dict) -> None:
    """What the validator would catch first, without it: version, refs that resolve, path params."""
    assert re.fullmatch(r"3\.1\.\d+", doc["openapi"])
    assert doc["info"]["title"] and doc["info"]["version"]
    refs: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                refs.append(node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc)
    assert refs
    for ref in refs:
        target: Any = doc
        for part in ref.removeprefix("#/").split("/"):
            assert isinstance(target, dict) and part in target, f"unresolved {ref}"
            target = target[part]
    schemes = set(doc["components"]["securitySchemes"])
    for path, method, op in operations(doc):
        declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
        assert declared == set(re.findall(r"{(\w+)}", path)), (path, method)
        assert op["responses"], (path, method)
        for status in op["responses"]:
            assert re.fullmatch(r"[1-5]\d\d", status), (path, method, status)
        for requirement in op.get("security", []):
            assert set(requirement) <= schemes, (path, method)
