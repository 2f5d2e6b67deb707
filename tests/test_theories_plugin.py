"""Entry-point discovery of third-party theory plug-ins (tests/plugin_pkg)."""

from __future__ import annotations

from importlib.metadata import entry_points

import numpy as np
import pytest

from redist.testing import check_theory
from redist.theory import available_theories, get_theory, theory_from_spec

INSTALLED = any(ep.name == "toy-plugin" for ep in entry_points(group="redist.theories"))
needs_plugin = pytest.mark.skipif(
    not INSTALLED,
    reason="the toy plug-in is not installed; run `pip install ./tests/plugin_pkg` (CI does)",
)


@needs_plugin
def test_plugin_is_discovered_through_entry_point() -> None:
    assert "toy-plugin" in available_theories()
    th = get_theory("toy-plugin", q2_max=4.0)
    assert type(th).__module__ == "redist_toy_plugin"
    # rate = a^2 (1-t)^2 + 2ab t(1-t) + b^2 t with t = q2/4
    assert th.rate(np.array([1.0]), {"a": 2.0, "b": 3.0})[0] == pytest.approx(
        4 * 0.5625 + 12 * 0.1875 + 9 * 0.25
    )


@needs_plugin
def test_plugin_spec_round_trip_and_conformance() -> None:
    th = get_theory("toy-plugin", q2_max=6.0)
    again = theory_from_spec(th.spec())
    assert again.settings() == {"q2_max": 6.0}
    assert "registry" in check_theory(th)


def test_builtin_entry_points_are_registered() -> None:
    assert {"wet", "two-body"} <= set(available_theories())
