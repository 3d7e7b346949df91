"""A typed Python client from the OpenAPI document, for CRMs written in Python.

`render(doc)` turns the finished document (gateway.api.contract) into the two generated modules
of clients/python/kefu_gateway_client: `models.py` (a msgspec Struct per component schema, the
`ErrorCode` literal) and `client.py` (`KefuGatewayClient`, one async method per operation, named
by its operationId in snake_case, with typed path, query, header and body parameters and a typed
result). What is not generated (the httpx transport, `ApiError`, `paginate`) is the package's
hand-written `_runtime.py`. scripts/openapi_python.py writes the files; a test keeps them equal to
a fresh rendering. The walk of the document is gateway.api.openapi_walk, shared with the
TypeScript types. A schema msgspec cannot decode as written (an untagged union of two objects)
becomes `Any`, never a wrong type.
"""

from __future__ import annotations

import keyword
import re
from typing import Any

from gateway.api.openapi_walk import error_codes, operations, parameters

HEADER = """# Generated from the kefu-gateway OpenAPI document (/schema/openapi.json) by
# scripts/openapi_python.py. Do not edit: run `python scripts/openapi_python.py` instead.
"""
REF = "#/components/schemas/"


def render(doc: dict[str, Any]) -> dict[str, str]:
    """File name (in the package) → text of every generated module."""
    return {"models.py": _models(doc), "client.py": _client(doc)}


def snake(name: str) -> str:
    """`listConversations` → `list_conversations`; `If-None-Match` → `if_none_match`."""
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    name = re.sub(r"[^A-Za-z0-9_]+", "_", name).strip("_").lower()
    return f"{name}_" if keyword.iskeyword(name) or not name.isidentifier() else name


def type_of(schema: Any, models: str = "") -> str:
    """The Python annotation of one JSON Schema (`models` prefixes component names)."""
    if not isinstance(schema, dict) or not schema:
        return "Any"
    if "$ref" in schema:
        return models + _class(str(schema["$ref"]).removeprefix(REF))
    if "enum" in schema or "const" in schema:
        values = schema.get("enum", [schema.get("const")])
        literals = [repr(v) for v in values if v is not None]
        literal = f"Literal[{', '.join(literals)}]" if literals else "None"
        return f"{literal} | None" if None in values and literals else literal
    for key in ("oneOf", "anyOf"):
        if key in schema:
            return _union([type_of(part, models) for part in schema[key]])
    kind = schema.get("type")
    if isinstance(kind, list):
        return _union([type_of({**schema, "type": k}, models) for k in kind])
    if kind == "string":
        fmt = schema.get("format")
        return "datetime" if fmt == "date-time" else "bytes" if fmt == "binary" else "str"
    simple = {"integer": "int", "number": "float", "boolean": "bool", "null": "None"}
    if kind in simple:
        return simple[kind]
    if kind == "array":
        return f"list[{type_of(schema.get('items', {}), models)}]"
    if kind == "object" or "properties" in schema:
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict) and extra and not schema.get("properties"):
            return f"dict[str, {type_of(extra, models)}]"
        return "dict[str, Any]"
    return "Any"


def _union(parts: list[str]) -> str:
    """Members of a union; `Any` when msgspec could not tell two members apart on decoding."""
    unique = list(dict.fromkeys(p for part in parts for p in part.split(" | ")))
    if "Any" in unique:
        return "Any"
    kinds = [_kind(p) for p in unique]
    if any(kinds.count(k) > 1 for k in kinds if k is not None):
        return "Any"
    nullable = "None" in unique
    return " | ".join([*(p for p in unique if p != "None"), *(["None"] if nullable else [])])


def _kind(annotation: str) -> str | None:
    if annotation == "None":
        return None
    if annotation.startswith(("Literal['", 'Literal["')) or annotation in ("str", "datetime", "bytes"):
        return "str"
    if annotation.startswith("Literal[") or annotation == "int":
        return "int"
    if annotation.startswith("list["):
        return "list"
    if annotation in ("float", "bool"):
        return annotation
    return "object"  # a Struct or a dict


def _class(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_]", "_", name)
    return cleaned if cleaned.isidentifier() and not keyword.iskeyword(cleaned) else f"{cleaned}_"


def _docstring(text: Any, indent: str) -> str:
    if not isinstance(text, str) or not text.strip():
        return ""
    first = text.strip().split("\n\n")[0].replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    lines = [line.strip() for line in first.strip().splitlines()]
    if len(lines) == 1:
        return f'{indent}"""{lines[0]}"""\n'
    return f'{indent}"""' + f"\n{indent}".join(lines) + f'\n{indent}"""\n'


def _models(doc: dict[str, Any]) -> str:
    schemas = doc.get("components", {}).get("schemas", {})
    out = [
        HEADER,
        '"""The API\'s request and response bodies as msgspec Structs (absent optional fields are UNSET)."""\n',
        "from __future__ import annotations\n",
        "from datetime import datetime",
        "from typing import Any, Literal\n",
        "import msgspec",
        "from msgspec import UNSET, UnsetType\n",
        "__all__ = ['UNSET', 'UnsetType', 'datetime']\n",
    ]
    codes = error_codes(doc)
    out.append("ErrorCode = Literal[\n" + "".join(f"    {code!r},\n" for code in codes) + "]")
    out.append('"""Every `error.code` an operation documents (ApiError.code is one of these, or a newer one)."""\n')
    for name in sorted(schemas):
        out.append(_struct(name, schemas[name]))
    return "\n".join(out)


def _struct(name: str, schema: dict[str, Any]) -> str:
    if not (schema.get("type") == "object" and "properties" in schema):
        return f"{_class(name)} = {type_of(schema)}\n"
    lines = [f"\nclass {_class(name)}(msgspec.Struct, kw_only=True):"]
    doc = _docstring(schema.get("description"), "    ")
    if doc:
        lines.append(doc.rstrip("\n"))
    required = set(schema.get("required", []))
    for field, sub in schema.get("properties", {}).items():
        attr = snake(field) if not field.isidentifier() or keyword.iskeyword(field) else field
        kind = type_of(sub)
        renamed = f"name={field!r}" if attr != field else ""
        if field in required:
            value = f" = msgspec.field({renamed})" if renamed else ""
            lines.append(f"    {attr}: {kind}{value}")
        else:
            value = f"msgspec.field(default=UNSET, {renamed})" if renamed else "UNSET"
            unset = _optional(kind, "UnsetType") if "None" in kind.split(" | ") else f"{kind} | UnsetType"
            lines.append(f"    {attr}: {'Any' if kind == 'Any' else unset} = {value}")
    if len(lines) == 1:
        lines.append("    pass")
    return "\n".join(lines) + "\n"


def _client(doc: dict[str, Any]) -> str:
    out = [
        HEADER,
        '"""KefuGatewayClient: one async method per operation of the kefu-gateway REST API."""\n',
        "from __future__ import annotations\n",
        "from datetime import datetime",
        "from typing import Any, Literal\n",
        "import httpx\n",
        "from kefu_gateway_client import models",
        "from kefu_gateway_client._runtime import BaseClient, FileTypes, form_value, segment\n",
        "__all__ = ['KefuGatewayClient', 'datetime']\n\n",
        "class KefuGatewayClient(BaseClient):",
        '    """Errors raise ApiError (status, code, message); pages follow next_cursor with paginate()."""',
    ]
    for op_id, method, path, op in operations(doc):
        out.append(_method(op_id, method, path, op))
    return "\n".join(out) + "\n"


def _method(op_id: str, method: str, path: str, op: dict[str, Any]) -> str:
    args: list[str] = []
    for p in parameters(op, "path"):
        args.append(f"        {snake(p['name'])}: {type_of(p.get('schema'), 'models.')},")
    keywords: list[str] = []
    body_args, body_call = _body(op)
    keywords += body_args
    query = parameters(op, "query")
    headers = parameters(op, "header")
    for p in [*query, *headers]:
        kind = type_of(p.get("schema"), "models.")
        if p.get("required"):
            keywords.insert(0, f"        {snake(p['name'])}: {kind},")
        else:
            keywords.append(f"        {snake(p['name'])}: {_optional(kind)} = None,")
    signature = ["    async def " + snake(op_id) + "(", "        self,", *args]
    if keywords:
        signature += ["        *,", *keywords]
    result, decode, stream = _result(op)
    signature.append(f"    ) -> {result}:")
    lines = [*signature]
    summary = op.get("summary") or op_id
    description = op.get("description") or ""
    lines.append(_docstring(f"{summary}: {description}" if description else summary, "        ").rstrip("\n"))
    url = re.sub(r"{(\w+)}", lambda m: "{segment(" + snake(m.group(1)) + ")}", path)
    call = [f"            {method.upper()!r},", f"            f{url!r}" if "{" in path else f"            {path!r}"]
    call[-1] += ","
    if query:
        pairs = ", ".join(f"{p['name']!r}: {snake(p['name'])}" for p in query)
        call.append(f"            params={{{pairs}}},")
    if headers:
        pairs = ", ".join(f"{p['name']!r}: {snake(p['name'])}" for p in headers)
        call.append(f"            headers={{{pairs}}},")
    call += body_call
    if stream:
        call.append("            stream=True,")
    if decode == "None":
        lines += ["        await self._request(", *call, "        )"]
    else:
        lines += ["        response = await self._request(", *call, "        )", f"        return {decode}"]
    return "\n" + "\n".join(lines)


def _optional(kind: str, extra: str = "") -> str:
    """`kind` that may also be None (and `extra`), None last as ruff wants it."""
    if kind == "Any":
        return kind
    parts = [p for p in kind.split(" | ") if p != "None"]
    return " | ".join([*parts, *([extra] if extra else []), "None"]) if kind != "None" else "None"


def _body(op: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The body's keyword parameters and the `_request` arguments that send it."""
    body = op.get("requestBody")
    if not body:
        return [], []
    content = body.get("content", {})
    if "multipart/form-data" in content:
        schema = content["multipart/form-data"].get("schema", {})
        required = set(schema.get("required", []))
        args: list[str] = []
        data: list[str] = []
        files: list[str] = []
        for name, sub in schema.get("properties", {}).items():
            binary = sub.get("format") == "binary"
            kind = "FileTypes" if binary else type_of(sub, "models.")
            arg = snake(name)
            args.append(f"        {arg}: {kind}," if name in required else f"        {arg}: {_optional(kind)} = None,")
            (files if binary else data).append(f"{name!r}: {arg}" if binary else f"{name!r}: form_value({arg})")
        return args, [f"            data={{{', '.join(data)}}},", f"            files={{{', '.join(files)}}},"]
    media: dict[str, Any] = next((c for m, c in content.items() if "json" in m), {})
    kind = type_of(media.get("schema"), "models.")
    if body.get("required"):
        return [f"        body: {kind},"], ["            json=body,"]
    return [f"        body: {_optional(kind)} = None,"], ["            json=body,"]


def _result(op: dict[str, Any]) -> tuple[str, str, bool]:
    """(annotation, return expression, streamed) of the operation's success answer."""
    success = sorted((s, r) for s, r in op.get("responses", {}).items() if s.startswith("2"))
    if not success:
        return "None", "None", False
    status, response = success[0]
    content = response.get("content", {})
    if "text/event-stream" in content:
        return "httpx.Response", "response  # streamed: iterate aiter_lines(), then aclose()", True
    media = content.get("application/json")
    if len(success) > 1 or media is None:
        return "httpx.Response", "response", False
    kind = type_of(media.get("schema"), "models.")
    if status == "204" or kind == "None":
        return "None", "None", False
    return kind, f"self._decode(response, {kind})", False
