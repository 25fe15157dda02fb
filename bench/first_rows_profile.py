"""Where the browser's time goes before the Data page's first row (issue 15.1, for whoever
takes the first-row figure further).

    .venv/bin/python bench/first_rows_profile.py [--url postgresql://…/dashapp_bench] [--rows N]

Samples Chromium's JavaScript profiler (CDP ``Profiler``) over one cold-profile visit of the
home page (to its cards: the baseline) and of ``/data?table=public.events`` (to its first
row), after one warm-up visit of each, and prints the sampled time by script, each page's
total next to the home page's.
"""

from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from first_rows import CARDS, FIRST_ROW  # noqa: E402
from grid import ensure_data, start_server  # noqa: E402

PAGES = (("/", CARDS), ("/data?table=public.events", FIRST_ROW))


def profile(browser: Any, base: str, path: str, ready: str) -> collections.Counter[str]:
    """Sampled milliseconds by script (or V8's own categories) over one visit."""
    ctx = browser.new_context()
    page = ctx.new_page()
    cdp = ctx.new_cdp_session(page)
    cdp.send("Profiler.enable")
    cdp.send("Profiler.setSamplingInterval", {"interval": 200})
    cdp.send("Profiler.start")
    page.goto(base + path)
    page.wait_for_function(ready, polling="raf", timeout=60_000)
    prof = cdp.send("Profiler.stop")["profile"]
    ctx.close()
    nodes = {n["id"]: n["callFrame"] for n in prof["nodes"]}
    spent: collections.Counter[str] = collections.Counter()
    for sample, delta in zip(prof["samples"], prof["timeDeltas"], strict=True):
        frame = nodes[sample]
        name = frame["url"].rsplit("/", 1)[-1].split("?")[0] or frame["functionName"]
        spent[name or "(native)"] += delta / 1000
    return spent


def main() -> None:
    """Print the profile of each page."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/dashapp_bench")
    parser.add_argument("--rows", type=int, default=10_000_000)
    args = parser.parse_args()
    ensure_data(args.url, args.rows)
    from playwright.sync_api import sync_playwright

    from tests.conftest import CHROMIUM_ARGS

    proc, base = start_server(args.url, workers=2)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            found = {}
            for path, ready in PAGES:
                profile(browser, base, path, ready)  # warm the server and the OS caches
                found[path] = profile(browser, base, path, ready)
            browser.close()
    finally:
        proc.terminate()
        proc.wait(30)
    home = sum(found["/"].values())
    for path, spent in found.items():
        total = sum(spent.values())
        print(f"{path}: {total:.0f} ms sampled, {total / home:.2f} x the home page's")
        for name, ms in spent.most_common(12):
            print(f"   {ms:6.0f} ms  {name}")


if __name__ == "__main__":
    main()
