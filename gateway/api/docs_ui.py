"""The pages under /schema: the finished document (gateway.api.contract) and Swagger UI, all served
by the gateway itself.

Litestar's own render plugins load their scripts, styles and fonts from CDNs, so the docs were a
blank page on a machine without internet access (and told those hosts who reads them). Here the
Swagger UI files are vendored in `swagger_ui/` (swagger-ui-dist, Apache-2.0: see VENDORED.md) and
served at /schema/assets/; the page's Content-Security-Policy allows this origin only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Request, Router
from litestar.datastructures import CacheControlHeader
from litestar.openapi.plugins import JsonRenderPlugin, OpenAPIRenderPlugin
from litestar.serialization import encode_json
from litestar.static_files import create_static_files_router

import gateway
from gateway.api.contract import finish

ASSETS = Path(__file__).parent / "swagger_ui"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self' data:; base-uri 'none'; form-action 'self'"
)
PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<title>{title} API</title>
<link rel="icon" type="image/png" href="{assets}/favicon-32x32.png">
<link rel="stylesheet" href="{assets}/swagger-ui.css?v={version}">
</head>
<body>
<div id="swagger-ui" data-spec="{spec}"></div>
<script src="{assets}/swagger-ui-bundle.js?v={version}"></script>
<script src="{assets}/kefu-swagger.js?v={version}"></script>
</body>
</html>
"""


class ContractJsonPlugin(JsonRenderPlugin):
    """/schema/openapi.json: Litestar's document finished by gateway.api.contract (built once per app)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._body: bytes | None = None

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        if self._body is None:
            self._body = encode_json(finish(request.app, openapi_schema))
        return self._body


class SwaggerPlugin(OpenAPIRenderPlugin):
    """Swagger UI at /schema and /schema/swagger with its files at /schema/assets (no other host)."""

    def __init__(self, base: str, *, path: str | list[str] = "/swagger") -> None:
        super().__init__(path=path)
        self.assets = base.rstrip("/") + "/assets"

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return PAGE.format(
            csp=CSP,
            title=openapi_schema["info"]["title"],
            assets=self.assets,
            version=gateway.__version__,
            spec=self.get_openapi_json_route(request),
        ).encode()

    def receive_router(self, router: Router) -> None:
        router.register(
            create_static_files_router(
                path="/assets",
                directories=[ASSETS],
                cache_control=CacheControlHeader(max_age=3600),
                include_in_schema=False,
                name="docs-assets",
            )
        )


def render_plugins(base: str) -> list[OpenAPIRenderPlugin]:
    return [ContractJsonPlugin(), SwaggerPlugin(base, path=["/", "/swagger"])]
