from __future__ import annotations

import doctest
import importlib
import os
from pathlib import Path

import pytest

import redist


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


@pytest.mark.skipif(not os.environ.get("REDIST_TEST_INSTALLED"), reason="only when testing the installed package")
def test_tests_run_against_the_installed_package():
    here = Path(redist.__file__).resolve()
    assert "site-packages" in here.parts, here
    assert here.parent != Path(__file__).resolve().parents[1] / "redist"


@pytest.mark.parametrize(
    "module",
    ["redist.density", "redist.weights", "redist.theory", "redist.io", "redist.demo",
     "theories.wet", "theories.twobody", "theories.callable"],
)
def test_doctests(module):
    mod = importlib.import_module(module)
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
