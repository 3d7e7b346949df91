"""Write the generated modules of clients/python/kefu_gateway_client from the OpenAPI document.

Run from the repository root after changing the API: `python scripts/openapi_python.py`
(`--check` exits 1 when a checked-in module is stale instead of writing it). The app is built but
never started, so no database or platform is needed. The renderer is gateway.api.pyclient.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gateway.api.openapi_walk import document  # noqa: E402
from gateway.api.pyclient import render  # noqa: E402

PACKAGE = ROOT / "clients" / "python" / "kefu_gateway_client"


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory() as scratch:
        files = render(document(f"sqlite+aiosqlite:///{scratch}/unused.db"))
    if "--check" in argv:
        stale = [
            name
            for name, text in files.items()
            if not (PACKAGE / name).exists() or (PACKAGE / name).read_text(encoding="utf-8") != text
        ]
        for name in stale:
            print(
                f"{(PACKAGE / name).relative_to(ROOT)} is stale: run python scripts/openapi_python.py", file=sys.stderr
            )
        return 1 if stale else 0
    PACKAGE.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (PACKAGE / name).write_text(text, encoding="utf-8")
        print(f"wrote {(PACKAGE / name).relative_to(ROOT)} ({len(text.splitlines())} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
