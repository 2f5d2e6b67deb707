"""Sphinx configuration of the redist documentation.

Theme: pydata-sphinx-theme (light/dark, version switcher, wide code blocks that
scroll). Math: KaTeX, rendered at build time by node when it is on PATH (no
JavaScript needed in the reader's browser), else by the same KaTeX in the browser;
the CSS and fonts are committed under ``_static/katex`` so pages never fetch
anything from the network. Tutorials are MyST-NB notebooks executed at build time
with a jupyter-cache (see ``developer/docs.md``).

Environment switches (all optional):

``REDIST_DOCS_EXECUTE``
    ``cache`` (default), ``force``, ``off`` (tutorials show no outputs).
``REDIST_DOCS_KATEX_PRERENDER``
    ``auto`` (default: prerender when ``node`` is found), ``1`` (require it), ``0``.
``REDIST_DOCS_VERSION``
    version name matched in the version switcher (default: the package version).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from importlib.metadata import version as _dist_version
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))  # api_pages, tutorial_results

project = "redist"
author = "the redist developers"
copyright = "2026, the redist developers"
release = _dist_version("redist")
version = ".".join(release.split(".")[:2])

extensions = [
    "myst_nb",  # MyST Markdown + executed notebooks (includes myst_parser)
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "sphinx.ext.intersphinx",
    "sphinxcontrib.katex",
    "sphinx_copybutton",
    "sphinx_design",
    "api_pages",  # docs/_ext/api_pages.py: one page per public module from __all__
]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "_scripts", "_ext", "_static", "**/_results", "Thumbs.db", ".DS_Store"]
suppress_warnings = ["myst.header"]
nitpicky = False

# -- MyST ------------------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist", "substitution"]
myst_heading_anchors = 3  # `[redist fit](#redist-fit)` works on GitHub and in Sphinx
myst_dmath_double_inline = True

# -- tutorials: executed at build time, cached --------------------------------------
_execute = os.environ.get("REDIST_DOCS_EXECUTE", "cache")
if _execute not in {"cache", "force", "off"}:
    msg = f"REDIST_DOCS_EXECUTE={_execute!r}; use cache, force or off"
    raise ValueError(msg)
nb_execution_mode = _execute
nb_execution_cache_path = str(DOCS / "_build" / ".jupyter_cache")
nb_execution_timeout = 600  # per cell; long runs are stored results (tutorial_results)
nb_execution_raise_on_error = True  # a failing tutorial fails the build
nb_execution_show_tb = True
nb_merge_streams = True
nb_kernel_rgx_aliases = {".*": "python3"}
# the kernel runs the Python that runs Sphinx (a user-level "python3" kernelspec elsewhere would
# otherwise take precedence and may lack redist): a kernelspec first on JUPYTER_PATH
_jupyter = DOCS / "_build" / "jupyter"
(_jupyter / "kernels" / "python3").mkdir(parents=True, exist_ok=True)
(_jupyter / "kernels" / "python3" / "kernel.json").write_text(
    json.dumps(
        {
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3 (redist docs)",
            "language": "python",
        }
    ),
    encoding="utf-8",
)
os.environ["JUPYTER_PATH"] = os.pathsep.join(p for p in (str(_jupyter), os.environ.get("JUPYTER_PATH", "")) if p)
# kernels find the docs helpers and draw without a display
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (str(DOCS / "_ext"), os.environ.get("PYTHONPATH", "")) if p
)
# figures of executed cells become outputs only with the inline backend (CI exports MPLBACKEND=Agg)
os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"

# -- API reference ------------------------------------------------------------------
# Docstrings that write an absolute value as |x| read as reST substitutions; until they are
# written as ``|x|`` or :math:, these keep the -W build green and render the text as written.
# (redist/simulate.py module docstring: |dz|; redist/diagnostics.py BinningReport.table: |deviation|)
rst_prolog = "\n".join(rf".. |{w}| replace:: \|{w}\|" for w in ("dz", "deviation")) + "\n"
autosummary_generate = True
autosummary_ignore_module_all = False  # document what a module's __all__ exports, nothing else
autosummary_imported_members = False
autodoc_default_options = {"members": True}
autodoc_typehints = "description"
autodoc_member_order = "bysource"
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
intersphinx_mapping = {}  # no network at build time: cross-project links are written out

# -- math: KaTeX, no network --------------------------------------------------------
import sphinxcontrib.katex as _katex  # noqa: E402

_KATEX_VENDORED = "0.16.22"  # version of _static/katex/katex.min.css and fonts
if _katex.katex_version != _KATEX_VENDORED:
    msg = (
        f"sphinxcontrib-katex renders with KaTeX {_katex.katex_version} but docs/_static/katex holds "
        f"{_KATEX_VENDORED}; update the vendored CSS and fonts (docs/_static/katex/README.md)"
    )
    raise RuntimeError(msg)
_prerender = os.environ.get("REDIST_DOCS_KATEX_PRERENDER", "auto")
if _prerender == "auto":
    katex_prerender = shutil.which("node") is not None
else:
    katex_prerender = _prerender == "1"
    if katex_prerender and shutil.which("node") is None:
        msg = "REDIST_DOCS_KATEX_PRERENDER=1 needs node on PATH"
        raise RuntimeError(msg)
katex_css_path = "katex/katex.min.css"


def _start_katex_server(cls, rundir, timeout):
    """Start sphinxcontrib-katex's node server and connect, retrying while it starts listening.

    The extension connects once the socket file exists, which on a loaded machine can be
    before node listens on it (ConnectionRefusedError); this retries until ``timeout``.
    """
    import socket
    import subprocess
    import time

    path = Path(rundir) / "katex.sock"
    proc = subprocess.Popen(cls.build_command(socket=path), stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=rundir)
    deadline = time.monotonic() + max(timeout, 30.0)
    while True:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(str(path))
            return proc, sock
        except (FileNotFoundError, ConnectionRefusedError):
            sock.close()
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise _katex.KaTeXError(f"the KaTeX server (node) did not start within {timeout} s") from None
            time.sleep(0.01)


_katex.KaTeXServer.start_server_process = classmethod(_start_katex_server)
katex_options = r"""{macros: {"\\dd": "\\mathrm{d}"}}"""

# -- HTML ----------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"redist {release}"
html_static_path = ["_static"]
html_css_files = ["redist.css"]
html_last_updated_fmt = None
html_show_sourcelink = False
html_context = {"default_mode": "auto"}  # follow the reader's light/dark preference
html_theme_options = {
    "navbar_align": "left",
    "navbar_end": ["version-switcher", "theme-switcher"],
    "switcher": {
        # resolved against the documentation root, so it works offline and on any host;
        # a hosted site lists its versions in this file (see developer/docs.md)
        "json_url": "_static/switcher.json",
        "version_match": os.environ.get("REDIST_DOCS_VERSION", release),
    },
    "check_switcher": False,  # a build never touches the network
    "show_version_warning_banner": False,
    "header_links_before_dropdown": 5,
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
    "secondary_sidebar_items": ["page-toc"],
}

# -- copy buttons: copy commands, not prompts or outputs ----------------------------
copybutton_prompt_text = r">>> |\.\.\. |\$ "
copybutton_prompt_is_regexp = True
copybutton_exclude = ".linenos, .gp, .go"
