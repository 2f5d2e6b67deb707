"""The documentation site, opened in headless Chromium as a reader would see it.

The site is served from localhost and every page below is loaded with all other
network access blocked. For each page the test asserts that

* math is rendered (KaTeX output present, no raw ``\\(``, ``\\[`` or ``$$`` in the text),
* every image loaded (``naturalWidth > 0``) and the KaTeX fonts loaded,
* the browser logged no console error, no page error and no failed local request,
* no request tried to leave localhost,
* long code lines scroll inside their block instead of widening the page.

Which site: ``REDIST_DOCS_HTML`` (``make test`` sets it to the build it just made);
otherwise the test builds the docs into a temporary folder first (about a minute).

Needs Chromium (Debian package ``chromium``; another binary via ``REDIST_CHROMIUM``)
and the ``playwright`` Python package (docs dependency group); without them the test
is skipped locally and **fails** in CI (``CI`` set), where ``.ci/run`` installs them.
``REDIST_DOCS_SCREENSHOTS=DIR`` also writes the screenshots to DIR (the committed
ones in ``docs/_static/screenshots`` are made with ``DIR=docs/_static/screenshots``).
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# page -> (does it show math?, least number of images: figures of executed cells count)
PAGES = {
    "index.html": (True, 0),
    "tutorials/theory-basics.html": (True, 3),
    "tutorials/analysts-belle2.html": (True, 2),
    "tutorials/analysts-own-analysis.html": (True, 1),
    "tutorials/pyhf-patchsets.html": (False, 0),
    "tutorials/theorists-wilson-fits.html": (True, 1),
    "tutorials/theorists-plugin.html": (True, 0),
    "tutorials/theorists-dark-sector.html": (False, 0),
    "tutorials/fm-pipeline.html": (False, 0),
    "physics.html": (True, 0),
    "tutorials/index.html": (False, 0),
    "belle2.html": (False, 3),
    "statistics.html": (False, 6),
    "theories.html": (False, 0),
    "workspaces.html": (False, 0),
    "cli.html": (False, 0),
    "api.html": (False, 0),
    "api/redist.html": (False, 0),
    "api/theories.wet.html": (True, 0),
    "developer/physics-notes.html": (False, 0),
    "developer/docs.html": (False, 4),
}
SCREENSHOTS = {
    "landing.png": ("index.html", "light", None),
    "landing-dark.png": ("index.html", "dark", None),
    "tutorial-theory-basics.png": ("tutorials/theory-basics.html", "light", "the-differential-rate"),
    "physics.png": ("physics.html", "light", "the-reweighting-method"),
}


def _chromium() -> str | None:
    return os.environ.get("REDIST_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def _require_browser() -> str:
    """Path of Chromium; skip (locally) or fail (CI) when Chromium or playwright is missing."""
    missing = []
    exe = _chromium()
    if exe is None:
        missing.append("Chromium (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("playwright (pip install --group docs)")
    if missing:
        reason = "browser check needs " + " and ".join(missing)
        # required where CI built the site for it (make test-full sets REDIST_DOCS_HTML); the
        # numpy-only suite has neither playwright nor a docs build and skips
        if os.environ.get("CI") and os.environ.get("REDIST_DOCS_HTML"):
            pytest.fail(f"{reason}; CI must run it (.ci/run installs Chromium)")
        pytest.skip(reason)
    assert exe is not None
    return exe


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Folder of the built HTML site."""
    _require_browser()
    given = os.environ.get("REDIST_DOCS_HTML")
    if given:
        path = Path(given).resolve()
        assert (path / "index.html").is_file(), f"REDIST_DOCS_HTML={given} holds no built site"
        return path
    out = tmp_path_factory.mktemp("html")
    cmd = [
        sys.executable,
        "-m",
        "sphinx",
        "-q",
        "-b",
        "html",
        "-W",
        "--keep-going",
        str(ROOT / "docs"),
        str(out),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, f"docs build failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return out


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def base_url(site: Path) -> Iterator[str]:
    """The site served on localhost (a random free port) for the duration of the module."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser(base_url: str) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    exe = _require_browser()
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=exe, headless=True, args=CHROMIUM_FLAGS)
        try:
            yield b
        finally:
            b.close()


# visible text of <main> without code (code may legitimately show TeX or shell `$`)
_TEXT_JS = """() => {
  const main = document.querySelector('main') || document.body;
  const c = main.cloneNode(true);
  c.querySelectorAll('pre, code, .katex-mathml, script, style').forEach(e => e.remove());
  document.body.appendChild(c);
  const t = c.innerText;
  c.remove();
  return t;
}"""
_IMAGES_JS = """async () => {
  const imgs = Array.from(document.images);
  await Promise.all(imgs.map(i => i.complete ? null : i.decode().catch(() => null)));
  return imgs.map(i => ({src: i.currentSrc || i.src, ok: i.complete && i.naturalWidth > 0}));
}"""
_FONTS_JS = """async () => {
  await document.fonts.ready;
  const used = document.querySelector('.katex') !== null;
  const faces = Array.from(document.fonts).filter(f => f.family.replace(/"/g, '').startsWith('KaTeX'));
  return {used, loaded: faces.filter(f => f.status === 'loaded').length,
          failed: faces.filter(f => f.status === 'error').map(f => f.family)};
}"""
_CODE_JS = """() => Array.from(document.querySelectorAll('div.highlight pre')).filter(p => {
  const s = getComputedStyle(p);
  const scrolls = s.overflowX === 'auto' || s.overflowX === 'scroll';
  const wraps = s.whiteSpace.startsWith('pre-wrap') || s.whiteSpace === 'break-spaces';
  return !(scrolls || wraps);
}).length"""
_WIDTH_JS = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
# display equations whose start is cut off on the left (centred content wider than its box)
_CUT_MATH_JS = """() => Array.from(document.querySelectorAll('div.math')).filter(d => {
  const k = d.querySelector('.katex-html') || d.firstElementChild;
  return k && k.getBoundingClientRect().left < d.getBoundingClientRect().left - 1;
}).length"""


def _open(browser: object, base_url: str, page_path: str, theme: str = "light"):
    """Open one page with everything but localhost blocked; returns (page, problems)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme=theme)  # type: ignore[attr-defined]
    problems: dict[str, list[str]] = {"console": [], "external": [], "failed": []}

    def route(r: object) -> None:
        url = r.request.url  # type: ignore[attr-defined]
        if url.startswith(base_url) or url.startswith("data:") or url.startswith("blob:"):
            r.continue_()  # type: ignore[attr-defined]
        else:
            problems["external"].append(url)
            r.abort()  # type: ignore[attr-defined]

    context.route("**/*", route)
    page = context.new_page()
    page.on("console", lambda m: m.type == "error" and problems["console"].append(m.text))
    page.on("pageerror", lambda e: problems["console"].append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems["failed"].append(f"{r.url} ({r.failure})"))
    page.on("response", lambda r: r.status >= 400 and problems["failed"].append(f"{r.url} ({r.status})"))
    page.goto(base_url + page_path, wait_until="networkidle")
    return context, page, problems


@pytest.mark.parametrize("page_path", list(PAGES))
def test_page_renders_offline(browser: object, base_url: str, page_path: str) -> None:
    context, page, problems = _open(browser, base_url, page_path)
    try:
        text = page.evaluate(_TEXT_JS)
        for raw in ("\\[", "\\(", "$$", "\\frac", "\\sum"):
            assert raw not in text, f"{page_path}: raw TeX {raw!r} in the visible text (math not rendered)"
        n_math = page.locator(".katex").count()
        has_math, min_images = PAGES[page_path]
        if has_math:
            assert n_math > 0, f"{page_path}: expected rendered math, found no .katex element"
        assert page.locator(".katex-error").count() == 0, f"{page_path}: KaTeX could not parse a formula"
        assert page.evaluate(_CUT_MATH_JS) == 0, f"{page_path}: a display equation is cut off on the left"
        fonts = page.evaluate(_FONTS_JS)
        if fonts["used"]:
            assert fonts["loaded"] > 0 and not fonts["failed"], f"{page_path}: KaTeX fonts {fonts}"
        images = page.evaluate(_IMAGES_JS)
        broken = [i["src"] for i in images if not i["ok"]]
        assert not broken, f"{page_path}: images that did not load: {broken}"
        assert len(images) >= min_images, f"{page_path}: {len(images)} images, expected >= {min_images}"
        assert page.evaluate(_CODE_JS) == 0, f"{page_path}: a code block neither scrolls nor wraps"
        assert page.evaluate(_WIDTH_JS) <= 0, f"{page_path}: the page is wider than the window"
        assert not problems["external"], f"{page_path}: requests left localhost: {problems['external']}"
        assert not problems["failed"], f"{page_path}: failed requests: {problems['failed']}"
        assert not problems["console"], f"{page_path}: console errors: {problems['console']}"
    finally:
        context.close()


def test_dark_mode_and_switcher(browser: object, base_url: str) -> None:
    """The theme follows the reader's dark preference and the version switcher is filled."""
    backgrounds = {}
    for theme in ("light", "dark"):
        context, page, problems = _open(browser, base_url, "index.html", theme)
        try:
            assert page.evaluate("() => document.documentElement.dataset.theme") == theme
            backgrounds[theme] = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
            page.wait_for_selector(".version-switcher__menu a", state="attached", timeout=10_000)
            assert page.locator(".version-switcher__menu a").count() >= 1
            assert not problems["console"] and not problems["external"], problems
        finally:
            context.close()
    assert backgrounds["light"] != backgrounds["dark"], backgrounds


def test_screenshots(browser: object, base_url: str, tmp_path: Path) -> None:
    """Screenshots of the main pages (PNG); written to REDIST_DOCS_SCREENSHOTS when set."""
    target = os.environ.get("REDIST_DOCS_SCREENSHOTS")
    out = Path(target) if target else tmp_path
    out.mkdir(parents=True, exist_ok=True)
    for name, (page_path, theme, anchor) in SCREENSHOTS.items():
        context, page, _ = _open(browser, base_url, page_path, theme)
        try:
            if anchor:
                page.locator(f"#{anchor}").scroll_into_view_if_needed()
                page.evaluate(f"() => document.getElementById('{anchor}').scrollIntoView()")
            page.screenshot(path=str(out / name))
        finally:
            context.close()
        data = (out / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000, name
