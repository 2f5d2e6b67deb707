"""The HTML report opened in headless Chromium (Playwright), as a reader would see it.

The report is served from localhost and every other request is blocked and
recorded. The test asserts that the page renders its tables and every embedded
figure, makes no request at all besides the page itself (figures are ``data:``
URIs, the style is inline), logs no console error (the page's Content-Security-
Policy would report a blocked resource there), and fits the window.
``REDIST_REPORT_SCREENSHOT=FILE`` also saves a screenshot (the committed one is
``docs/_static/report.png``). Chromium and playwright as for tests/test_docs_browser.py.
"""

from __future__ import annotations

import functools
import http.server
import os
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

import redist
from redist.cli import main

from .hostile.test_cli_args import toy_model
from .test_docs_browser import CHROMIUM_FLAGS, _require_browser

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory) -> Path:
    """A report of a fit, a 1D and a 2D scan of the toy model, written by `redist report`."""
    _require_browser()
    d = tmp_path_factory.mktemp("report")
    model = d / "toy.json"
    redist.save(model, toy_model())
    runner = CliRunner()
    common = ["--fix", "cSL=0", "--backend", "numpy", "-q"]
    runs = {
        "fit": ["fit", str(model), *common],
        "scan": ["scan", str(model), "--par", "cVL=2:18:9", *common, "--fix", "cTL=0", "--fix-groups"],
        "contour": [
            "scan",
            str(model),
            "--par",
            "cVL=2:18:6",
            "--par",
            "cTL=0:12:5",
            *common,
            "--fix-groups",
        ],
    }
    for name, args in runs.items():
        r = runner.invoke(main, [*args, "-o", str(d / f"{name}.json")])
        assert r.exit_code == 0, r.output
    r = runner.invoke(
        main,
        [
            "report",
            *(str(d / f"{n}.json") for n in runs),
            "-o",
            str(d / "report.html"),
            "--title",
            "redist report: toy model",
            "-q",
        ],
    )
    assert r.exit_code == 0, r.output
    return d


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def test_report_renders_offline(report_dir: Path) -> None:
    from playwright.sync_api import sync_playwright

    handler = functools.partial(_Quiet, directory=str(report_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    requests: list[str] = []
    console: list[str] = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=_require_browser(), headless=True, args=CHROMIUM_FLAGS
            )
            try:
                context = browser.new_context(viewport={"width": 1280, "height": 900})

                def route(r: object) -> None:
                    url = r.request.url  # type: ignore[attr-defined]
                    requests.append(url)
                    if url.startswith(base) or url.startswith("data:"):
                        r.continue_()  # type: ignore[attr-defined]
                    else:
                        r.abort()  # type: ignore[attr-defined]

                context.route("**/*", route)
                page = context.new_page()
                page.on("console", lambda m: m.type == "error" and console.append(m.text))
                page.on("pageerror", lambda e: console.append(str(e)))
                page.goto(base + "report.html", wait_until="networkidle")
                assert page.title() == "redist report: toy model"
                headings = page.locator("h2").all_inner_texts()
                assert headings == [
                    "Maximum-likelihood fit",
                    "Profile-likelihood scan",
                    "Profile-likelihood scan",
                    "This report",
                ]
                assert page.locator("table").count() == 3
                cells = page.locator("table td").all_inner_texts()
                assert "cVL" in cells and "bkg_norm" in cells
                images = page.evaluate("""async () => {
                  const imgs = Array.from(document.images);
                  await Promise.all(imgs.map(i => i.complete ? null : i.decode().catch(() => null)));
                  return imgs.map(i => ({alt: i.alt, ok: i.complete && i.naturalWidth > 100}));
                }""")
                assert [i["alt"] for i in images] == ["pulls", "correlation", "profile", "contour"]
                assert all(i["ok"] for i in images), images
                width = page.evaluate(
                    "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
                )
                assert width <= 0, "the report is wider than the window"
                assert page.locator("details summary").first.inner_text() == "Provenance"
                shot = os.environ.get("REDIST_REPORT_SCREENSHOT")
                if shot:
                    page.screenshot(path=shot, full_page=False)
                context.close()
            finally:
                browser.close()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
    # the page itself and nothing else (data: URIs are not requests)
    assert [u for u in requests if not u.startswith("data:")] == [base + "report.html"], requests
    assert not console, console
