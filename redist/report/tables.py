"""Summary tables of results: one plain data structure, rendered by the terminal and the HTML report.

A :class:`Table` holds strings only (numbers are formatted here, once), so that
the command line (``rich``) and :mod:`redist.report.html` show the same digits.
Values and errors are rounded as iminuit does: the error to two significant
digits and the value to the same decimal place.

Builders for the built-in result kinds live here: :func:`fit_tables`,
:func:`scan_tables`, :func:`limit_tables`, :func:`posterior_tables`,
:func:`demo_tables`; :func:`model_tables` describes a model (``redist inspect``).

Examples
--------
>>> format_value_error(11.4837, 3.4412)
('11.5', '3.4')
>>> format_value_error(0.000123456, 0.0000123)
('1.23e-04', '0.12e-04')
>>> t = Table("fit", ("name", "value"), [("cVL", "11.5")])
>>> t.column("value")
['11.5']
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from ..infer.bayes import PosteriorResult
    from ..infer.limits import LimitResult
    from ..infer.mle import FitResult
    from ..infer.scan import ScanResult

__all__ = [
    "Table",
    "demo_tables",
    "fit_tables",
    "format_number",
    "format_value_error",
    "limit_tables",
    "model_tables",
    "posterior_tables",
    "scan_tables",
]


def __dir__() -> list[str]:
    return list(__all__)


@dataclass(frozen=True)
class Table:
    """A titled table of strings, with optional summary lines above and notes below.

    Attributes
    ----------
    title : str
        Caption.
    columns : tuple of str
        Column headers.
    rows : list of tuple of str
        Cells, one tuple per row.
    summary : list of (str, str)
        ``(label, value)`` pairs shown above the table (e.g. ``("-2 ln L", "123.4")``).
    notes : list of str
        Lines shown below the table (flag legend, warnings).
    numeric : tuple of bool
        Per column: right-align (numbers).
    warn : list of bool
        Per row: highlight (at a limit, not converged, ...).
    """

    title: str
    columns: tuple[str, ...]
    rows: Sequence[tuple[str, ...]]
    summary: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    numeric: tuple[bool, ...] = ()
    warn: Sequence[bool] = field(default_factory=list)

    def column(self, header: str) -> list[str]:
        """The cells of one column."""
        j = self.columns.index(header)
        return [r[j] for r in self.rows]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "title": self.title,
            "columns": list(self.columns),
            "rows": [list(r) for r in self.rows],
            "summary": [list(s) for s in self.summary],
            "notes": list(self.notes),
        }


# ----------------------------------------------------------------------------- numbers
def format_number(x: Any, digits: int = 4) -> str:
    """A number with ``digits`` significant digits (``nan``/``inf`` spelled out, ``-`` for None).

    Examples
    --------
    >>> format_number(1.234567), format_number(None), format_number(float("inf"))
    ('1.235', '-', 'inf')
    """
    if x is None:
        return "-"
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    if not math.isfinite(v):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    return f"{v:.{digits}g}"


def format_value_error(value: float, error: float | None) -> tuple[str, str]:
    """Value and error rounded to two significant digits of the error (iminuit's convention)."""
    v = float(value)
    if not math.isfinite(v):
        return format_number(v), "" if error is None else format_number(error)
    if error is None or not math.isfinite(float(error)) or float(error) <= 0:
        return format_number(v), ""
    e = float(error)
    exp_e = math.floor(math.log10(e))
    scale = max(abs(v), e)
    exp_s = math.floor(math.log10(scale))
    if exp_s >= 5 or exp_s <= -4:  # scientific, common exponent
        m = 10.0**exp_s
        d = max(exp_s - exp_e + 1, 1)
        return f"{v / m:.{d}f}e{exp_s:+03d}", f"{e / m:.{d}f}e{exp_s:+03d}"
    d = max(1 - exp_e, 0)
    return f"{v:.{d}f}", f"{e:.{d}f}"


def _bounds(lo: float, hi: float) -> str:
    if not (math.isfinite(lo) or math.isfinite(hi)):
        return ""
    return f"[{format_number(lo, 3)}, {format_number(hi, 3)}]"


def _interval(iv: Sequence[float], grid: Any = None, bounds: Any = (-math.inf, math.inf)) -> str:
    """``[lo, hi]``, marking an end that sits on the grid edge (unless the edge is the parameter's bound)."""
    lo, hi = float(iv[0]), float(iv[1])
    text = f"[{format_number(lo, 3)}, {format_number(hi, 3)}]"
    if grid is not None and len(grid):
        edge = []
        gmin, gmax = float(np.min(grid)), float(np.max(grid))
        if lo <= gmin and gmin > float(bounds[0]):
            edge.append("grid edge")
        if hi >= gmax:
            edge.append("grid edge" if gmax < float(bounds[1]) else "upper bound")
        if edge:
            text += " (at " + " and ".join(dict.fromkeys(edge)) + ")"
    return text


# ----------------------------------------------------------------------------- fit
def _flags(res: FitResult) -> dict[str, list[str]]:
    flags: dict[str, list[str]] = {}
    for lab in res.fixed:
        flags.setdefault(lab, []).append("fixed")
    for lab in res.at_limit:
        flags.setdefault(lab, []).append("at limit")
    for fd in res.flat_directions:
        for lab, w in fd.get("parameters", {}).items():
            if abs(float(w)) > 0.3 and "flat" not in flags.get(lab, []):
                flags.setdefault(lab, []).append("flat")
    return flags


def _pulls(res: FitResult) -> np.ndarray:
    if res.prefit_sigma is None:
        return np.full(res.layout.size, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        pulls: np.ndarray = (np.asarray(res.bestfit) - res.layout.inits) / res.prefit_sigma
    return pulls


def fit_tables(res: FitResult, *, all_parameters: bool = False, top: int = 5) -> list[Table]:
    """The table of a fit: theory parameters and groups in full, analysis nuisances summarised.

    Parameters
    ----------
    res : FitResult
        The fit.
    all_parameters : bool
        List every component (else only theory parameters, correlated groups,
        unconstrained analysis parameters, and the ``top`` largest nuisance pulls).
    top : int
        Number of nuisance parameters with the largest pulls to list.
    """
    from ..layout import ParameterKind

    layout = res.layout
    x = np.asarray(res.bestfit, dtype=float)
    err = np.sqrt(np.clip(np.diag(np.asarray(res.covariance, dtype=float)), 0, None))
    flags = _flags(res)
    pulls = _pulls(res)
    rows: list[tuple[str, ...]] = []
    warn: list[bool] = []
    shown: set[int] = set()

    def add(i: int, group: str) -> None:
        lab = layout.labels[i]
        fl = flags.get(lab, [])
        e = None if "fixed" in fl else float(err[i])
        v, es = format_value_error(float(x[i]), e)
        pull = format_number(pulls[i], 2) if math.isfinite(pulls[i]) else ""
        rows.append((lab, group, v, es, pull, _bounds(*layout.bounds[i]), ", ".join(fl)))
        warn.append(bool({"at limit", "flat"} & set(fl)))
        shown.add(i)

    group_name = {
        ParameterKind.THEORY: "theory",
        ParameterKind.THEORY_GROUP: "theory nuisance",
        ParameterKind.NORMFACTOR: "analysis (free)",
        ParameterKind.NUISANCE: "analysis nuisance",
    }
    nuis = [e for e in layout.entries if e.kind is ParameterKind.NUISANCE]
    for e in layout.entries:
        if e.kind is ParameterKind.NUISANCE and not all_parameters:
            continue
        for i in range(e.start, e.start + e.size):
            add(i, group_name[e.kind])
    notes = []
    if nuis and not all_parameters:
        idx = [i for e in nuis for i in range(e.start, e.start + e.size)]
        free = [i for i in idx if layout.labels[i] not in res.fixed]
        p = np.abs(np.nan_to_num(pulls[free], nan=0.0))
        order = [free[k] for k in np.argsort(-p, kind="stable")[:top]]
        for i in order:
            add(i, "analysis nuisance")
        big = int(np.sum(p > 2.0))
        notes.append(
            f"{len(nuis)} analysis nuisance parameters ({len(idx)} components): the {len(order)} with the "
            f"largest |pull| are listed; {big} with |pull| > 2. All: --all, or the pulls plot."
        )
    summary = [
        ("status", "converged" if res.converged else "NOT CONVERGED"),
        ("-2 ln L", f"{res.twice_nll:.4f}"),
        ("parameters", f"{layout.size - len(res.fixed)} free of {layout.size}"),
        ("covariance", "valid" if res.covariance_valid else "NOT positive definite"),
        ("evaluations", f"{res.nfcn} (gradient {res.ngrad}), {res.n_starts} start(s), {res.time_s:.1f} s"),
        ("backend", res.backend),
    ]
    if any(flags.values()):
        notes.append(
            "at limit: on a bound; flat: zero derivative there or a near-null Hessian direction "
            "(the error is not a 68 % interval: use a profile scan)"
        )
    if res.message and res.message != "converged":
        notes.append(res.message)
    return [
        Table(
            title="Maximum-likelihood fit",
            columns=("parameter", "group", "value", "error", "pull", "bounds", "flags"),
            rows=rows,
            summary=summary,
            notes=notes,
            numeric=(False, False, True, True, True, False, False),
            warn=warn,
        )
    ]


# ----------------------------------------------------------------------------- scan
def scan_tables(res: ScanResult) -> list[Table]:
    """Best fit and intervals (1D) or contour extents (2D) of a profile scan."""
    n = int(np.size(res.converged))
    n_ok = int(np.sum(res.converged))
    summary = [
        (
            "scanned",
            " x ".join(
                f"{p} ({len(g)} points in [{format_number(g[0], 3)}, {format_number(g[-1], 3)}])"
                for p, g in zip(res.parameters, res.grid)
            ),
        ),
        (
            "converged",
            f"{n_ok} of {n} grid fits" + ("" if n_ok == n else "  (failed points are kept and marked)"),
        ),
        ("-2 ln L (min)", f"{res.twice_nll_min:.4f}"),
        ("time", f"{res.time_s:.1f} s, {res.nfcn} evaluations"),
    ]
    best = res.bestfit.bestfit
    rows: list[tuple[str, ...]] = []
    notes = []
    if len(res.parameters) == 1:
        g = res.grid[0]
        i = res.indices[0]
        iv = {cl: res.interval(cl) for cl in (0.6827, 0.95)}
        rows.append(
            (
                res.parameters[0],
                format_number(best[i], 4),
                "; ".join(_interval(v, g, res.bestfit.layout.bounds[i]) for v in iv[0.6827]) or "-",
                "; ".join(_interval(v, g, res.bestfit.layout.bounds[i]) for v in iv[0.95]) or "-",
            )
        )
        cols: tuple[str, ...] = ("parameter", "best fit", "68.27 % CL", "95 % CL")
        if any("(at " in c for c in rows[0]):
            notes.append(
                "an interval end at the grid edge or the upper bound is not a limit: extend the grid"
            )
    else:
        cols = ("parameter", "best fit", "68.27 % CL region spans", "95 % CL region spans")
        spans = {}
        for cl in (0.6827, 0.95):
            lines = res.contour(cl, 2)
            pts = np.concatenate(lines) if lines else np.zeros((0, 2))
            spans[cl] = pts
        for a, (p, g) in enumerate(zip(res.parameters, res.grid)):
            cells = []
            for cl in (0.6827, 0.95):
                pts = spans[cl]
                if pts.size == 0:
                    cells.append("-")
                    continue
                lo, hi = float(pts[:, a].min()), float(pts[:, a].max())
                cells.append(_interval((lo, hi), g, res.bestfit.layout.bounds[res.indices[a]]))
            rows.append((p, format_number(best[res.indices[a]], 4), *cells))
        notes.append("2 degrees of freedom (Δ(-2 ln L) = 2.30 and 5.99)")
    return [
        Table(
            title="Profile-likelihood scan",
            columns=cols,
            rows=rows,
            summary=summary,
            notes=notes,
            numeric=(False, True, False, False),
            warn=[n_ok != n] * len(rows),
        )
    ]


# ----------------------------------------------------------------------------- limit
def limit_tables(res: LimitResult) -> list[Table]:
    """Observed and expected CLs limits (method, range check, toys)."""
    scan = np.asarray(res.scan, dtype=float)
    method = getattr(res, "method", "asymptotic")
    in_range = bool(getattr(res, "in_range", True)) and math.isfinite(res.observed)
    rows = [("observed", format_number(res.observed, 4) if in_range else "not in tested range")]
    for lab, v in zip(
        ("expected -2σ", "expected -1σ", "expected median", "expected +1σ", "expected +2σ"), res.expected
    ):
        rows.append((lab, format_number(v, 4) if math.isfinite(v) else "not in tested range"))
    notes = []
    if not in_range:
        notes.append(
            "the observed CLs does not cross the level inside the tested values: not a limit; extend the scan"
        )
    summary = [
        (
            "tested",
            f"{scan.size} values in [{format_number(scan.min(), 3)}, {format_number(scan.max(), 3)}]"
            if scan.size
            else "-",
        ),
        ("method", method + (f" ({res.n_toys} toys per hypothesis and value)" if method == "toys" else "")),
    ]
    fisher = getattr(res, "fisher", {}) or {}
    if fisher:
        summary.append(
            (
                "Asimov Fisher information",
                f"{format_number(fisher.get('info_null'), 3)} at {format_number(fisher.get('null'), 3)}, "
                f"{format_number(fisher.get('info_reference'), 3)} "
                f"at {format_number(fisher.get('reference'), 3)}"
                + ("" if fisher.get("linear") else " (not linear: asymptotics invalid)"),
            )
        )
    if getattr(res, "failed_fits", 0):
        summary.append(("toys dropped (fit failed)", str(res.failed_fits)))
    return [
        Table(
            title=f"CLs upper limit on {res.parameter} ({res.cl:.0%} CL, {method}, q~mu)",
            columns=("", res.parameter),
            rows=rows,
            summary=summary,
            notes=notes,
            numeric=(False, True),
            warn=[not in_range] + [False] * 5,
        )
    ]


# ----------------------------------------------------------------------------- posterior
def posterior_tables(res: PosteriorResult) -> list[Table]:
    """Marginal summaries (with Monte Carlo errors) and convergence diagnostics of a posterior."""

    def pm(v: Any, e: Any, digits: int = 3) -> str:
        if v is None:
            return "-"
        if e is None or not isinstance(e, (int, float)) or not math.isfinite(e):
            return format_number(v, digits)
        return f"{format_number(v, digits)} ± {format_number(e, 2)}"

    def iv(s: Mapping[str, Any], key: str) -> str:
        if key not in s:
            return "-"
        lo, hi = s[key]
        err = s.get(f"mcse_{key}") or [None, None]
        return f"[{pm(lo, err[0])}, {pm(hi, err[1])}]"

    rows = []
    warn = []
    notes = []
    for name, s in res.summary.items():
        rhat, ess_b, ess_t = s.get("rhat"), s.get("ess_bulk"), s.get("ess_tail")
        bad = not (
            isinstance(rhat, (int, float))
            and rhat <= 1.01
            and isinstance(ess_b, (int, float))
            and ess_b >= 400
        )
        mode = pm(s.get("mode"), s.get("mcse_mode"))
        if s.get("flat"):
            mode += " (flat)"
            notes.append(f"{name}: {s.get('note') or 'flat marginal'}")
        rows.append(
            (
                name,
                mode,
                iv(s, "hpd68"),
                iv(s, "hpd95"),
                iv(s, "central95"),
                format_number(rhat, 4) if rhat is not None else "-",
                format_number(ess_b, 4) if ess_b is not None else "-",
                format_number(ess_t, 4) if ess_t is not None else "-",
            )
        )
        warn.append(bad)
    acc = np.asarray(res.acceptance, dtype=float)
    summary = [
        ("sampler", res.sampler),
        ("converged", {True: "yes", False: "NO", None: "not assessed"}[res.converged]),
        (
            "draws",
            str(int(res.samples.shape[0])) + f" ({res.n_chains} chains)"
            if res.samples.size
            else "(not stored)",
        ),
        ("acceptance", f"{acc.min():.2f} to {acc.max():.2f}" if acc.size else "-"),
    ]
    dg = res.diagnostics
    if "divergences" in dg:
        summary.append(("divergences", str(dg["divergences"])))
        summary.append((f"tree depth ≥ {dg.get('max_tree_depth')}", str(dg.get("tree_depth_hits"))))
    if res.wall_s:
        summary.append(("wall time", f"{res.wall_s:.1f} s"))
    if res.converged is False:
        notes.insert(0, "NOT CONVERGED: R-hat > 1.01 or bulk ESS < 400 on the highlighted rows")
    notes.append(
        "± : Monte Carlo standard errors (batch means); mode: boundary-corrected KDE (ISJ bandwidth)"
    )
    return [
        Table(
            title="Posterior",
            columns=(
                "parameter",
                "mode",
                "68 % HPD",
                "95 % HPD",
                "95 % central",
                "R-hat",
                "ESS bulk",
                "ESS tail",
            ),
            rows=rows,
            summary=summary,
            notes=notes,
            numeric=(False, True, False, False, False, True, True, True),
            warn=warn,
        )
    ]


# ----------------------------------------------------------------------------- demo
def demo_tables(results: Mapping[str, Any]) -> list[Table]:
    """The Belle II demo's table (from the content of ``results.json``)."""
    best = results["best_fit"]
    rows = []
    warn = []
    at_limit = set(best.get("at_limit", []))
    for p in results["sm_point"]:
        v, e = format_value_error(best["values"][p], None if p in at_limit else best["errors"][p])
        flag = "at limit, flat direction" if p in at_limit else ""
        rows.append((p, format_number(results["sm_point"][p], 4), v, e, flag))
        warn.append(bool(flag))
    summary = [
        ("model", str(results.get("model", ""))),
        ("conventions", str(results.get("conventions", ""))),
        ("status", "converged" if best.get("converged") else "NOT CONVERGED"),
        ("-2 ln L (best fit)", f"{best['twice_nll']:.4f}"),
        ("-2 Δln L (SM - best)", f"{results['minus_two_delta_lnL_vs_SM']:.3f}"),
    ]
    notes = []
    if "cVL_only_mu_equivalent" in results:
        notes.append(
            "cVL-only fit, form factors fixed: (cVL/cVL_SM)^2 = "
            f"{results['cVL_only_mu_equivalent']:.3f} (published mu_hat = 4.6 +- 1.3; see docs/belle2.md)"
        )
    return [
        Table(
            title="Belle II B+ -> K+ nu nu, reinterpreted in WET",
            columns=("parameter", "SM", "best fit", "error", "flags"),
            rows=rows,
            summary=summary,
            notes=notes,
            numeric=(False, True, True, True, False),
            warn=warn,
        )
    ]


# ----------------------------------------------------------------------------- model
def model_tables(info: Mapping[str, Any]) -> list[Table]:
    """Tables of ``redist inspect`` (from :func:`redist.report.inspect.describe_model`)."""
    tables = []
    for th in info.get("theories", []):
        settings = ", ".join(f"{k}={v}" for k, v in th["settings"].items())
        tables.append(
            Table(
                title=f"Reweighting {th['reweighting']!r}",
                columns=("theory", "version", "settings", "null theory", "reweighted samples"),
                rows=[
                    (
                        th["theory"],
                        str(th["version"]),
                        settings,
                        th.get("null") or "(same theory at its defaults)",
                        ", ".join(th.get("sample_labels", th["samples"])),
                    )
                ],
            )
        )
    pars = info["parameters"]
    rows: list[tuple[str, ...]] = []
    for p in pars["theory"]:
        rows.append(
            ("theory", p["name"], "1", format_number(p["init"]), _bounds(*p["bounds"]), "none (free)")
        )
    for g in pars["theory_groups"]:
        rows.append(
            (
                "theory nuisance group",
                g["name"],
                str(g["size"]),
                "0",
                "",
                f"unit normal ({len(g['members'])} correlated members)",
            )
        )
    for p in pars["free"]:
        rows.append(
            (
                "analysis (free)",
                p["name"],
                str(p["size"]),
                format_number(p["init"]),
                _bounds(*p["bounds"]),
                "none",
            )
        )
    nu = pars["nuisances"]
    by_type = ", ".join(f"{t}: {n}" for t, n in nu["by_modifier"].items())
    rows.append(
        (
            "analysis nuisances",
            f"{nu['parameters']} parameters",
            str(nu["components"]),
            "",
            "",
            f"{', '.join(nu['constraints'])} ({by_type})",
        )
    )
    tables.append(
        Table(
            title="Parameters",
            columns=("group", "name", "components", "init", "bounds", "constraint"),
            rows=rows,
            summary=[("POI", str(info.get("poi"))), ("components", str(pars["size"]))],
            notes=["the analysis nuisances are listed one by one with --all (or in --json)"],
            numeric=(False, False, True, True, False, False),
        )
    )
    if pars.get("nuisance_list"):
        tables.append(
            Table(
                title="Analysis nuisance parameters",
                columns=("name", "components", "constraint", "modifiers"),
                rows=[
                    (p["name"], str(p["size"]), str(p["constraint"]), ", ".join(p["modifiers"]))
                    for p in pars["nuisance_list"]
                ],
                numeric=(False, True, False, False),
            )
        )
    rows = []
    for ch in info["channels"]:
        samples = ", ".join(s["name"] + (" (reweighted)" if s["reweighted"] else "") for s in ch["samples"])
        rows.append(
            (
                ch["label"],
                str(ch["bins"]),
                samples,
                format_number(ch["observed"], 6),
                format_number(ch["expected"], 6),
            )
        )
    tables.append(
        Table(
            title="Channels",
            columns=("channel", "bins", "samples", "observed", "expected (init)"),
            rows=rows,
            summary=[
                ("channels", str(len(info["channels"]))),
                ("bins", str(sum(c["bins"] for c in info["channels"]))),
            ],
            numeric=(False, True, False, True, True),
        )
    )
    return tables
