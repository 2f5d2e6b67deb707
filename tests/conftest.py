"""Shared fixtures and the optional-dependency markers of the test suite.

Markers (registered in ``pyproject.toml``):

* ``@pytest.mark.jax``, ``@pytest.mark.torch``, ``@pytest.mark.dask`` -- the test needs
  that package; it is skipped where the package is missing (the numpy-only CI job),
  and with ``REDIST_REQUIRE_EXTRAS=1`` (the full CI job) any such skip fails the run.

Fixtures:

* ``backend`` -- ``"numpy"`` and ``"jax"`` (the latter marked ``jax``), for tests that
  must hold on both pyhf backends;
* ``jax`` -- the jax module with 64-bit floats enabled (marks nothing: combine with
  ``@pytest.mark.jax``);
* an autouse fixture that puts pyhf back on its 64-bit numpy backend after every test.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pyhf
import pytest

from redist._optional import has_module

#: marker -> module whose absence skips the test
OPTIONAL = {"jax": "jax", "torch": "torch", "fm": "torch", "dask": "distributed"}
REQUIRE = bool(os.environ.get("REDIST_REQUIRE_EXTRAS"))


def pytest_configure(config: pytest.Config) -> None:
    if not has_module("jax"):
        # the documented numpy fallback warns once; without jax every "auto" fit takes it
        config.addinivalue_line("filterwarnings", "ignore::redist.exceptions.JaxUnavailableWarning")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        for marker, module in OPTIONAL.items():
            if item.get_closest_marker(marker) is not None and not has_module(module):
                item.add_marker(pytest.mark.skip(reason=f"needs {module} (marker {marker!r})"))


_SKIPPED_EXTRAS: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and any(m in report.keywords for m in OPTIONAL):
        _SKIPPED_EXTRAS.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if REQUIRE and _SKIPPED_EXTRAS:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(
                f"REDIST_REQUIRE_EXTRAS: {len(_SKIPPED_EXTRAS)} jax/torch/dask test(s) were skipped "
                f"in the full environment: {', '.join(_SKIPPED_EXTRAS[:10])}",
                red=True,
            )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(autouse=True)
def _reset_pyhf_backend() -> Iterator[None]:
    yield
    pyhf.set_backend("numpy", precision="64b")


@pytest.fixture(params=["numpy", pytest.param("jax", marks=pytest.mark.jax)])
def backend(request: pytest.FixtureRequest) -> str:
    """A pyhf backend name: each test using it runs on numpy and on jax."""
    name: str = request.param
    if name == "jax":
        request.getfixturevalue("jax")
    return name


@pytest.fixture(scope="session")
def jax() -> Any:
    """The jax module with 64-bit floats (for tests marked ``jax``)."""
    module = pytest.importorskip("jax")
    module.config.update("jax_enable_x64", True)
    return module
