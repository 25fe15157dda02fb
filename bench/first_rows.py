"""Figure 4 of bench/grid.py: the Data page's first row in headless Chromium (issue 15.1).

A fresh (cold) browser profile per visit, a warm server, the home page and the Data page
visited in turn: the time to the first row of data against the time to the home page's
cards, the chain of requests before the first block, and the bytes received.
"""

from __future__ import annotations

import json
import statistics
import time
from typing import Any

# A row of data drawn (not AG Grid's loading row, not a cell still being filled).
FIRST_ROW = (
    "() => [...document.querySelectorAll('.ag-row:not(.ag-row-loading) .ag-cell')]"
    ".some(c => c.textContent.trim() !== '' && c.offsetParent !== null)"
)
CARDS = "() => !!document.querySelector('#home-cards .card')?.offsetParent"


def request_name(req: Any, base: str) -> str:
    """A short name for a request in the chain."""
    if "_dash-update-component" in req.url:
        try:
            out = json.loads(req.post_data or "{}").get("output", "")
        except ValueError:
            out = ""
        first = out.strip(".").split("...")[0]
        block = " (block)" if '"startRow"' in (req.post_data or "") else ""
        return f"callback {first}{block}"
    path = req.url.replace(base, "")
    return path if len(path) < 70 else path[:67] + "..."


# A remote office on a VPN: 40 ms each way on top of loopback, 20 Mbit/s down, 5 up.
VPN = {"offline": False, "latency": 80, "downloadThroughput": 20e6 / 8, "uploadThroughput": 5e6 / 8}


def visit(
    browser: Any, base: str, path: str, ready: str, *, plain: bool = False, vpn: bool = False
) -> dict[str, Any]:
    """One visit with a fresh browser profile: time to ``ready``, requests, bytes received."""
    headers = {"Accept-Encoding": "identity"} if plain else None
    ctx = browser.new_context(extra_http_headers=headers)
    page = ctx.new_page()
    if vpn:
        cdp = ctx.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.emulateNetworkConditions", VPN)
    finished: list[Any] = []
    page.on("requestfinished", lambda req: finished.append(req))
    t0 = time.perf_counter()
    page.goto(base + path)
    page.wait_for_function(ready, polling="raf", timeout=120_000)
    elapsed = (time.perf_counter() - t0) * 1000
    page.wait_for_load_state("networkidle")
    got = 0
    spans = []
    for req in finished:
        sizes = req.sizes()
        got += sizes["responseBodySize"] + sizes["responseHeadersSize"]
        timing = req.timing
        if timing["responseEnd"] >= 0:
            spans.append((timing["startTime"], timing["startTime"] + timing["responseEnd"], req))
    ctx.close()
    return {"ms": elapsed, "bytes": got, "spans": spans}


# What a block request can wait on: the page, its scripts and styles, Dash's requests. Fonts
# and images never hold a grid back.
GATING = ("document", "script", "stylesheet", "fetch", "xhr")


def request_chain(spans: list[tuple[float, float, Any]], base: str) -> list[str]:
    """From the navigation to the first block's answer: each request after the last response
    (of a kind that can gate it) that arrived before it left, and the time between them (the
    browser's own work: evaluating scripts, rendering, the grid setting itself up)."""
    blocks = [s for s in spans if "(block)" in request_name(s[2], base)]
    if not blocks:
        return ["(no block request seen)"]
    t0 = min(s[0] for s in spans)
    step = min(blocks, key=lambda s: s[0])
    chain = [step]
    while True:
        before = [
            s
            for s in spans
            if s[1] <= step[0] + 1 and s is not step and s[2].resource_type in GATING
        ]
        if not before:
            break
        step = max(before, key=lambda s: s[1])
        chain.append(step)
    lines, previous_end = [], None
    for start, end, req in reversed(chain):
        gap = "" if previous_end is None else f"  (+{start - previous_end:.0f} ms before it left)"
        lines.append(f"{start - t0:7.0f} – {end - t0:5.0f} ms  {request_name(req, base)}{gap}")
        previous_end = end
    return lines


def p50(xs: list[float]) -> float:
    """Median."""
    return statistics.median(xs)


def browser_figure(base: str, visits: int) -> None:
    """First row on /data?table=public.events vs the home page's cards; chain; bytes."""
    from playwright.sync_api import sync_playwright

    from tests.conftest import CHROMIUM_ARGS

    data_path = "/data?table=public.events"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        # Warm the server: every worker compresses the files once, reflects, counts.
        for _ in range(3):
            visit(browser, base, data_path, FIRST_ROW)
            visit(browser, base, "/", CARDS)
        home, data = [], []
        for _ in range(visits):  # interleaved, so both see the same machine load
            home.append(visit(browser, base, "/", CARDS))
            data.append(visit(browser, base, data_path, FIRST_ROW))
        plain = visit(browser, base, data_path, FIRST_ROW, plain=True)
        vpn_home, vpn_data = [], []
        for _ in range(3):
            vpn_home.append(visit(browser, base, "/", CARDS, vpn=True)["ms"])
            vpn_data.append(visit(browser, base, data_path, FIRST_ROW, vpn=True)["ms"])
        browser.close()
    h = p50([v["ms"] for v in home])
    d = p50([v["ms"] for v in data])
    print(f"\n4. headless Chromium, a fresh browser profile per visit, median of {visits}")
    print(f"   home page, cards shown                 {h:7.0f} ms (baseline)")
    print(f"   {data_path}, first row  {d:7.0f} ms  ratio {d / h:.2f}  (target <= 1.2)")
    print(f"   (all visits: home {[round(v['ms']) for v in home]},")
    print(f"                data {[round(v['ms']) for v in data]})")
    median_visit = sorted(data, key=lambda v: v["ms"])[len(data) // 2]
    chain = request_chain(median_visit["spans"], base)
    print(f"   sequential requests to the first block's answer ({len(chain)}), median visit:")
    for line in chain:
        print(f"     {line}")
    got = p50([v["bytes"] for v in data])
    print(
        f"   bytes received for the visit {got / 1e6:.2f} MB; with compression refused"
        f" {plain['bytes'] / 1e6:.2f} MB; ratio {got / plain['bytes']:.2f}"
        f" (target <= 0.40 of the 4.2 MB the issue measured: {got / 4.2e6:.2f})"
    )
    vh, vd = p50(vpn_home), p50(vpn_data)
    print(
        "   the same on a link like a VPN's (80 ms round trip, 20 Mbit/s down), median of 3:"
        f" home {vh:.0f} ms, data {vd:.0f} ms, ratio {vd / vh:.2f}"
    )
