"""Routes of the web inbox: `/` (the page) and `/inbox/assets/…` (its scripts, styles and sounds).

The page is the same for everyone; who may see what is decided by the REST API it calls. Strict
headers go with it: a Content-Security-Policy that allows only this origin's scripts and styles
(no inline code), no framing, no referrer to other sites.
"""

from __future__ import annotations

from pathlib import Path

from litestar import Request, Response, Router, get
from litestar.datastructures import CacheControlHeader
from litestar.static_files import create_static_files_router

import gateway

STATIC = Path(__file__).parent / "static"
ASSETS = "/inbox/assets"
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob: https:; "
        "media-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


SESSION_COOKIE = "kefu_session"  # set by POST /api/v1/auth/sign-in (HttpOnly: the page cannot see it)


def _page(signed_in: bool) -> str:
    """index.html with the asset URLs carrying the version, so an upgrade is never served stale.

    `data-session` tells the script whether a session cookie came with the request: without one it
    shows the sign-in form at once instead of asking /api/v1/auth/me for a certain 401.
    """
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    html = html.replace("{{ASSETS}}", ASSETS).replace("{{VERSION}}", gateway.__version__)
    return html.replace("<body>", f'<body data-session="{int(signed_in)}">', 1)


@get("/", include_in_schema=False, cache_control=CacheControlHeader(no_cache=True))
async def inbox_page(request: Request) -> Response[str]:
    signed_in = bool(request.cookies.get(SESSION_COOKIE))
    return Response(_page(signed_in), media_type="text/html; charset=utf-8", headers=SECURITY_HEADERS)


def asset_router() -> Router:
    return create_static_files_router(
        path=ASSETS,
        directories=[STATIC],
        cache_control=CacheControlHeader(max_age=3600),
        include_in_schema=False,
        name="inbox-assets",
    )
