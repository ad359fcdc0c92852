"""The report page in a real browser: Debian's headless Chromium, driven by playwright.

Nothing leaves the machine: every connection the browser opens goes to a trap
on loopback (``--proxy-server``, loopback not bypassed) that records it and
answers nothing. The page passes when it asked for nothing but its own file
and the trap saw no host but Chromium's own start-up services (component
updater, account check: they call out before any page is opened, whatever
the flags).
"""

from __future__ import annotations

import shutil
import socket
import struct
import threading
from pathlib import Path

import pytest

from proxyx.view.html import write_html
from proxyx.view.style import signed

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not Path(CHROMIUM).is_file():
    pytest.skip("headless browser test: Debian's chromium is not installed (apt-get install -y chromium)",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="headless browser test: pip install playwright "
                               "(it drives /usr/bin/chromium; no 'playwright install' needed)")

BROWSER_OWN = {"update.googleapis.com", "accounts.google.com", "clients2.google.com"}
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-features=NetworkTimeServiceQuerying"]


class Trap:
    """A TCP listener on loopback that records the first line of every connection (the browser's proxy:
    any request lands here, and none goes further)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.requests: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            conn.settimeout(1)
            try:
                first = conn.recv(2048).split(b"\r\n", 1)[0].decode("latin-1")
            except OSError:
                first = "(nothing sent)"
            self.requests.append(first)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()

    def hosts(self) -> set[str]:
        """The hosts asked for: 'CONNECT host:443 ...' or 'GET http://host/path ...'."""
        out = set()
        for line in self.requests:
            if not line.strip():
                continue  # a connection closed before its request line: it asked for no host
            parts = line.split()
            target = parts[1] if len(parts) > 1 else line
            out.add(target.split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0])
        return out

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


@pytest.fixture
def browser_page(tmp_path):
    trap = Trap()
    with sync_api.sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True,
            args=FLAGS + [f"--proxy-server=http://127.0.0.1:{trap.port}", "--proxy-bypass-list=<-loopback>"],
            viewport={"width": 1200, "height": 900})
        page = context.pages[0] if context.pages else context.new_page()
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        try:
            yield page, requests, trap
        finally:
            context.close()
            trap.close()


def test_page_in_chromium(browser_page, report_path, report, tmp_path):
    page, requests, trap = browser_page
    html = write_html(report_path, tmp_path / "report.html")
    page.goto(html.as_uri())
    page.wait_for_load_state("load")

    # One span per unit with the report's exact value, in every explanation of every instance.
    dom = page.evaluate("""() => Array.from(document.querySelectorAll('article')).map(a => ({
        id: a.dataset.id,
        figures: Array.from(a.querySelectorAll('figure')).map(f => ({
            role: f.dataset.role,
            values: Array.from(f.querySelectorAll('.u')).map(u => parseFloat(u.dataset.v)),
            words: Array.from(f.querySelectorAll('.u')).map(u => u.textContent)}))}))""")
    assert [a["id"] for a in dom] == [e["id"] for e in report["instances"]]
    for article, entry in zip(dom, report["instances"]):
        expected = [(entry["role"], entry["attribution"])]
        if entry["role"] == "proxy" and entry.get("oracle_attribution") is not None:
            expected.append(("oracle", entry["oracle_attribution"]))
        assert [(f["role"], f["values"]) for f in article["figures"]] == expected
        assert all(f["words"] == entry["units"] for f in article["figures"])

    # Hover the strongest word of an instance explained twice: its value shows, and its twin is outlined.
    n, entry = next((n, e) for n, e in enumerate(report["instances"]) if e.get("oracle_attribution"))
    i = max(range(len(entry["units"])), key=lambda k: abs(entry["attribution"][k]))
    article = page.locator("article").nth(n)
    article.locator(f'figure[data-role="proxy"] .u[data-i="{i}"]').hover()
    tip = page.locator("#tip")
    assert tip.is_visible()
    assert tip.inner_text().startswith(f"{entry['units'][i]}: {signed(entry['attribution'][i])} ")
    twin = article.locator(f'figure[data-role="oracle"] .u[data-i="{i}"]')
    assert "hl" in (twin.get_attribute("class") or "").split()
    assert twin.get_attribute("title") is None and twin.get_attribute("data-t")  # no double tooltip

    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot), full_page=True)
    png = shot.read_bytes()
    width, height = struct.unpack(">II", png[16:24])
    assert png.startswith(b"\x89PNG") and width == 1200 and height > 900

    page.mouse.move(0, 0)
    assert not tip.is_visible()
    page.wait_for_timeout(500)  # let anything the page might fetch late try
    assert requests == [html.as_uri()], requests
    assert trap.hosts() <= BROWSER_OWN, "\n".join(trap.requests)


def test_the_trap_sees_a_request_that_would_leave(browser_page, tmp_path):
    """The check above can fail: a page that loads an image from elsewhere trips it (the trap answers, not the host)."""
    page, requests, trap = browser_page
    leaky = tmp_path / "leaky.html"
    leaky.write_text('<!doctype html><p>hi</p><img src="http://example.invalid/pixel.png">', encoding="utf-8")
    page.goto(leaky.as_uri())
    page.wait_for_timeout(1000)
    assert "http://example.invalid/pixel.png" in requests
    assert "example.invalid" in trap.hosts() - BROWSER_OWN, trap.requests
