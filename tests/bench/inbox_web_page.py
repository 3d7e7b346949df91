"""What tests/bench/inbox_web.py runs inside Chromium: the timing probes and the page steps.

Every time is taken inside the page. `ROWS_PROBE` is an init script (it runs before the page's own
scripts in every document of a context): a capture-phase `submit` listener on the document notes
`performance.now()` when the sign-in form is submitted (before the page's handler runs), and a
MutationObserver on the whole document notes `performance.now()` at the first mutation batch
after which `#conversations` holds the wanted number of `[data-conversation-id]` rows (the rows are
in the DOM; `frame` is the next animation frame, just before they are painted). On a reload the
probe starts afresh with the new document, whose `performance.now()` counts from its navigation
start.

`THREAD_PROBE` watches `#thread` of an open conversation and notes, for every `bench-…` marker
that appears in an added message, the wall-clock time `performance.timeOrigin + performance.now()`,
to be compared with the driver's `time.time()` on the same machine (`clock_offset` measures the
difference between the two clocks, which the latencies are corrected by).
"""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from typing import Any

from playwright.async_api import BrowserContext, Page

LIST_JS = Path(__file__).resolve().parents[2] / "gateway" / "web" / "static" / "js" / "list.js"

ROWS_PROBE = """
(() => {
  const want = %d;
  const bench = (window.__bench = { submit: null, rows: null, frame: null, count: 0 });
  document.addEventListener("submit", (event) => {
    if (event.target && event.target.id === "signin-form") {
      bench.submit = performance.now();
      bench.rows = bench.frame = null;
    }
  }, true);
  const check = () => {
    if (bench.rows !== null) return;
    const list = document.getElementById("conversations");
    if (!list) return;
    const count = list.querySelectorAll("[data-conversation-id]").length;
    if (count >= want) {
      bench.rows = performance.now();
      bench.count = count;
      requestAnimationFrame(() => { bench.frame = performance.now(); });
    }
  };
  new MutationObserver(check).observe(document, { childList: true, subtree: true });
})();
"""

THREAD_PROBE = """
() => {
  const seen = (window.__seen = window.__seen || {});
  const thread = document.getElementById("thread");
  const note = (node) => {
    if (node.nodeType !== 1) return;
    const found = (node.textContent || "").match(/bench-[a-z]+-\\d+/g) || [];
    const at = performance.timeOrigin + performance.now();
    for (const marker of found) if (!(marker in seen)) seen[marker] = at;
  };
  new MutationObserver((records) => {
    for (const record of records) record.addedNodes.forEach(note);
  }).observe(thread, { childList: true, subtree: true });
  thread.querySelectorAll("li").forEach(note);
}
"""

RESOURCES = """
() => performance.getEntriesByType("resource")
  .filter((e) => e.name.includes("/api/v1/"))
  .map((e) => ({ path: new URL(e.name).pathname, start: e.startTime, end: e.responseEnd }))
"""


def list_page_size() -> int:
    """The list's first page as the page asks for it (`const PAGE = …` in list.js)."""
    found = re.search(r"^const PAGE = (\d+);", LIST_JS.read_text(), re.M)
    if not found:
        raise RuntimeError(f"no `const PAGE = n;` in {LIST_JS}")
    return int(found.group(1))


async def sign_in_once(context: BrowserContext, base: str, email: str, password: str) -> dict[str, Any]:
    """A fresh page signs in through the form, then reloads with its session; both timed in the page."""
    page = await context.new_page()
    try:
        await page.goto(base)
        await page.wait_for_selector("#signin-form input[name=email]", state="visible")
        await page.fill("input[name=email]", email)
        await page.fill("input[name=password]", password)
        await page.click("#signin-form button[type=submit]")
        signin = await _rows_timing(page)
        calls = await page.evaluate(RESOURCES)
        signin["calls"] = [
            {
                "path": c["path"],
                "start": round(c["start"] - signin["submit"], 1),
                "end": round(c["end"] - signin["submit"], 1),
            }
            for c in calls
            if c["start"] >= signin["submit"]
        ]
        answered = next((c["end"] for c in signin["calls"] if c["path"] == "/api/v1/auth/sign-in"), None)
        if answered is not None:  # the sign-in answer (its password hash check) → the rows
            signin["after_answer_ms"] = signin["rows_ms"] - answered
        await page.reload()
        reload = await _rows_timing(page)
        reload["calls"] = [
            {"path": c["path"], "start": round(c["start"], 1), "end": round(c["end"], 1)}
            for c in await page.evaluate(RESOURCES)
        ]
        return {"signin": signin, "reload": reload}
    finally:
        await page.close()


async def _rows_timing(page: Page) -> dict[str, Any]:
    # polled with evaluate (the page's CSP forbids the eval wait_for_function needs); the times
    # themselves are the ones the probe noted
    deadline = time.monotonic() + 60
    while True:
        bench: dict[str, Any] = await page.evaluate("window.__bench")
        if bench and bench["frame"] is not None:
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"the list never held its rows: {bench}")
        await asyncio.sleep(0.05)
    start = bench["submit"] if bench["submit"] is not None else 0.0
    return {
        "submit": start,
        "rows_ms": bench["rows"] - start,
        "frame_ms": bench["frame"] - start,
        "rows": bench["count"],
    }


async def clock_offset(page: Page, samples: int = 5) -> dict[str, float]:
    """Page wall clock − driver wall clock (ms), from the sample with the shortest round trip."""
    best: tuple[float, float] | None = None
    for _ in range(samples):
        before = time.time() * 1000
        page_ms = await page.evaluate("performance.timeOrigin + performance.now()")
        after = time.time() * 1000
        trip = after - before
        if best is None or trip < best[1]:
            best = (page_ms - (before + after) / 2, trip)
    assert best is not None
    return {"offset_ms": round(best[0], 3), "round_trip_ms": round(best[1], 3)}


async def open_conversation(page: Page, conversation_id: int, marker: str) -> None:
    """Click the conversation's row (it reaches the list by the page's own live updates) and wait
    until its thread shows `marker`; then start watching the thread."""
    row = page.locator(f'#conversations [data-conversation-id="{conversation_id}"]')
    await row.wait_for(state="visible", timeout=30_000)
    await row.click()
    await page.locator("#thread li", has_text=marker).first.wait_for(state="visible", timeout=30_000)
    await page.evaluate(THREAD_PROBE)


async def seen_at(page: Page, marker: str, timeout: float = 30.0) -> float | None:
    """When (page wall clock, ms) `marker` appeared in the open thread; None after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        at = await page.evaluate("(m) => (window.__seen || {})[m] ?? null", marker)
        if at is not None:
            return float(at)
        await asyncio.sleep(0.05)  # polling only reads what the observer noted
    return None
