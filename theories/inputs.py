"""Physical inputs of the b -> s nu nu theories (EOS v1.0.21 values).

The numbers are read from ``eos_inputs.json`` shipped in this package, which
records their EOS parameter names and sources.
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any

__all__ = ["FORM_FACTOR_SETS", "eos_inputs", "sm"]

#: form-factor set key -> (process family, key in eos_inputs.json)
FORM_FACTOR_SETS: dict[str, tuple[str, str]] = {
    "GKvD2018": ("K", "B->K BSZ2015 (EOS default; GKvD:2018A LCSR+LQCD fit)"),
    "HPQCD2022": ("K", "B->K BSZ2015 HPQCD:2022A refit"),
    "GKvD2018-Kstar": ("Kstar", "B->K* BSZ2015 (EOS default; GKvD:2018A LCSR+LQCD fit)"),
}


@cache
def eos_inputs() -> dict[str, Any]:
    """The parsed ``eos_inputs.json``."""
    text = files("theories").joinpath("eos_inputs.json").read_text(encoding="utf-8")
    doc: dict[str, Any] = json.loads(text)
    return doc


def sm() -> dict[str, Any]:
    """SM parameters (EOS WET model)."""
    out: dict[str, Any] = eos_inputs()["sm_parameters_eos"]
    return out
