"""TypeScript types from the OpenAPI document, for CRMs written in TypeScript (no Node needed here).

`render(doc)` turns the finished document (gateway.api.contract) into one declaration file: an
interface per component schema, `ErrorCode` (every documented error code), and `Operations`, which
names each operation by its operationId with its method, path, parameters, body and responses.
scripts/openapi_typescript.py writes it to clients/typescript/kefu-gateway.d.ts; a test keeps the
checked-in file equal to a fresh rendering, so a change to the API shows up in the diff of its
types. Only what the gateway's document uses of JSON Schema is handled (objects, arrays, enums,
refs, anyOf/oneOf with null, maps); anything else becomes `unknown`, never a wrong type.
"""

from __future__ import annotations

import json
import re
from typing import Any

from gateway.api.openapi_walk import error_codes, operations, parameters

HEADER = """// Generated from the kefu-gateway OpenAPI document (/schema/openapi.json) by
// scripts/openapi_typescript.py. Do not edit: run `python scripts/openapi_typescript.py` instead.
"""
IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")


def render(doc: dict[str, Any]) -> str:
    schemas = doc.get("components", {}).get("schemas", {})
    out = [HEADER]
    for name in sorted(schemas):
        out.append(_declaration(name, schemas[name]))
    out.append(_error_codes(doc))
    out.append(_operations(doc))
    return "\n".join(out)


def _declaration(name: str, schema: dict[str, Any]) -> str:
    doc = _comment(schema.get("description"), "")
    if schema.get("type") == "object" and "properties" in schema:
        return f"{doc}export interface {name} {_object(schema, '')}\n"
    return f"{doc}export type {name} = {type_of(schema, '')};\n"


def type_of(schema: Any, indent: str) -> str:
    """The TypeScript type of one JSON Schema."""
    if not isinstance(schema, dict) or not schema:
        return "unknown"
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    if "enum" in schema:
        return " | ".join(json.dumps(value, ensure_ascii=False) for value in schema["enum"])
    if "const" in schema:
        return json.dumps(schema["const"], ensure_ascii=False)
    for key in ("oneOf", "anyOf"):
        if key in schema:
            return _union([type_of(part, indent) for part in schema[key]])
    if "allOf" in schema:
        return " & ".join(_wrap(type_of(part, indent)) for part in schema["allOf"])
    kind = schema.get("type")
    if isinstance(kind, list):
        return _union([type_of({**schema, "type": k}, indent) for k in kind])
    if kind == "string":
        return "string"
    if kind in ("integer", "number"):
        return "number"
    if kind == "boolean":
        return "boolean"
    if kind == "null":
        return "null"
    if kind == "array":
        return f"{_wrap(type_of(schema.get('items', {}), indent))}[]"
    if kind == "object" or "properties" in schema:
        if schema.get("properties"):
            return _object(schema, indent)
        extra = schema.get("additionalProperties")
        value = type_of(extra, indent) if isinstance(extra, dict) and extra else "unknown"
        return f"Record<string, {value}>"
    return "unknown"


def _object(schema: dict[str, Any], indent: str) -> str:
    inner = indent + "  "
    required = set(schema.get("required", []))
    lines = ["{"]
    for field, sub in schema.get("properties", {}).items():
        optional = "" if field in required else "?"
        lines.append(f"{_comment(sub.get('description'), inner)}{inner}{_key(field)}{optional}: {type_of(sub, inner)};")
    lines.append(indent + "}")
    return "\n".join(line for line in lines if line)


def _error_codes(doc: dict[str, Any]) -> str:
    union = "\n".join(f"  | {json.dumps(code)}" for code in error_codes(doc))
    return f"/** Every `error.code` an operation documents (ErrorBody). */\nexport type ErrorCode =\n{union};\n"


def _operations(doc: dict[str, Any]) -> str:
    lines = ["/** Every operation by its operationId: method, path, parameters, body and responses. */"]
    lines.append("export interface Operations {")
    for op_id, method, path, op in operations(doc):
        lines.append(_comment(op.get("summary"), "  ").rstrip("\n"))
        lines.append(f"  {op_id}: {{")
        lines.append(f"    method: {json.dumps(method.upper())};")
        lines.append(f"    path: {json.dumps(path)};")
        for place, label in (("path", "pathParams"), ("query", "query"), ("header", "headers")):
            params = parameters(op, place)
            if params:
                fields = [
                    f"      {_key(p['name'])}{'' if p.get('required') else '?'}: {type_of(p.get('schema'), '      ')};"
                    for p in params
                ]
                lines += [f"    {label}: {{", *fields, "    };"]
        body = op.get("requestBody", {}).get("content", {})
        for media, content in body.items():
            kind = type_of(content.get("schema"), "    ") if "json" in media else "FormData"
            optional = "" if op["requestBody"].get("required") else "?"
            lines.append(f"    body{optional}: {kind};")
            break
        lines.append("    responses: {")
        for status, response in op.get("responses", {}).items():
            content = response.get("content", {})
            json_body = next((c for m, c in content.items() if "json" in m), None)
            if json_body is not None:
                kind = type_of(json_body.get("schema"), "      ")
            elif content:
                kind = "string" if all(m.startswith("text/") for m in content) else "Blob"
            else:
                kind = "void"
            lines.append(f"      {status}: {kind};")
        lines += ["    };", "  };"]
    lines.append("}")
    return "\n".join(line for line in lines if line) + "\n"


def _union(parts: list[str]) -> str:
    unique = list(dict.fromkeys(parts))
    return " | ".join(_wrap(part) if "&" in part else part for part in unique)


def _wrap(kind: str) -> str:
    return f"({kind})" if ("|" in kind or "&" in kind) and not kind.startswith("{") else kind


def _key(name: str) -> str:
    return name if IDENTIFIER.fullmatch(name) else json.dumps(name)


def _comment(text: Any, indent: str) -> str:
    if not isinstance(text, str) or not text.strip():
        return ""
    body = text.strip().replace("*/", "*\\/").splitlines()
    if len(body) == 1:
        return f"{indent}/** {body[0]} */\n"
    return indent + "/**\n" + "".join(f"{indent} * {line}".rstrip() + "\n" for line in body) + indent + " */\n"
