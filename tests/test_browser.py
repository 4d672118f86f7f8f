"""The built book in a real browser: every page loads its figures, typesets its maths, links nowhere broken.

Headless Chromium (Debian's chromium and chromium-driver, scripts/provision_browser.sh)
driven by selenium, against the smoke-profile book served on 127.0.0.1. Screenshots of
every page are saved next to the build (``_build/screenshots``).
"""

import functools
import http.server
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-quic")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site(built_book):
    handler = functools.partial(_QuietHandler, directory=str(built_book / "html"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    for tool in (CHROMIUM, CHROMEDRIVER):
        assert Path(tool).exists(), f"{tool} is missing: run scripts/provision_browser.sh"
    options = Options()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium')}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_window_size(1280, 1800)
    driver.set_script_timeout(60)
    yield driver
    driver.quit()


def book_pages(html: Path) -> list[str]:
    pages = ["index.html"]
    for folder in ("book", "notebooks"):
        pages += sorted(str(p.relative_to(html)) for p in (html / folder).glob("*.html"))
    return pages


WAIT_FOR_MATHJAX = """
const done = arguments[arguments.length - 1];
if (!window.MathJax || !MathJax.startup || !MathJax.startup.promise) { done("absent"); return; }
MathJax.startup.promise.then(() => done("ok"), (e) => done("error: " + e));
"""


def test_every_page_renders(built_book, site, browser):
    html = built_book / "html"
    shots = built_book / "screenshots"
    shots.mkdir(exist_ok=True)
    pages = book_pages(html)
    assert len(pages) >= 5
    problems = []
    for page in pages:
        browser.get(site + page)
        status = browser.execute_async_script(WAIT_FOR_MATHJAX)
        images = browser.execute_script(
            "return Array.from(document.images).map(i => [i.getAttribute('src'), i.naturalWidth]);")
        broken = [src for src, width in images if not width]
        if broken:
            problems.append(f"{page}: images that did not load: {broken}")
        math = browser.execute_script("return document.querySelectorAll('.math').length;")
        typeset = browser.execute_script("return document.querySelectorAll('mjx-container').length;")
        errors = browser.execute_script("return document.querySelectorAll('mjx-merror').length;")
        if math and (status != "ok" or typeset < math or errors):
            problems.append(f"{page}: maths not typeset (MathJax {status}, {typeset} of {math}, {errors} errors)")
        browser.save_screenshot(str(shots / (page.replace("/", "_").removesuffix(".html") + ".png")))
    assert not problems, "\n".join(problems)
    assert list(shots.glob("*.png"))


def test_section_pages_show_figures_and_maths(built_book, site, browser):
    for page in book_pages(built_book / "html"):
        if not page.startswith("notebooks/"):
            continue
        browser.get(site + page)
        browser.execute_async_script(WAIT_FOR_MATHJAX)
        widths = browser.execute_script(
            "return Array.from(document.querySelectorAll('figure img, .cell_output img')).map(i => i.naturalWidth);")
        assert widths and min(widths) > 100, f"{page}: figure widths {widths}"
        assert browser.execute_script("return document.querySelectorAll('mjx-container').length;") > 0, page


def test_no_broken_internal_links(built_book, site):
    html = built_book / "html"
    checked, broken = set(), []
    for page in book_pages(html):
        text = (html / page).read_text()
        for href in re.findall(r'<a[^>]+href="([^"]+)"', text):
            url = urllib.parse.urljoin(site + page, href)
            if not url.startswith(site):
                continue
            target, _, fragment = url.partition("#")
            if (target, fragment) in checked:
                continue
            checked.add((target, fragment))
            try:
                with urllib.request.urlopen(target) as response:
                    body = response.read().decode("utf-8", "replace")
            except urllib.error.HTTPError as error:
                broken.append(f"{page} → {href} ({error.code})")
                continue
            if fragment and f'id="{urllib.parse.unquote(fragment)}"' not in body:
                broken.append(f"{page} → {href} (no element with id {fragment!r})")
    assert checked, "no internal links found"
    assert not broken, "\n".join(broken)
