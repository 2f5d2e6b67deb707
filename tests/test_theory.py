"""The theory contract's self-description: settings schema, processes, reference point, assign."""

from __future__ import annotations

import pytest

from redist.exceptions import TheoryError, UnknownParameter
from redist.theory import (
    Kinematic,
    Parameter,
    Setting,
    Theory,
    available_theories,
    find_theories,
    get_theory,
    register_theory,
    theory_processes,
    theory_settings,
)


class _Line(Theory):
    name = "test-line"
    version = "1"

    def __init__(self, slope: float = 1.0, n: int = 3, label: str = "x", flag: bool = False) -> None:
        self.parameters = (Parameter("a", 2.0, (0.0, 5.0), "amplitude"),
                           Parameter("m", 1.0, (0.5, 2.0), "a mass", linear=False))  # fmt: skip
        self.kinematics = (Kinematic("q2", 0.0, 1.0),)

    def _rate(self, z, values, xp):
        return values["a"] * z[:, 0]


def test_schema_from_the_constructor_signature():
    assert [(s.name, s.type, s.default) for s in _Line.settings_schema()] == [
        ("slope", "float", 1.0), ("n", "int", 3), ("label", "str", "x"), ("flag", "bool", False)
    ]  # fmt: skip
    assert _Line.supported_processes() == ()


def test_plain_factory_functions_get_a_schema_too(monkeypatch):
    import redist.theory

    def factory(width: float = 0.5, *, mode: str = "fast") -> Theory:
        return _Line()

    available_theories()  # load the entry points first
    monkeypatch.setattr(redist.theory, "_REGISTRY", dict(redist.theory._REGISTRY))  # undone afterwards
    register_theory("test-factory", factory)
    assert [(s.name, s.type, s.default) for s in theory_settings("test-factory")] == [
        ("width", "float", 0.5), ("mode", "str", "fast")
    ]  # fmt: skip
    assert theory_processes("test-factory") == ()


def test_setting_parse():
    assert Setting("n", "int", 3).parse("7") == 7
    assert Setting("on", "bool").parse("True") is True
    for bad, msg in (("7.5", "not an int"), ("x", "not an int")):
        with pytest.raises(TheoryError, match=msg):
            Setting("n", "int").parse(bad)
    with pytest.raises(TheoryError, match="not finite"):
        Setting("w", "float").parse("inf")
    with pytest.raises(TheoryError, match="cannot be given as text"):
        Setting("obj", "any").parse("{}")


def test_describe_reference_point_and_assign():
    th = _Line()
    d = th.describe()
    assert d.reference_point == {"a": 2.0, "m": 1.0}
    assert [p.linear for p in d.parameters] == [True, False]
    assert d.to_dict()["parameters"][1] == {"name": "m", "default": 1.0, "bounds": [0.5, 2.0],
                                             "description": "a mass", "linear": False}  # fmt: skip
    assert th.assign("a", 3.0) == {"a": 3.0}
    with pytest.raises(TheoryError, match="is real"):
        th.assign("a", 1 + 1j)
    with pytest.raises(UnknownParameter):
        th.assign("b", 1.0)


def test_processes_and_automatic_choice():
    assert theory_processes("wet")[0] == "B+->K+nunu"
    assert theory_processes("two-body") == ("B+->K+X",)
    assert find_theories("B+->K+nunu") == ["wet"]  # the eos/flavio adapters are not auto-selected
    assert find_theories("B+->K+mumu") == []


def test_wet_reference_point_is_the_sm():
    ref = get_theory("wet").reference_point()
    assert ref["cVL"] == pytest.approx(6.6131149, abs=1e-7)
    assert all(ref[c] == 0.0 for c in ("cVR", "cSL", "cSR", "cTL", "cVL_im"))
    assert get_theory("wet").assign("cTL", 1 + 2j) == {"cTL": 1.0, "cTL_im": 2.0}
