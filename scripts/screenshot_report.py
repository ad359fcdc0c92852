"""Screenshot a report's HTML page in headless Chromium (Debian's ``chromium``, driven by playwright).

    .venv/bin/python scripts/screenshot_report.py runs/quickstart.json docs/report.png --hover 3

Writes the page next to the PNG (``.html``), opens it, optionally hovers the
strongest word of instance N (1-based) so the tooltip shows, and saves a
full-page screenshot. Every connection the browser tries goes to a closed
port on loopback (``--proxy-server``), so nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from proxyx.view.html import write_html

FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-features=NetworkTimeServiceQuerying",
         "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("report", type=Path, help="a report from 'proxyx explain' or bench.json")
    ap.add_argument("png", type=Path, help="where to write the screenshot")
    ap.add_argument("--width", type=int, default=1200)
    ap.add_argument("--limit", type=int, default=None, help="show at most N instances")
    ap.add_argument("--hover", type=int, default=None, help="hover the strongest word of instance N (1-based)")
    args = ap.parse_args()

    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    page_path = write_html(args.report, args.png.with_suffix(".html"), limit=args.limit)
    with tempfile.TemporaryDirectory() as profile, sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(profile, executable_path=chromium, headless=True, args=FLAGS,
                                                        viewport={"width": args.width, "height": 800})
        page = context.pages[0] if context.pages else context.new_page()
        page.goto(page_path.resolve().as_uri())
        if args.hover:
            spans = page.locator(f"article:nth-of-type({args.hover}) figure").first.locator(".u")
            values = [abs(float(v)) for v in spans.evaluate_all("els => els.map(e => e.dataset.v)")]
            spans.nth(max(range(len(values)), key=values.__getitem__)).hover()
        page.screenshot(path=str(args.png), full_page=True)
        context.close()
    print(f"page: {page_path}\nscreenshot: {args.png}")


if __name__ == "__main__":
    main()
