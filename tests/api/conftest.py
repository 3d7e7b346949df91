"""REST API fixtures: the real app on the test database with one API key per scope.

`api` serves the app in-process (no platform behind it); `sim_api` puts the simulator behind it
(tests.harness) for the endpoints that call a platform. Builders live in tests/api/support.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from gateway.api.app import create_app
from gateway.db.engine import Database
from gateway.runtime import Runtime
from gateway.sealing import SecretBox
from tests.api.people import people_api  # noqa: F401 (fixture: operators in the request scope)
from tests.api.support import Api, SimApi, api_settings, make_keys
from tests.conftest import TEST_SECRET_KEY
from tests.harness import harness


@pytest.fixture
async def api(db: Database, box: SecretBox) -> AsyncIterator[Api]:
    """In the test's event loop (ASGITransport): asyncpg connections are bound to the loop that made them."""
    settings = api_settings(db, GATEWAY_PUBLIC_URL="https://gw.example.com", GATEWAY_ALLOW_CUSTOM_API_BASE="1")
    runtime = Runtime(settings, db=db)
    app = create_app(settings, runtime=runtime, background=False)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://gateway") as client:
            yield Api(client, db, box, await make_keys(db))
    finally:
        await runtime.stop()


@pytest.fixture
async def sim_api(db: Database, box: SecretBox) -> AsyncIterator[SimApi]:
    """The gateway with the simulator behind it (tests.harness), loops stopped."""
    async with harness(db, TEST_SECRET_KEY, start=False) as h:
        yield SimApi(h.client, db, box, await make_keys(db), h=h)
