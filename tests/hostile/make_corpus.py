"""Regenerate the committed hostile-input corpus (``python tests/hostile/make_corpus.py``).

Every file is small; inputs that must be big (zip bombs, 600k-bin models),
special (FIFOs, symlinks to devices) or binary (ROOT, Parquet) are made on the
fly by the cases in ``cases.py``. ``test_hostile.py`` checks that the committed
files equal what this script writes.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"


def base_workspace() -> dict[str, Any]:
    return {
        "channels": [{"name": "c", "samples": [
            {"name": "sig", "data": [5.0, 3.0], "modifiers": [
                {"name": "mu", "type": "normfactor", "data": None},
                {"name": "stat", "type": "staterror", "data": [0.5, 0.4]}]},
            {"name": "bkg", "data": [10.0, 10.0], "modifiers": []}]}],
        "observations": [{"name": "c", "data": [15.0, 14.0]}],
        "measurements": [{"name": "m", "config": {"poi": "mu", "parameters": []}}],
        "version": "1.0.0",
    }


EDGES = [0.0, 5.0, 12.0, 22.0]
VALUES = [[1.0, 2.0, 0.5], [0.2, 1.0, 3.0]]


def base_model() -> dict[str, Any]:
    """A valid one-channel WET model document (what ``redist.save`` writes, without metadata)."""
    from redist import Reweighting, get_theory, reinterpret
    from redist.density import JointDensity
    from redist.io.model import to_dict

    dens = JointDensity.from_array(VALUES, EDGES)
    rw = Reweighting("wet", get_theory("wet", process="B+->K+nunu"), [EDGES], parameters=("cVL",))
    doc = to_dict(reinterpret(base_workspace(), {("c", "sig"): dens}, rw, prune=["mu"]))
    doc.pop("metadata")
    return doc


def _model_mutations(base: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}

    def mutate(name: str, fn: Any) -> None:
        doc = copy.deepcopy(base)
        res = fn(doc)
        out[name] = res if isinstance(res, str) else json.dumps(doc, indent=1)

    def version(v: str) -> Any:
        return lambda d: d["workspace"].__setitem__("version", v)

    mutate("model_valid.json", lambda d: None)
    mutate("model_ws_version_x.json", version("x"))
    mutate("model_ws_version_traversal.json", version("../../../../../../tmp/hostile-schemas/1.0.0"))

    def data_1e400(d: dict[str, Any]) -> str:
        d["workspace"]["channels"][0]["samples"][1]["data"][0] = "HUGE"
        return json.dumps(d, indent=1).replace('"HUGE"', "1e400")

    mutate("model_data_1e400.json", data_1e400)
    mutate("model_value_cSL_1e308.json", lambda d: d["reweightings"]["wet"]["values"].__setitem__("cSL", 1e308))
    mutate("model_bounds_0_minus_1e308.json",
           lambda d: d["reweightings"]["wet"]["bounds"].__setitem__("cVL", [0.0, -1e308]))
    mutate("model_bounds_10_0.json", lambda d: d["reweightings"]["wet"]["bounds"].__setitem__("cVL", [10.0, 0.0]))
    mutate("model_init_outside_bounds.json",
           lambda d: (d["reweightings"]["wet"]["bounds"].__setitem__("cVL", [0.0, 20.0]),
                      d["reweightings"]["wet"]["inits"].__setitem__("cVL", 50.0)))
    mutate("model_variance_negative.json",
           lambda d: d["densities"][next(iter(d["densities"]))]["variances"][0].__setitem__(0, -1.0))
    mutate("model_three_observations.json",
           lambda d: d["workspace"]["observations"][0].__setitem__("data", [15.0, 14.0, 13.0]))

    def duplicate_poi(d: dict[str, Any]) -> str:
        text = json.dumps(d, indent=1)
        return text.replace('"poi": "cVL"', '"poi": 5, "poi": "cVL"', 1)

    mutate("model_duplicate_key.json", duplicate_poi)

    def deep(d: dict[str, Any]) -> str:
        mods = d["workspace"]["channels"][0]["samples"][0]["modifiers"]
        red = next(m for m in mods if m["type"] == "redist")
        red["data"]["extra"] = "DEEP"
        return json.dumps(d, indent=1).replace('"DEEP"', "[" * 500 + "]" * 500)

    mutate("model_deep_modifier_data.json", deep)
    return out


def _uhi(bins: Any = None, storage: str = "weighted", version: Any = 1, metadata: bool = True) -> str:
    axes = [
        {"type": "regular", "lower": 0, "upper": 2, "bins": 2, "underflow": False, "overflow": False,
         "circular": False},
        {"type": "regular" if bins is not None else "variable", "underflow": False, "overflow": False,
         "circular": False},
    ]
    if bins is not None:
        axes[1].update({"lower": 0.0, "upper": 22.0, "bins": bins})
    else:
        axes[1]["edges"] = [0.0, 1.0, 2.0]
    if metadata:
        axes[0]["metadata"] = {"name": "x"}
        axes[1]["metadata"] = {"name": "q2"}
    if storage == "weighted":
        st: dict[str, Any] = {"type": "weighted", "values": [[1.0, 2.0], [0.5, 3.0]],
                              "variances": [[1.0, 2.0], [0.5, 3.0]]}
    else:
        st = {"type": "mean", "counts": [[1.0, 2.0], [1.0, 3.0]], "values": [[1.0, 2.0], [0.5, 3.0]],
              "variances": [[0.0, 0.0], [0.0, 0.0]]}
    h: dict[str, Any] = {"uhi_schema": 1, "axes": axes, "storage": st}
    if metadata:
        h["metadata"] = {"redist_format": "redist-density", "redist_version": version,
                         "redist_axis_order": "x,q2", "redist_flattening": "C"}
    return json.dumps({"density": h}, indent=1)


def _hepdata(errors: list[Any], version: str = "redist-density 1") -> str:
    table = {
        "independent_variables": [
            {"header": {"name": "x"}, "values": [{"value": 0}, {"value": 0}]},
            {"header": {"name": "q2"}, "values": [{"low": 0.0, "high": 1.0}, {"low": 1.0, "high": 2.0}]},
        ],
        "dependent_variables": [{
            "header": {"name": "n"},
            "qualifiers": [{"name": "redist_format", "value": version}],
            "values": [{"value": 1.0, "errors": errors[0]}, {"value": 2.0, "errors": errors[1]}],
        }],
    }
    return json.dumps(table, indent=1)


YAML_BOMB_CONFIG = """\
version: "1.0"
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
workspace: ws.json
"""

YAML_BOMB_HEPDATA = """\
# HEPData table whose dependent values expand to 9**9 points through aliases
independent_variables:
- header: {name: x}
  values: &x0 [{value: 0}, {value: 0}, {value: 0}, {value: 0}, {value: 0}, {value: 0}, {value: 0}, {value: 0}, {value: 0}]
- header: {name: q2}
  values: &q0 [{low: 0, high: 1}, {low: 0, high: 1}, {low: 0, high: 1}, {low: 0, high: 1}, {low: 0, high: 1}]
dependent_variables:
- header: {name: n}
  values:
    l1: &l1 [*x0, *x0, *x0, *x0, *x0, *x0, *x0, *x0, *x0]
    l2: &l2 [*l1, *l1, *l1, *l1, *l1, *l1, *l1, *l1, *l1]
    l3: &l3 [*l2, *l2, *l2, *l2, *l2, *l2, *l2, *l2, *l2]
    l4: &l4 [*l3, *l3, *l3, *l3, *l3, *l3, *l3, *l3, *l3]
    l5: &l5 [*l4, *l4, *l4, *l4, *l4, *l4, *l4, *l4, *l4]
    l6: &l6 [*l5, *l5, *l5, *l5, *l5, *l5, *l5, *l5, *l5]
    l7: &l7 [*l6, *l6, *l6, *l6, *l6, *l6, *l6, *l6, *l6]
    l8: &l8 [*l7, *l7, *l7, *l7, *l7, *l7, *l7, *l7, *l7]
    l9: &l9 [*l8, *l8, *l8, *l8, *l8, *l8, *l8, *l8, *l8]
    lA: [*l9, *l9, *l9, *l9, *l9, *l9, *l9, *l9, *l9, *q0]
"""


def _config(**extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "version": "1.0",
        "workspace": "ws.json",
        "prune": ["mu"],
        "theory": {"name": "wet", "settings": {"process": "B+->K+nunu"}},
        "parameters": ["cVL"],
        "z": {"names": ["q2"], "edges": [EDGES]},
        "densities": [{"channel": "c", "sample": "sig", "file": "d.csv", "layout": "csv"}],
    }
    doc.update(extra)
    return doc


def files() -> dict[str, str]:
    """Name -> text of every committed corpus file."""
    out = _model_mutations(base_model())
    ws = base_workspace()
    out["ws.json"] = json.dumps(ws, indent=1)
    ws3 = copy.deepcopy(ws)
    ws3["observations"][0]["data"] = [15.0, 14.0, 13.0]
    out["ws_three_observations.json"] = json.dumps(ws3, indent=1)
    out["d.csv"] = "\n".join(",".join(repr(v) for v in row) for row in VALUES) + "\n"
    out["config_valid.json"] = json.dumps(_config(), indent=1)
    out["config_three_observations.json"] = json.dumps(_config(workspace="ws_three_observations.json"), indent=1)
    out["config_bounds_10_0.json"] = json.dumps(_config(bounds={"cVL": [10.0, 0.0]}), indent=1)
    out["config_init_outside_bounds.json"] = json.dumps(
        _config(bounds={"cVL": [0.0, 20.0]}, inits={"cVL": 25.0}), indent=1)
    out["config_value_cSL_1e308.json"] = json.dumps(_config(values={"cSL": 1e308}), indent=1)
    out["config_yaml_alias_bomb.yaml"] = YAML_BOMB_CONFIG
    out["config_yaml_date.yaml"] = (
        'version: "1.0"\ndescription: 2024-05-01\nworkspace: ws.json\nprune: [mu]\n'
        "theory: {name: wet, settings: {process: B+->K+nunu}}\nparameters: [cVL]\n"
        "z: {names: [q2], edges: [[0.0, 5.0, 12.0, 22.0]]}\n"
        "densities: [{channel: c, sample: sig, file: d.csv, layout: csv}]\n"
    )
    out["config_duplicate_key.yaml"] = out["config_yaml_date.yaml"].replace(
        "description: 2024-05-01\n", "parameters: [cVL, cNOPE]\n")
    out["config_duplicate_key.json"] = json.dumps(_config(), indent=1).replace(
        '"version": "1.0",', '"version": 1, "version": "1.0",')
    out["hepdata_yaml_alias_bomb.yaml"] = YAML_BOMB_HEPDATA
    out["hepdata_asymerror.json"] = _hepdata([[{"asymerror": {"plus": 0.3, "minus": -0.1}}],
                                              [{"symerror": 0.2}, {"asymerror": {"plus": 0.4, "minus": -0.4}}]])
    out["hepdata_symerror_1e200.json"] = _hepdata([[{"symerror": 1e200}], []])
    out["hepdata_version_99.json"] = _hepdata([[], []], version="redist-density 99")
    out["uhi_regular_1e9_bins.json"] = _uhi(bins=1).replace('"bins": 1', '"bins": 1e9')
    out["uhi_regular_1e8_bins.json"] = _uhi(bins=1).replace('"bins": 1', '"bins": 100000000')
    out["uhi_mean_storage.json"] = _uhi(storage="mean")
    out["uhi_redist_version_99.json"] = _uhi(version=99)
    out["uhi_no_axis_metadata.json"] = _uhi(metadata=False)
    out["csv_two_edge_headers.csv"] = (
        "# redist-density 1\n# axis_order: x,q2\n# flattening: C\n"
        "# edges q2: 0.0,1.0,2.0\n# edges q2: 0.0,1.5,2.0\n1.0,2.0\n0.5,3.0\n"
    )
    return out


def main() -> None:
    CORPUS.mkdir(exist_ok=True)
    for name, text in sorted(files().items()):
        (CORPUS / name).write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    print(f"wrote {len(files())} files to {CORPUS}", file=sys.stderr)


if __name__ == "__main__":
    main()
