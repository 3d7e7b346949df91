"""clients/typescript/kefu-gateway.d.ts is the fresh rendering of the OpenAPI document (gateway.api.typescript)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from gateway.api.typescript import render, type_of
from tests.api.support import Api

ROOT = Path(__file__).resolve().parents[2]
CHECKED_IN = ROOT / "clients" / "typescript" / "kefu-gateway.d.ts"


async def test_the_checked_in_types_are_a_fresh_rendering(api: Api) -> None:
    doc = (await api.client.get("/schema/openapi.json")).json()
    fresh = render(doc)
    assert CHECKED_IN.read_text(encoding="utf-8") == fresh, "stale: run python scripts/openapi_typescript.py"
    assert "export interface SendMessage {" in fresh
    assert '      "Idempotency-Key"?: string;' in fresh
    assert '  | "idempotency_key_busy"' in fresh  # ErrorCode lists the documented codes
    assert 'status: "pending" | "queued" | "open" | "resolved";' in fresh


def test_the_script_checks_and_writes_the_same_file() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "openapi_typescript.py"), "--check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


def test_json_schema_to_typescript() -> None:
    assert type_of({"anyOf": [{"type": "string"}, {"type": "null"}]}, "") == "string | null"
    assert type_of({"type": "array", "items": {"anyOf": [{"type": "integer"}, {"type": "null"}]}}, "") == (
        "(number | null)[]"
    )
    assert type_of({"type": "object", "additionalProperties": {"type": "string"}}, "") == "Record<string, string>"
    assert type_of({"type": "object"}, "") == "Record<string, unknown>"
    assert type_of({"$ref": "#/components/schemas/ErrorBody"}, "") == "ErrorBody"
    assert type_of({"enum": ["a", "b"]}, "") == '"a" | "b"'
    assert type_of({"type": ["string", "null"]}, "") == "string | null"
    assert type_of({"type": "object", "properties": {"a-b": {"type": "integer"}}, "required": []}, "") == (
        '{\n  "a-b"?: number;\n}'
    )
    assert type_of({"not": {}}, "") == "unknown"
