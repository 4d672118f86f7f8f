"""The built book in a real browser: every page loads its figures, typesets its maths, links nowhere broken,
and every section page follows the reading rules (tests/_reading_rules.py).

Headless Chromium (Debian's chromium and chromium-driver, scripts/provision_browser.sh)
driven by selenium, against the smoke-profile book served on 127.0.0.1. Screenshots of
every page are saved next to the build (``_build/screenshots``). The window is 1280 px
wide, the width at which the book's code column was measured (CODE_COLUMN_CHARS).
"""

import ast
import functools
import http.server
import json
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

import _reading_rules as rules
from _scripts import load_script

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
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


def _code_column_chars():
    return load_script("format_notebooks").CODE_COLUMN_CHARS


CODE_COLUMN_CHARS = _code_column_chars()

# How many characters of the code font fit in a code input block's content box.
MEASURE_COLUMN = """
const pre = document.querySelector('div.cell_input pre');
if (!pre) { return null; }
const style = getComputedStyle(pre);
const probe = document.createElement('span');
probe.style.font = style.font;
probe.style.whiteSpace = 'pre';
probe.textContent = 'x'.repeat(100);
pre.appendChild(probe);
const charWidth = probe.getBoundingClientRect().width / 100;
probe.remove();
const inner = pre.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
return inner / charWidth;
"""


def declared_parameters(built_book, stem) -> set:
    """Names assigned in the section's parameters cell (the executed copy if present, else the source)."""
    staged = built_book / "source" / "notebooks" / f"{stem}.ipynb"
    notebook = json.loads((staged if staged.exists() else ROOT / "notebooks" / f"{stem}.ipynb").read_text())
    names = set()
    for cell in notebook["cells"]:
        if "parameters" in cell["metadata"].get("tags", []):
            for node in ast.parse("".join(cell["source"])).body:
                if isinstance(node, ast.Assign):
                    names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names


def test_section_pages_follow_the_reading_rules(built_book, site, browser):
    problems = []
    for page in book_pages(built_book / "html"):
        if not page.startswith("notebooks/"):
            continue
        browser.get(site + page)
        stem = Path(page).stem
        found = rules.section_page_problems(browser.page_source, CODE_COLUMN_CHARS,
                                            declared_parameters(built_book, stem))
        found += rules.overflowing_code(browser.execute_script(rules.MEASURE_CODE_BLOCKS))
        problems += [f"{stem}: {problem}" for problem in found]
    assert not problems, f"{len(problems)} reading-rule violations:\n" + "\n".join(problems[:80])


def test_code_column_holds_code_column_chars(built_book, site, browser):
    page = next(p for p in book_pages(built_book / "html") if p.startswith("notebooks/"))
    browser.get(site + page)
    capacity = browser.execute_script(MEASURE_COLUMN)
    assert capacity is not None, f"{page} shows no code"
    assert CODE_COLUMN_CHARS <= capacity < CODE_COLUMN_CHARS + 4, (
        f"the code column holds {capacity:.1f} characters; CODE_COLUMN_CHARS is {CODE_COLUMN_CHARS}")


def test_overflow_measurement_catches_a_wide_block(browser):
    planted = ('<div class="cell_input"><pre style="width:300px;overflow:auto">short</pre></div>'
               '<div class="cell_input"><pre style="width:300px;overflow:auto">' + "wide " * 40 + "</pre></div>")
    browser.get("data:text/html;charset=utf-8," + urllib.parse.quote(planted))
    measured = browser.execute_script(rules.MEASURE_CODE_BLOCKS)
    assert len(measured) == 2
    problems = rules.overflowing_code(measured)
    assert len(problems) == 1 and "wide wide" in problems[0]
