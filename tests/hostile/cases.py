"""The hostile-input cases of issue #16, one function per reproduction.

Each case builds or names its input (small files live in ``corpus/``; big,
binary or special files -- FIFOs, symlinks to devices, zip bombs, ROOT and
Parquet files -- are made here on the fly), then runs the operation inside
``sw`` (the stopwatch whose time is reported). A case either raises the
expected :class:`~redist.exceptions.RedistError` subclass (``expect``, a class
name, with ``match`` a regex on the message and ``forbid`` strings that must
not appear in it) or, with ``expect=None``, returns after checking a correct
result itself.

The cases run in ``_worker.py``, a subprocess whose address space is capped at
1 GiB with :func:`resource.setrlimit` (see ``test_hostile.py``).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

#: a secret the worker puts into its environment; no message may contain it
SECRET = "hunter2-REDIST-HOSTILE-SECRET"
#: a fake /etc/shadow line; no message may contain any part of it
SHADOW = f"root:$6$saltsalt$REDISTSHADOWHASH{SECRET}:19000:0:99999:7:::\n"


class Stopwatch:
    """Times the ``with`` block(s) of a case: the operation, not its setup."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._t0 = 0.0

    def __enter__(self) -> Stopwatch:
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds += time.perf_counter() - self._t0


@dataclass(frozen=True)
class Case:
    name: str
    fn: Callable[[Path, Path, Stopwatch], Any]
    expect: str | None
    match: str = ""
    forbid: tuple[str, ...] = field(default_factory=tuple)
    issue: str = ""
    fresh: bool = False  # run in a fresh worker: the whole 1 GiB for this case alone


CASES: dict[str, Case] = {}


def case(
    expect: str | None, match: str = "", forbid: tuple[str, ...] = (), issue: str = "", fresh: bool = False
) -> Any:
    def deco(fn: Callable[[Path, Path, Stopwatch], Any]) -> Callable[[Path, Path, Stopwatch], Any]:
        name = fn.__name__.removeprefix("case_")
        CASES[name] = Case(name, fn, expect, match, forbid, issue, fresh)
        return fn

    return deco


# ----------------------------------------------------------------------------- helpers
def _config_dir(corpus: Path, tmp: Path, config: str = "config_valid.json") -> Path:
    """A fresh directory with a config, its workspace and its density."""
    d = tmp / "cfg"
    d.mkdir(exist_ok=True)
    for name in ("ws.json", "ws_three_observations.json", "d.csv", config):
        shutil.copy(corpus / name, d / name)
    return d / config


def _cli(args: list[str]) -> Any:
    from click.testing import CliRunner

    from redist.cli import main

    return CliRunner().invoke(main, args)


class CliFailed(Exception):
    """Raised by a CLI case to report the exit status and output of a failed command."""


def _cli_expect_exit2(args: list[str], sw: Stopwatch) -> str:
    """Run ``redist ARGS``; it must exit with status 2 and a one-line error without traceback."""
    with sw:
        res = _cli(args)
    out = res.output
    if res.exit_code != 2:
        raise AssertionError(f"exit status {res.exit_code}, expected 2; output: {out[-500:]!r}; {res.exception!r}")
    lines = [ln for ln in out.splitlines() if ln.startswith("Error:")]
    if len(lines) != 1 or "Traceback" in out:
        raise AssertionError(f"expected one 'Error:' line and no traceback, got {out[-500:]!r}")
    raise CliFailed(lines[0])


def _symlink(tmp: Path, name: str, target: str) -> Path:
    p = tmp / name
    p.symlink_to(target)
    return p


def _fifo(tmp: Path, name: str) -> Path:
    p = tmp / name
    os.mkfifo(p)
    return p


def _model_doc(corpus: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((corpus / "model_valid.json").read_text())
    return doc


# ============================================================================= data loss and leaks
@case("CliFailed", match=r"also an input of this command", issue="redist build c.json -o c.json")
def case_build_output_is_its_config(corpus: Path, tmp: Path, sw: Stopwatch) -> None:
    cfg = _config_dir(corpus, tmp)
    before = cfg.read_bytes()
    try:
        _cli_expect_exit2(["build", str(cfg), "-o", str(cfg)], sw)
    finally:
        assert cfg.read_bytes() == before, "the input was overwritten"


@case("CliFailed", match=r"also an input of this command", issue="redist build c.json -o (its workspace)")
def case_build_output_is_its_workspace(corpus: Path, tmp: Path, sw: Stopwatch) -> None:
    cfg = _config_dir(corpus, tmp)
    ws = cfg.parent / "ws.json"
    before = ws.read_bytes()
    try:
        _cli_expect_exit2(["build", str(cfg), "-o", str(ws)], sw)
    finally:
        assert ws.read_bytes() == before


def _secret_config(corpus: Path, tmp: Path, file: str, layout: str) -> Path:
    cfg = _config_dir(corpus, tmp)
    doc = json.loads(cfg.read_text())
    doc["densities"][0].update({"file": file, "layout": layout})
    if layout == "uhi":
        doc["densities"][0]["key"] = "density"
    cfg.write_text(json.dumps(doc))
    return cfg


def _shadow(tmp: Path, suffix: str = "") -> Path:
    d = tmp / "etc"
    d.mkdir(exist_ok=True)
    p = d / f"shadow{suffix}"
    p.write_text(SHADOW * 3)
    return p


for _layout, _suffix in (("csv", ""), ("uhi", ".json"), ("hepdata", ".yaml")):

    def _make(layout: str, suffix: str) -> Callable[[Path, Path, Stopwatch], Any]:
        def fn(corpus: Path, tmp: Path, sw: Stopwatch) -> None:
            from redist.config import build_model

            cfg = _secret_config(corpus, tmp, str(_shadow(tmp, suffix)), layout)
            with sw:
                build_model(cfg)

        fn.__name__ = f"case_density_file_shadow_{layout}"
        return fn

    case("ConfigError", forbid=("REDISTSHADOWHASH", SECRET, "saltsalt"),
         issue=f"density file = /etc/shadow ({_layout} layout) quotes its first line")(_make(_layout, _suffix))


@case("ConfigError", forbid=(SECRET, "PATH=", "HOME="), issue="density file = /proc/self/environ leaks the environment")
def case_density_file_proc_self_environ(corpus: Path, tmp: Path, sw: Stopwatch) -> None:
    from redist.config import build_model

    cfg = _secret_config(corpus, tmp, "/proc/self/environ", "csv")
    with sw:
        build_model(cfg)


@case("ConfigError", forbid=(SECRET,), issue="density file = /proc/self/environ (hepdata: YAML parser messages)")
def case_density_file_proc_self_environ_yaml(corpus: Path, tmp: Path, sw: Stopwatch) -> None:
    from redist.config import build_model

    link = _symlink(tmp, "environ.yaml", "/proc/self/environ")
    cfg = _secret_config(corpus, tmp, str(link), "hepdata")
    with sw:
        build_model(cfg)


@case("FileFormatError", match=r"workspace version 'x' is not a pyhf workspace schema version",
      issue="workspace.version 'x' leaks pyhf SchemaNotFound")
def case_model_ws_version_x(corpus: Path, tmp: Path, sw: Stopwatch) -> None:
    import redist

    with sw:
        redist.load(corpus / "model_ws_version_x.json")


@case("FileFormatError", match=r"is not a pyhf workspace schema version",
      issue="workspace.version '../../somedir' makes pyhf load schemas from any directory")
def case_model_ws_version_traversal(corpus: Path, tmp: Path, sw: Stopwatch) -> None:
    import pyhf

    import redist

    # a permissive "schema" where the traversal points: it must never be read
    evil = Path("/tmp/hostile-schemas/1.0.0")
    evil.mkdir(parents=True, exist_ok=True)
    for name in ("defs.json", "workspace.json", "model.json", "measurement.json", "jsonpatch.json",
                 "patchset.json"):
        (evil / name).write_text('{"$schema": "http://json-schema.org/draft-06/schema#", "$id": "' + name + '"}')
    try:
        with sw:
            redist.load(corpus / "model_ws_version_traversal.json")
    finally:
        assert str(pyhf.schema.path).endswith("pyhf/schemas"), pyhf.schema.path
        shutil.rmtree("/tmp/hostile-schemas", ignore_errors=True)


# ============================================================================= resource exhaustion
def _loaders() -> dict[str, Callable[[Path], Any]]:
    import redist
    from redist import histio
    from redist.config import load_config

    return {
        "model": redist.load,
        "config": load_config,
        "csv": lambda p: histio.read_csv(p, [0.0, 1.0, 2.0]),
        "uhi": histio.read_uhi,
        "hepdata": histio.read_hepdata,
    }


_ERRORS = {"model": "FileFormatError", "config": "ConfigError", "csv": "DensityFileError",
           "uhi": "DensityFileError", "hepdata": "DensityFileError"}

for _kind, _target in (("model", "/dev/zero"), ("config", "/dev/urandom"), ("csv", "/dev/zero"),
                       ("uhi", "/dev/urandom"), ("hepdata", "/dev/zero")):

    def _make_dev(kind: str, target: str) -> Callable[[Path, Path, Stopwatch], Any]:
        def fn(corpus: Path, tmp: Path, sw: Stopwatch) -> None:
            link = _symlink(tmp, f"{kind}.json", target)
            with sw:
                _loaders()[kind](link)

        fn.__name__ = f"case_{kind}_symlink_to_{target.rsplit('/', 1)[1]}"
        return fn

    case(_ERRORS[_kind], match=r"not a regular file \(a device\)",
         issue=f"{_kind} path is a symlink to {_target} -> MemoryError")(_make_dev(_kind, _target))

for _kind in ("model", "config", "csv", "uhi", "hepdata"):

    def _make_fifo(kind: str) -> Callable[[Path, Path, Stopwatch], Any]:
        def fn(corpus: Path, tmp: Path, sw: Stopwatch) -> None:
            fifo = _fifo(tmp, f"{kind}.json")
            with sw:
                _loaders()[kind](fifo)

        fn.__name__ = f"case_{kind}_fifo"
        return fn

    case(_ERRORS[_kind], match=r"not a regular file \(a FIFO\)", issue=f"{_kind} path is a FIFO -> hangs forever")(
        _make_fifo(_kind))


@case("ConfigError", match=r"YAML anchors and aliases are not allowed", issue="501-byte YAML alias bomb config")
def case_config_yaml_alias_bomb(corpus: Path, tmp: Path, sw: Stopwatch) -> None:
    from redist.config import load_config

    with sw:
        load_config(corpus / "config_yaml_alias_bomb.yaml")


@case("DensityFileError", match=r"YAML anchors and aliases are not allowed", issue="1.3 KB HEPData YAML alias bomb")
def case_hepdata_yaml_alias_bomb(corpus: Path, tmp: Path, sw: Stopwatch) -> None:
    from redist.histio import read_hepdata

    with sw:
        read_hepdata(corpus / "hepdata_yaml_alias_bomb.yaml")


def _npz_bomb(path: Path, nbytes: int) -> None:
    import io
    import zipfile

    n = nbytes // 8
    hdr = io.BytesIO()
    np.lib.format.write_array_header_1_0(hdr, {"descr": "<f8", "fortran_order": False, "shape": (n,)})
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf, \
            zf.open("x.npy", "w", force_zip64=True) as f:
        f.write(hdr.getvalue())
        chunk = bytes(1 << 24)
        for _ in range(n * 8 // len(chunk)):
            f.write(chunk)


@case("InputLimitError", match=r"uncompressed bytes exceed the limit max_array_bytes",
      issue=".npz zip bomb (a few MB) -> GB allocation", fresh=True)
def case_npz_zip_bomb(corpus: Path, tmp: Path, sw: Stopwatch) -> None:
    from redist.io import read_npz

    p = tmp / "bomb.npz"
    _npz_bomb(p, 1 << 30)  # 1 GiB of zeros in 4.7 MB (the issue's 3 GB in 3.2 MB takes 15 s to make)
    assert p.stat().st_size < 8_000_000
    with sw:
        read_npz(p)


@case("InputLimitError", match=r"bytes of array data exceed the limit max_array_bytes",
      issue=".npz whose .npy header declares a 3 GB array")
def case_npz_header_declares_3gb(corpus: Path, tmp: Path, sw: Stopwatch) -> None:
    import io
    import zipfile

    from redist.io import read_npz

    hdr = io.BytesIO()
    np.lib.format.write_array_header_1_0(hdr, {"descr": "<f8", "fortran_order": False, "shape": (375_000_000,)})
    p = tmp / "liar.npz"
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("x.npy", hdr.getvalue() + bytes(64))
    with sw:
        read_npz(p)


@case("InputLimitError", match=r"1000000000 bins on axis 1 exceed the limit max_axis_bins",
      issue="1 KB UHI file with a regular axis of bins: 1e9 -> std::bad_alloc")
def case_uhi_regular_1e9_bins(corpus: Path, tmp: Path, sw: Stopwatch) -> None:
    from redist.histio import read_uhi

    with sw:
        read_uhi(corpus / "uhi_regular_1e9_bins.json")


@case("InputLimitError", match=r"100000000 bins on axis 1 exceed the limit max_axis_bins",
      issue="UHI regular axis bins: 1e8 -> 3.2 GB")
def case_uhi_regular_1e8_bins(corpus: Path, tmp: Path, sw: Stopwatch) -> None:
    from redist.histio import read_uhi

    with sw:
        read_uhi(corpus / "uhi_regular_1e8_bins.json")


def _big_model(corpus: Path, n_z: int, rows: int) -> dict[str, Any]:
    doc = _model_doc(corpus)
    edges = [float(i) for i in range(n_z + 1)]
    key = next(iter(doc["densities"]))
    dens = doc["densities"][key]
    dens["z_axes"][0]["edges"] = edges
    dens["values"] = [[1.0] * n_z for _ in range(rows)]
    dens["variances"] = [[0.0] * n_z for _ in range(rows)]
    dens["n_x"] = rows
    doc["reweightings"]["wet"]["z_edges"] = [[e * 22.0 / n_z for e in edges]]
    dens["z_axes"][0]["edges"] = doc["reweightings"]["wet"]["z_edges"][0]
    doc["reweightings"]["wet"]["order"] = 2
    return doc


@case("InputLimitError", match=r"600000 bins on z axis 0 exceed the limit max_axis_bins",
      issue="28 MB model with 600k z bins -> MemoryError", fresh=True)
def case_model_600k_z_bins(corpus: Path, tmp: Path, sw: Stopwatch) -> None:
    import redist

    p = tmp / "600k.json"
    p.write_text(json.dumps(_big_model(corpus, 600_000, 2), separators=(",", ":")))
    assert 20e6 < p.stat().st_size < 40e6, p.stat().st_size
    with sw:
        redist.load(p)


@case(None, issue="a 40 MB model took 281 s to load: a legitimate one within the limits loads in seconds",
      fresh=True)
def case_model_40mb_loads(corpus: Path, tmp: Path, sw: Stopwatch) -> None:
    import redist

    rng = np.random.default_rng(5)
    doc = _big_model(corpus, 100_000, 2)
    key = next(iter(doc["densities"]))
    # 8 fit bins (the workspace channel gets 8 bins too) x 100k z bins: a 40 MB file
    doc["densities"][key]["values"] = rng.uniform(0.5, 1.5, (8, 100_000)).tolist()
    doc["densities"][key]["variances"] = rng.uniform(0.0, 0.1, (8, 100_000)).tolist()
    doc["densities"][key]["n_x"] = 8
    ws = doc["workspace"]
    for s in ws["channels"][0]["samples"]:
        s["data"] = [s["data"][0]] * 8
        for m in s["modifiers"]:
            if m["type"] == "staterror":
                m["data"] = [m["data"][0]] * 8
    ws["observations"][0]["data"] = [15.0] * 8
    p = tmp / "40mb.json"
    p.write_text(json.dumps(doc, indent=1))
    assert 35e6 < p.stat().st_size < 50e6, p.stat().st_size
    with sw:
        rm = redist.load(p)
    assert np.isfinite(rm.logpdf(rm.init_pars()))


@case("ModelSpecError", match=r"10000000000 grid points exceed the limit max_grid_points",
      issue="redist scan --par cVL:0:20:10000000000 -> 74.5 GiB allocation")
def case_scan_par_1e10_points(corpus: Path, tmp: Path, sw: Stopwatch) -> None:
    from redist.infer.scan import parse_range

    with sw:
        parse_range("cVL:0:20:10000000000")


@case("PatchsetError", match=r"1000000 grid points \(product over parameters\) exceed the limit max_grid_points",
      issue="the patchset grid product is uncapped")
def case_patchset_grid_product(corpus: Path, tmp: Path, sw: Stopwatch) -> None:
    from redist.patchset import grid_points, parse_grid

    grid = dict(parse_grid(g) for g in ("cVL=0:20:1000", "cTL=0:15:1000"))
    with sw:
        grid_points(grid)


@case("PatchsetError", match=r"10000000000 grid points exceed the limit max_grid_points",
      issue="--grid cVL=0:20:10000000000")
def case_patchset_grid_axis(corpus: Path, tmp: Path, sw: Stopwatch) -> None:
    from redist.patchset import parse_grid

    with sw:
        parse_grid("cVL=0:20:10000000000")


@case("InputLimitError", match=r"levels of nesting exceed the limit max_depth",
      issue="depth-500 nesting in modifier data -> RecursionError")
def case_model_deep_modifier_data(corpus: Path, tmp: Path, sw: Stopwatch) -> None:
    import redist

    with sw:
        redist.load(corpus / "model_deep_modifier_data.json")


@case("InputLimitError", match=r"nested far deeper than the limit max_depth",
      issue="depth-100000 nesting in a UHI file -> RecursionError")
def case_uhi_depth_100000(corpus: Path, tmp: Path, sw: Stopwatch) -> None:
    from redist.histio import read_uhi

    p = tmp / "deep.json"
    p.write_text("[" * 100_000 + "]" * 100_000)
    with sw:
        read_uhi(p)


@case("InputLimitError", match=r"bytes exceed the limit max_config_bytes",
      issue="byte limit read with a bounded read(limit + 1), not trusting st_size")
def case_config_over_byte_limit(corpus: Path, tmp: Path, sw: Stopwatch) -> None:
    from redist.config import load_config
    from redist.io import limits

    p = tmp / "big.json"
    p.write_text(" " * 5000 + "{}")
    with sw, limits.override(max_config_bytes=4096):
        load_config(p)


# ============================================================================= silent wrong results
_MODEL_CASES = {
    "model_data_1e400": ("FileFormatError", r"non-finite number at /workspace/channels/0/samples/1/data/0",
                         "1e400 in workspace data gives logpdf = nan"),
    "model_value_cSL_1e308": ("FileFormatError", r"values of 'cSL' = 1e\+308 is outside its bounds",
                              "reweighting value cSL = 1e308 gives NaN"),
    "model_bounds_0_minus_1e308": ("FileFormatError", r"bounds of 'cVL' are \[0, -1e\+308\]; need low < high",
                                   "bounds [0, -1e308] load and give NaN"),
    "model_bounds_10_0": ("FileFormatError", r"bounds of 'cVL' are \[10, 0\]; need low < high",
                          "bounds [10, 0] are accepted"),
    "model_init_outside_bounds": ("FileFormatError", r"inits of 'cVL' = 50 is outside its bounds \[0, 20\]",
                                  "inits outside bounds are accepted"),
    "model_three_observations": ("FileFormatError", r"3 observed counts for channel 'c', which has 2 bins",
                                 "3 observations for a 2-bin channel load (fail later in pyhf)"),
    "model_variance_negative": ("FileFormatError", r"variance -1.0 at fit bin 0, z bin 0",
                                "density variance -1 is accepted"),
    "model_duplicate_key": ("FileFormatError", r"duplicate key 'poi' in a JSON object",
                            "duplicate JSON keys: the last wins even over a value failing the schema"),
}

for _name, (_exp, _match, _issue) in _MODEL_CASES.items():

    def _make_model(name: str) -> Callable[[Path, Path, Stopwatch], Any]:
        def fn(corpus: Path, tmp: Path, sw: Stopwatch) -> None:
            import redist

            with sw:
                redist.load(corpus / f"{name}.json")

        fn.__name__ = f"case_{name}"
        return fn

    case(_exp, match=_match, issue=_issue)(_make_model(_name))

_CONFIG_CASES = {
    "config_three_observations": (r"3 observed counts for channel 'c', which has 2 bins",
                                  "a config with 3 observations for a 2-bin channel builds and saves"),
    "config_bounds_10_0": (r"bounds of 'cVL' are \[10, 0\]; need low < high", "config bounds [10, 0] accepted"),
    "config_init_outside_bounds": (r"inits of 'cVL' = 25 is outside its bounds \[0, 20\]",
                                   "config inits outside bounds accepted"),
    "config_value_cSL_1e308": (r"values of 'cSL' = 1e\+308 is outside its bounds", "config cSL = 1e308"),
}

for _name, (_match, _issue) in _CONFIG_CASES.items():

    def _make_config(name: str) -> Callable[[Path, Path, Stopwatch], Any]:
        def fn(corpus: Path, tmp: Path, sw: Stopwatch) -> None:
            from redist.config import build_model

            cfg = _config_dir(corpus, tmp, f"{name}.json")
            with sw:
                build_model(cfg)

        fn.__name__ = f"case_{name}"
        return fn

    case("ConfigError", match=_match, issue=_issue)(_make_config(_name))


@case("DensityError", match=r"variance -1.0 at fit bin 0, z bin 1", issue="density variance -1 (array API)")
def case_density_array_variance_negative(corpus: Path, tmp: Path, sw: Stopwatch) -> None:
    from redist.density import JointDensity

    with sw:
        JointDensity.from_array([[1.0, 2.0]], [0.0, 1.0, 2.0], variances=[[0.0, -1.0]])


@case("DensityFileError", match=r"storage 'mean' holds no number density", issue="UHI mean storage accepted")
def case_uhi_mean_storage(corpus: Path, tmp: Path, sw: Stopwatch) -> None:
    from redist.histio import read_uhi

    with sw:
        read_uhi(corpus / "uhi_mean_storage.json")


@case("FillError", match=r"weight of event 1 is too large \(its square, the variance, overflows\): 1e\+200",
      issue="a fill weight of 1e200 is accepted (variance inf)")
def case_fill_weight_1e200(corpus: Path, tmp: Path, sw: Stopwatch) -> None:
    from redist.fill import fill

    with sw:
        fill([0, 1], [0.5, 1.5], n_x=2, z_edges=[0.0, 1.0, 2.0], weights=[1.0, 1e200])


@case("FillError", match=r"the sum of variances overflows at fit bin 0", issue="fill weights whose squares add up to inf")
def case_fill_weight_sum_overflows(corpus: Path, tmp: Path, sw: Stopwatch) -> None:
    from redist.fill import fill

    with sw:
        fill([0, 0, 0], [0.5, 0.5, 0.5], n_x=1, z_edges=[0.0, 1.0], weights=[1e154, 1e154, 1e154])


@case("CliFailed", match=r"Error: rate: /dBR_dq2/0 is inf", issue="theory rate --set cVL=1e200 --json prints Infinity, exit 0")
def case_cli_theory_rate_infinity(corpus: Path, tmp: Path, sw: Stopwatch) -> None:
    _cli_expect_exit2(["theory", "rate", "B+->K+nunu", "--q2", "1", "--set", "cVL=1e200", "--json"], sw)


@case("CliFailed", match=r"Error: setting 'width': 'inf' is not finite",
      issue='theory br --option width=inf prints "BR": NaN, exit 0')
def case_cli_theory_br_width_inf(corpus: Path, tmp: Path, sw: Stopwatch) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        _cli_expect_exit2(["theory", "br", "B+->K+X", "--theory", "two-body", "--option", "m_X=1.5", "--option", "width=inf",
                           "--set", "BR_X=10", "--json"], sw)


@case(None, issue="HEPData asymerror is ignored (variance 0)")
def case_hepdata_asymerror(corpus: Path, tmp: Path, sw: Stopwatch) -> None:
    from redist.histio import read_hepdata

    with sw:
        d = read_hepdata(corpus / "hepdata_asymerror.json")
    # point 0: asymmetric (+0.3, -0.1) -> sigma 0.2; point 1: 0.2 (+) asymmetric 0.4 in quadrature
    np.testing.assert_allclose(d.variances(), [[0.2**2, 0.2**2 + 0.4**2]], rtol=1e-15)


@case("DensityFileError", match=r"line 5: second edge header for axis 'q2'",
      issue="two CSV edge headers: the last silently wins")
def case_csv_two_edge_headers(corpus: Path, tmp: Path, sw: Stopwatch) -> None:
    from redist.histio import read_csv

    with sw:
        read_csv(corpus / "csv_two_edge_headers.csv")


@case("ConfigError", match=r"duplicate key 'version' in a JSON object", issue="duplicate JSON keys in a config")
def case_config_duplicate_key_json(corpus: Path, tmp: Path, sw: Stopwatch) -> None:
    from redist.config import load_config

    with sw:
        load_config(corpus / "config_duplicate_key.json")


@case("ConfigError", match=r"duplicate key 'parameters' in a YAML mapping \(line 6, column 1\)",
      issue="duplicate YAML keys in a config")
def case_config_duplicate_key_yaml(corpus: Path, tmp: Path, sw: Stopwatch) -> None:
    from redist.config import load_config

    with sw:
        load_config(corpus / "config_duplicate_key.yaml")


@case("DensityFileError", match=r"declares redist density format version 99",
      issue="UHI redist_version: 99 is not checked")
def case_uhi_redist_version_99(corpus: Path, tmp: Path, sw: Stopwatch) -> None:
    from redist.histio import read_uhi

    with sw:
        read_uhi(corpus / "uhi_redist_version_99.json")


@case("DensityFileError", match=r"the redist_format qualifier declares redist density format version",
      issue="HEPData redist_format qualifier version is not checked")
def case_hepdata_version_99(corpus: Path, tmp: Path, sw: Stopwatch) -> None:
    from redist.histio import read_hepdata

    with sw:
        read_hepdata(corpus / "hepdata_version_99.json")


def _root_density(path: Path, title: str) -> None:
    import hist
    import uproot

    h = hist.Hist(hist.axis.Regular(2, 0, 2, name="x", label="x"), hist.axis.Variable([0.0, 1.0, 2.0], name="q2",
                  label="q2"), storage=hist.storage.Weight(), name=title)
    h.view()["value"] = [[1.0, 2.0], [0.5, 3.0]]
    h.view()["variance"] = [[1.0, 2.0], [0.5, 3.0]]
    with uproot.recreate(path) as f:
        f["density"] = h


@case("DensityFileError", match=r"the title declares redist density format version 'redist-density 99'",
      issue="ROOT title version is not checked")
def case_root_title_version_99(corpus: Path, tmp: Path, sw: Stopwatch) -> None:
    from redist.histio import read_root

    p = tmp / "d.root"
    _root_density(p, "redist-density 99; axis_order=x,q2; flattening=C")
    with sw:
        read_root(p, "density")


# ============================================================================= raw exceptions
@case(None, issue="UHI without axis metadata -> AttributeError")
def case_uhi_no_axis_metadata(corpus: Path, tmp: Path, sw: Stopwatch) -> None:
    from redist.histio import read_uhi

    with sw:
        d = read_uhi(corpus / "uhi_no_axis_metadata.json")
    assert d.values().tolist() == [[1.0, 2.0], [0.5, 3.0]]
    assert (d.x_name, d.z_names) == ("axis0", ("axis1",))


@case("DensityFileError", match=r"d.root:tree/a: ", issue='read_root(key="tree/a") -> AttributeError')
def case_root_key_into_tree(corpus: Path, tmp: Path, sw: Stopwatch) -> None:
    import uproot

    from redist.histio import read_root

    p = tmp / "d.root"
    with uproot.recreate(p) as f:
        f.mktree("tree", {"a": np.float64})
        f["tree"].extend({"a": np.arange(5.0)})
    with sw:
        read_root(p, "tree/a")


@case(None, issue="bit-flipped ROOT files -> uproot DeserializationError and others")
def case_root_bit_flips(corpus: Path, tmp: Path, sw: Stopwatch) -> None:
    from redist.exceptions import DensityFileError
    from redist.histio import read_root, write_root

    good = tmp / "good.root"
    from redist.density import JointDensity

    write_root(good, {"density": JointDensity.from_array([[1.0, 2.0], [0.5, 3.0]], [0.0, 1.0, 2.0])})
    data = bytearray(good.read_bytes())
    rng = np.random.default_rng(16)
    outcomes = {"read": 0, "DensityFileError": 0}
    with sw:
        for k in range(60):
            flipped = bytearray(data)
            for pos in rng.integers(0, len(data), size=1 + k % 4):
                flipped[pos] ^= 1 << int(rng.integers(0, 8))
            p = tmp / f"flip{k}.root"
            p.write_bytes(bytes(flipped))
            try:
                read_root(p, "density")
                outcomes["read"] += 1
            except DensityFileError:
                outcomes["DensityFileError"] += 1
    assert outcomes["DensityFileError"] > 0, outcomes


@case("DensityFileError", match=r"point 0: the squared error overflows", issue="HEPData symerror: 1e200 -> OverflowError")
def case_hepdata_symerror_1e200(corpus: Path, tmp: Path, sw: Stopwatch) -> None:
    from redist.histio import read_hepdata

    with sw:
        read_hepdata(corpus / "hepdata_symerror_1e200.json")


def _parquet(path: Path, **cols: Any) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table(cols), path)


@case("FillError", match=r"column 'q2' has type string, not a number type", issue="fill_parquet with a string column")
def case_fill_parquet_string_column(corpus: Path, tmp: Path, sw: Stopwatch) -> None:
    from redist.fill import fill_parquet

    p = tmp / "e.parquet"
    _parquet(p, bin=[0, 1], q2=["0.5", "root:x"])
    with sw:
        fill_parquet(p, x="bin", z=["q2"], n_x=2, z_edges=[0.0, 1.0, 2.0])


@case("FillError", match=r"column 'bin' has type struct", issue="fill_parquet with a struct column")
def case_fill_parquet_struct_column(corpus: Path, tmp: Path, sw: Stopwatch) -> None:
    from redist.fill import fill_parquet

    p = tmp / "e.parquet"
    _parquet(p, bin=[{"a": 0}, {"a": 1}], q2=[0.5, 1.5])
    with sw:
        fill_parquet(p, x="bin", z=["q2"], n_x=2, z_edges=[0.0, 1.0, 2.0])


@case("FillError", match=r"fit-bin indices must be integers, got dtype <U", issue="fill with string fit-bin indices")
def case_fill_string_x(corpus: Path, tmp: Path, sw: Stopwatch) -> None:
    from redist.fill import fill

    with sw:
        fill(["0", "1"], [0.5, 1.5], n_x=2, z_edges=[0.0, 1.0, 2.0])


@case(None, issue="fill with x = 1e19 (int64 overflow): the event is not selected")
def case_fill_x_1e19(corpus: Path, tmp: Path, sw: Stopwatch) -> None:
    from redist.fill import fill

    with sw:
        d = fill(np.array([0.0, 1.0, 1e19]), [0.5, 1.5, 1.5], n_x=2, z_edges=[0.0, 1.0, 2.0])
    assert d.values().tolist() == [[1.0, 0.0], [0.0, 1.0]]


@case("InputLimitError", match=r"1000000000000 fit bins exceed the limit max_axis_bins", issue="fill with n_x = 1e12")
def case_fill_n_x_1e12(corpus: Path, tmp: Path, sw: Stopwatch) -> None:
    from redist.fill import fill

    with sw:
        fill([0], [0.5], n_x=int(1e12), z_edges=[0.0, 1.0])


@case("FillError", match=r"batch_size must be a positive integer, got 0", issue="fill_parquet with batch_size = 0")
def case_fill_parquet_batch_size_0(corpus: Path, tmp: Path, sw: Stopwatch) -> None:
    from redist.fill import fill_parquet

    p = tmp / "e.parquet"
    _parquet(p, bin=[0, 1], q2=[0.5, 1.5])
    with sw:
        fill_parquet(p, x="bin", z=["q2"], n_x=2, z_edges=[0.0, 1.0, 2.0], batch_size=0)


@case("FillError", match=r"object of class .*TH1.* is not a TTree or RNTuple", issue="fill_root on a TH1")
def case_fill_root_on_th1(corpus: Path, tmp: Path, sw: Stopwatch) -> None:
    import uproot

    from redist.fill import fill_root

    p = tmp / "h.root"
    with uproot.recreate(p) as f:
        f["h"] = np.histogram([0.5, 1.5], bins=[0.0, 1.0, 2.0])
    with sw:
        fill_root(p, "h", x="bin", z=["q2"], n_x=2, z_edges=[0.0, 1.0, 2.0])


@case("FillError", match=r"event 1 has q2 = 5.0, outside the z binning \[0, 2\] \(1 of 2 selected events are outside\)",
      issue="JointDensity.from_events silently dropped out-of-range z (one policy with fill)")
def case_from_events_z_outside(corpus: Path, tmp: Path, sw: Stopwatch) -> None:
    from redist.density import JointDensity

    with sw:
        JointDensity.from_events([0, 1, -1], [0.5, 5.0, 99.0], n_x=2, z_edges=[0.0, 1.0, 2.0])


@case("ConfigError", match=r"date value at /description is not allowed", issue="a YAML date in a config -> TypeError")
def case_config_yaml_date(corpus: Path, tmp: Path, sw: Stopwatch) -> None:
    from redist.config import load_config

    with sw:
        load_config(corpus / "config_yaml_date.yaml")


@case("CliFailed", match=r"Error: .*directory .*nope does not exist",
      issue="-o into a missing directory: raw OSError after all computation")
def case_cli_output_missing_dir(corpus: Path, tmp: Path, sw: Stopwatch) -> None:
    # the config would fail to build: the output check must come first
    cfg = _config_dir(corpus, tmp, "config_three_observations.json")
    _cli_expect_exit2(["build", str(cfg), "-o", str(tmp / "nope" / "m.json")], sw)


@case("CliFailed", match=r"Error: .*is a directory", issue="-o onto a directory")
def case_cli_output_is_directory(corpus: Path, tmp: Path, sw: Stopwatch) -> None:
    cfg = _config_dir(corpus, tmp, "config_three_observations.json")
    _cli_expect_exit2(["build", str(cfg), "-o", str(tmp)], sw)


@case("CliFailed", match=r"Error: /proc/version: output exists and is not a regular file|cannot write",
      issue="-o /proc/version")
def case_cli_output_proc_version(corpus: Path, tmp: Path, sw: Stopwatch) -> None:
    model = tmp / "m.json"
    shutil.copy(corpus / "model_valid.json", model)
    _cli_expect_exit2(["fit", str(model), "-o", "/proc/version", "--backend", "numpy"], sw)


@case("CliFailed", match=r"^Error: .*config_three_observations.json: workspace ws_three_observations.json: .*3 observed counts",
      issue="CLI commands print tracebacks for RedistErrors")
def case_cli_redist_error_one_line(corpus: Path, tmp: Path, sw: Stopwatch) -> None:
    cfg = _config_dir(corpus, tmp, "config_three_observations.json")
    _cli_expect_exit2(["build", str(cfg), "-o", str(tmp / "m.json")], sw)


@case("ConfigError", match=r"3 observed counts", issue="--debug shows the traceback (the RedistError itself)")
def case_cli_debug_traceback(corpus: Path, tmp: Path, sw: Stopwatch) -> None:
    cfg = _config_dir(corpus, tmp, "config_three_observations.json")
    with sw:
        res = _cli(["--debug", "build", str(cfg), "-o", str(tmp / "m.json")])
    assert res.exit_code == 1, res.exit_code  # an uncaught exception, with its traceback
    raise res.exception  # type: ignore[misc]
