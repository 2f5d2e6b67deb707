"""The public API: pinned names, the installed package, and every docstring example run as a doctest."""

from __future__ import annotations

import doctest
import importlib
import io
import os
from pathlib import Path

import pytest

import redist
from redist._optional import has_module
from redist.exceptions import MissingDependency

ROOT = Path(__file__).resolve().parents[1]


def test_top_level_api_is_small_and_pinned():
    assert dir(redist) == [
        "JointDensity",
        "ReinterpretedModel",
        "Reweighting",
        "__version__",
        "get_theory",
        "load",
        "reinterpret",
        "save",
    ]


#: public names of the modules whose contracts other code builds on
PINNED = {
    "redist.layout": ["ParameterEntry", "ParameterKind", "ParameterLayout", "TheoryBinding"],
    "redist.workspace": ["drop_modifier_type", "merge_specs", "modifier_names", "plain_spec", "prune",
                         "sample_paths", "scale_sample", "scale_samples"],
    "redist.weights": ["Reweighting", "bin_weights", "check_null_rates", "event_weights", "fit_bin_factors",
                       "normalised_rows"],
    "redist.modifier": ["MODIFIER_TYPE", "Reweighting", "modifier_set", "modifier_settings", "parameter_sets"],
    "redist.typing": ["FixedValues", "LayoutModel", "ModelLike", "ParameterValues"],
    "redist.theory": ["CorrelatedGroup", "Kinematic", "Parameter", "Setting", "Theory", "TheoryDescription",
                      "TheoryLike", "available_theories", "find_theories", "get_theory", "register_theory",
                      "theory_from_spec", "theory_processes", "theory_settings"],
    "redist.reinterpret": ["ReinterpretedModel", "reinterpret"],
    "redist.progress": ["SILENT", "Bar", "Progress", "StreamProgress", "current", "resolve", "use"],
    "redist.report": ["ResultKind", "Table", "get_kind", "kind_of", "register"],
    "redist.report.registry": ["BUILTIN", "ResultKind", "get", "kind_of", "kinds", "register"],
    "redist.demo": ["BELLE2_PRUNE", "belle2_data", "belle2_model", "run", "sentinel_split_workspace"],
    "redist.infer": ["BayesFactor", "EvidenceResult", "FitResult", "FormFactorNormal", "JaxUnavailableWarning",
                     "LimitResult", "Normal", "PosteriorResult", "ScanResult", "Uniform", "bayes_factor", "combine",
                     "delta_level", "evidence", "fit", "objective", "sample", "scan", "upper_limit"],
}  # fmt: skip


@pytest.mark.parametrize("module", sorted(PINNED))
def test_module_api_is_pinned(module):
    mod = importlib.import_module(module)
    assert sorted(mod.__all__) == sorted(PINNED[module])
    assert all(hasattr(mod, n) for n in mod.__all__)


def test_deprecated_names_still_work():
    import redist.demo
    from redist.modifier import Reweighting
    from redist.pointwise import MissingExternalCode
    from redist.weights import Reweighting as R2

    assert Reweighting is R2 and issubclass(MissingExternalCode, redist.exceptions.TheoryError)
    with pytest.warns(DeprecationWarning, match="reference_point"):
        sm = redist.demo.SM_CVL
    assert sm == redist.get_theory("wet").reference_point()["cVL"]


@pytest.mark.skipif(not os.environ.get("REDIST_TEST_INSTALLED"), reason="only when testing the installed package")
def test_tests_run_against_the_installed_package():
    here = Path(redist.__file__).resolve()
    assert "site-packages" in here.parts, here
    assert here.parent != Path(__file__).resolve().parents[1] / "redist"


def _modules_with_examples() -> list[str]:
    """Every module of redist and theories whose source holds a ``>>>`` example."""
    out = []
    for pkg in ("redist", "theories"):
        base = Path(importlib.import_module(pkg).__file__).parent
        for path in sorted(base.rglob("*.py")):
            if ">>> " in path.read_text(encoding="utf-8"):
                rel = path.relative_to(base.parent).with_suffix("")
                parts = list(rel.parts)
                if parts[-1] == "__init__":
                    parts.pop()
                out.append(".".join(parts))
    return out


#: modules whose examples need an optional package
_NEEDS = {"redist.fm": "torch", "redist.simulate": "torch", "redist.engine": "jax"}


@pytest.mark.parametrize("module", _modules_with_examples())
def test_doctests(module):
    need = next((m for prefix, m in _NEEDS.items() if module.startswith(prefix)), None)
    if need is not None and not has_module(need):
        pytest.skip(f"{module} needs {need}")
    try:
        mod = importlib.import_module(module)
    except MissingDependency as err:  # an optional package of the module
        pytest.skip(str(err))
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    out = io.StringIO()
    tests = [t for t in finder.find(mod, module) if t.examples]
    assert tests, f"{module} has '>>> ' in its source but no doctest was found"
    for t in tests:
        runner.run(t, out=out.write)
    assert runner.failures == 0, out.getvalue()


def test_lazy_package_imports_nothing_heavy_and_keeps_the_functions():
    """`import redist.cli` does not import pyhf (fast CLI errors); names that are also
    submodules (`reinterpret`) stay the functions after the submodule is imported."""
    import subprocess
    import sys

    code = (
        "import sys, redist, redist.cli, redist.cli._common, redist.io.reader\n"
        "assert 'pyhf' not in sys.modules and 'scipy' not in sys.modules, sorted(sys.modules)[:5]\n"
        "import redist.reinterpret, redist.io.model\n"
        "assert callable(redist.reinterpret) and redist.reinterpret.__module__ == 'redist.reinterpret'\n"
        "assert redist.load is redist.io.load is redist.io.model.load\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120)
    assert proc.returncode == 0, proc.stderr
