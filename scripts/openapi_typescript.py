"""Write clients/typescript/kefu-gateway.d.ts from the gateway's OpenAPI document (gateway.api.typescript).

Run from the repository root after changing the API: `python scripts/openapi_typescript.py`
(`--check` exits 1 when the checked-in file is stale instead of writing it). The app is built but
never started, so no database or platform is needed.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gateway.api.openapi_walk import document  # noqa: E402
from gateway.api.typescript import render  # noqa: E402

TARGET = ROOT / "clients" / "typescript" / "kefu-gateway.d.ts"


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory() as scratch:
        text = render(document(f"sqlite+aiosqlite:///{scratch}/unused.db"))
    if "--check" in argv:
        current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
        if current != text:
            print(f"{TARGET.relative_to(ROOT)} is stale: run python scripts/openapi_typescript.py", file=sys.stderr)
            return 1
        return 0
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)} ({len(text.splitlines())} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
