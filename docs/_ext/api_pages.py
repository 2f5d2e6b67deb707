"""Sphinx extension: one API page per public module, generated from ``__all__``.

At ``builder-inited`` every module of the documented packages (``redist``,
``theories``) that is public (no ``_`` in its dotted name, not the CLI, which
``cli.md`` documents) is imported and gets ``api/<module>.rst``:

* the module docstring;
* an ``autosummary`` table of everything in its ``__all__``;
* an autodoc entry for each exported object whose **home** is this module.

An object's home is the shallowest public module that exports it, which is where
users import it from: ``redist.JointDensity`` is documented on the ``redist`` page,
and ``redist.density``'s table links there. So every object is documented once,
and only what some ``__all__`` exports is documented at all. A module that fails to
import is a build warning (an error under ``-W``), naming the module.

The generated files live in ``docs/api/`` (git-ignored) and are brought up to date
on every build, so new, renamed and removed modules need no edit here;
``api/modules.rst.inc`` is the table that ``api.md`` includes.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import shutil
import types
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.errors import PycodeError
from sphinx.pycode import ModuleAnalyzer
from sphinx.util import logging

logger = logging.getLogger(__name__)

PACKAGES = ("redist", "theories")
EXCLUDE_PREFIXES = ("redist.cli",)  # documented by cli.md


def _public(name: str) -> bool:
    return not any(part.startswith("_") for part in name.split(".")) and not name.startswith(EXCLUDE_PREFIXES)


def public_modules(packages: tuple[str, ...] = PACKAGES) -> tuple[dict[str, types.ModuleType], list[str]]:
    """Import every public module of ``packages``; returns (modules, import failures)."""
    modules: dict[str, types.ModuleType] = {}
    failures: list[str] = []
    for pkg_name in packages:
        pkg = importlib.import_module(pkg_name)
        modules[pkg_name] = pkg
        for info in pkgutil.walk_packages(pkg.__path__, prefix=f"{pkg_name}."):
            if not _public(info.name):
                continue
            try:
                modules[info.name] = importlib.import_module(info.name)
            except Exception as exc:
                failures.append(f"{info.name}: {type(exc).__name__}: {exc}")
    return dict(sorted(modules.items())), failures


def _is_data(obj: Any) -> bool:
    return not (inspect.isclass(obj) or inspect.isroutine(obj) or isinstance(obj, types.ModuleType))


def _attr_docs(module: types.ModuleType) -> set[str]:
    """Names with a ``#:`` doc comment (or a docstring after the assignment) in ``module``."""
    try:
        docs = ModuleAnalyzer.for_module(module.__name__).find_attr_docs()
    except PycodeError:
        return set()
    return {name for (scope, name) in docs if scope == ""}


def homes(modules: dict[str, types.ModuleType]) -> dict[int, str]:
    """id(object) -> dotted name of its home module.

    The home is the shallowest exporter (then alphabetical). Data (constants, tables) carry
    their documentation as a ``#:`` comment where they are defined, so their home is the
    shallowest exporter that has such a comment.
    """
    out: dict[int, str] = {}
    documented = {m: _attr_docs(mod) for m, mod in modules.items()}
    order = sorted(modules, key=lambda m: (m.count("."), m))
    for mod_name in order:
        for name in getattr(modules[mod_name], "__all__", ()):
            obj = getattr(modules[mod_name], name, None)
            if obj is None or isinstance(obj, types.ModuleType) or name == "__version__":
                continue
            exporters = [m for m in order if name in getattr(modules[m], "__all__", ())]
            if (
                _is_data(obj)
                and name not in documented[mod_name]
                and any(name in documented[m] for m in exporters)
            ):
                continue  # documented deeper: that module is its home
            out.setdefault(id(obj), mod_name)
    return out


def _directive(obj: Any) -> str:
    if inspect.isclass(obj):
        return "autoexception" if issubclass(obj, BaseException) else "autoclass"
    if inspect.isfunction(obj) or inspect.isbuiltin(obj):
        return "autofunction"
    return "autodata"


def _title(text: str, char: str = "=") -> str:
    return f"{text}\n{char * len(text)}\n"


def module_page(
    mod_name: str, module: types.ModuleType, home: dict[int, str], exported: set[str], documented: set[str]
) -> str:
    """The reST source of the API page of one module.

    ``exported`` holds the dotted names of all exported objects; a module whose own name is
    one of them (the function ``redist.reinterpret`` and the module ``redist.reinterpret``)
    is not indexed, so that the object keeps the name.
    """
    names = [n for n in getattr(module, "__all__", ()) if n != "__version__"]
    own, table = [], []
    for name in names:
        obj = getattr(module, name, None)
        if obj is None or isinstance(obj, types.ModuleType):
            continue
        where = home.get(id(obj), mod_name)
        if where == mod_name:
            own.append((name, obj))
            table.append(name)
        elif where.startswith(f"{mod_name}."):  # autosummary wants names relative to this module
            table.append(f"~{where[len(mod_name) + 1 :]}.{name}")
        else:
            table.append(f"~{where}.{name}")
    lines = [_title(f"``{mod_name}``"), f".. automodule:: {mod_name}", "   :no-members:"]
    if mod_name in exported:
        lines.append("   :no-index:")
    lines += ["", f".. currentmodule:: {mod_name}", ""]
    if table:
        lines += [".. rubric:: Contents", "", ".. autosummary::", "   :nosignatures:", ""]
        lines += [f"   {entry}" for entry in table]
        lines.append("")
    for name, obj in own:
        directive = _directive(obj)
        if directive == "autodata" and name not in documented:
            lines += [f".. py:data:: {name}", "   :no-index-entry:", ""]  # no doc comment to show
            continue
        lines.append(f".. {directive}:: {name}")
        if directive == "autoclass":
            lines.append("   :members:")
            if obj.__bases__ != (object,):
                lines.append("   :show-inheritance:")
        elif directive == "autoexception":
            lines.append("   :show-inheritance:")
        elif directive == "autodata":
            lines.append("   :no-value:")
        lines.append("")
    return "\n".join(lines)


def index_page(modules: dict[str, types.ModuleType]) -> str:
    """Toctree of all module pages with the first line of each docstring (included by api.md)."""
    lines = [".. toctree::", "   :hidden:", ""]
    lines += [f"   api/{m}" for m in modules]
    lines += ["", ".. list-table::", "   :widths: 30 70", ""]
    for mod_name, module in modules.items():
        doc = inspect.getdoc(module) or ""
        first = doc.strip().splitlines()[0] if doc.strip() else ""
        first = first.replace("*", r"\*").replace("`", "")
        lines += [f"   * - :doc:`api/{mod_name}`", f"     - {first}"]
    return "\n".join(lines) + "\n"


def generate(app: Sphinx) -> None:
    """Write ``api/*.rst`` (builder-inited hook)."""
    out = Path(app.srcdir) / "api"
    modules, failures = public_modules()
    for failure in failures:
        logger.warning("API reference: cannot import %s", failure)
    home = homes(modules)
    exported = {
        f"{home[id(getattr(mod, n))]}.{n}"
        for mod in modules.values()
        for n in getattr(mod, "__all__", ())
        if id(getattr(mod, n, None)) in home
    }
    pages = {f"{m}.rst": module_page(m, mod, home, exported, _attr_docs(mod)) for m, mod in modules.items()}
    pages["modules.rst.inc"] = index_page(modules)
    out.mkdir(exist_ok=True)
    for path in out.iterdir():  # modules that no longer exist
        if path.name not in pages:
            path.unlink() if path.is_file() else shutil.rmtree(path)
    for name, text in pages.items():  # unchanged pages keep their mtime: no re-read
        path = out / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the generator."""
    app.connect("builder-inited", generate, priority=400)  # before autosummary (500)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
