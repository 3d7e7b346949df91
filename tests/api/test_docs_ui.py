"""The docs pages under /schema load with no outside host: every asset they name is served by the app."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from gateway.api.docs_ui import ASSETS
from tests.api.support import Api


class Assets(HTMLParser):
    """Every URL the page would fetch: script src, link href, img src."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value and (name == "src" or (name == "href" and tag == "link") or name == "data-spec"):
                self.urls.append(value)


@pytest.mark.parametrize("page", ["/schema", "/schema/swagger"])
async def test_the_page_needs_no_other_host(api: Api, page: str) -> None:
    answer = await api.client.get(page)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    html = answer.text
    assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", html, re.I), "the page names another host"
    parser = Assets()
    parser.feed(html)
    assert any(u.endswith(".js") or ".js?" in u for u in parser.urls)
    assert any(".css" in u for u in parser.urls)
    for url in parser.urls:
        assert url.startswith("/") and not url.startswith("//"), url
        served = await api.client.get(url)
        assert served.status_code == 200, url
        assert served.content, url
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    assert csp and "default-src 'self'" in csp.group(1) and "connect-src 'self'" in csp.group(1)


async def test_the_page_starts_swagger_on_the_gateways_document(api: Api) -> None:
    script = (await api.client.get("/schema/assets/kefu-swagger.js")).text
    assert "validatorUrl: null" in script  # the default would call validator.swagger.io
    assert "root.dataset.spec" in script
    html = (await api.client.get("/schema")).text
    assert 'data-spec="/schema/openapi.json"' in html


def test_the_vendored_files_load_nothing_from_outside() -> None:
    css = (ASSETS / "swagger-ui.css").read_text(encoding="utf-8")
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", css), "the stylesheet fetches from another host"
    assert "@import" not in css
    bundle = (ASSETS / "swagger-ui-bundle.js").read_text(encoding="utf-8")
    assert "fonts.googleapis.com" not in bundle and "cdn.jsdelivr.net" not in bundle
    for name in ("LICENSE", "NOTICE", "VENDORED.md"):
        assert (ASSETS / name).is_file(), name


async def test_unknown_assets_are_404(api: Api) -> None:
    assert (await api.client.get("/schema/assets/nope.js")).status_code == 404
    assert (await api.client.get("/schema/assets/../../settings.py")).status_code in (404, 400)
