"""The built-in result kinds (fit, scan, limit, posterior, impacts, demo, model).

See :mod:`redist.report.registry`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .registry import ResultKind
from .tables import (
    Table,
    demo_tables,
    fit_tables,
    limit_tables,
    model_tables,
    posterior_tables,
    scan_tables,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["DEMO", "EVIDENCE", "FIT", "IMPACTS", "LIMIT", "MODEL", "POSTERIOR", "SCAN", "evidence_tables"]


def __dir__() -> list[str]:
    return list(__all__)


def _fit_from(d: Mapping[str, Any]) -> Any:
    from ..infer.mle import FitResult

    return FitResult.from_dict(d)


def _fit_figures(res: Any) -> list[tuple[str, Figure]]:
    from .figures import correlation_figure, pulls_figure

    out = []
    if res.prefit_sigma is not None:
        out.append(("pulls", pulls_figure(res)))
    out.append(("correlation", correlation_figure(res)))
    return out


def _scan_from(d: Mapping[str, Any]) -> Any:
    from ..infer.scan import ScanResult

    return ScanResult.from_dict(d)


def _scan_figures(res: Any) -> list[tuple[str, Figure]]:
    from .figures import scan_figure

    return [("profile" if len(res.parameters) == 1 else "contour", scan_figure(res))]


def _limit_from(d: Mapping[str, Any]) -> Any:
    from ..infer.limits import LimitResult

    return LimitResult.from_dict(d)


def _limit_figures(res: Any) -> list[tuple[str, Figure]]:
    from .figures import limit_figure

    return [("cls", limit_figure(res))]


def _posterior_from(d: Mapping[str, Any]) -> Any:
    from ..infer.bayes import PosteriorResult

    return PosteriorResult.from_dict(d)


def _posterior_figures(res: Any) -> list[tuple[str, Figure]]:
    from .figures import corner_figure

    if res.samples.shape[0] == 0:
        return []  # summaries only: the samples were not written
    return [("corner", corner_figure(res))]


def _impacts_from(d: Mapping[str, Any]) -> Any:
    from ..infer.impacts import ImpactResult

    return ImpactResult.from_dict(d)


def _impacts_tables(res: Any) -> list[Table]:
    from .tables import format_number

    rows = [
        (lab, format_number(u, 3), format_number(dn, 3), format_number(e, 3))
        for lab, u, dn, e in zip(res.labels, res.impact_up, res.impact_down, res.estimate)
    ]
    return [
        Table(
            title=f"Impacts on {res.poi}",
            columns=("parameter", "Δ (θ̂+σ)", "Δ (θ̂−σ)", "estimate cov/σ"),
            rows=rows,
            summary=[("method", res.method)],
            numeric=(False, True, True, True),
            warn=[not c for c in res.converged] if res.converged else [],
        )
    ]


def _impacts_figures(res: Any) -> list[tuple[str, Figure]]:
    from .figures import impacts_figure

    return [("impacts", impacts_figure(res))]


def evidence_tables(doc: Mapping[str, Any]) -> list[Table]:
    """The log-evidence of a hypothesis (and the Bayes factor when the result holds one)."""
    from .tables import format_number

    rows = [("ln Z", f"{format_number(doc['ln_z'], 5)} ± {format_number(doc['ln_z_err'], 2)}")]
    bf = doc.get("bayes_factor")
    notes = []
    if bf:
        rows.append(
            ("ln B (this / versus)", f"{format_number(bf['ln_b'], 4)} ± {format_number(bf['ln_b_err'], 2)}")
        )
        notes.append(
            f"versus {bf.get('versus', 'the other hypothesis')}: ln Z = {format_number(bf['ln_z_0'], 5)}"
        )
        notes.append("Jeffreys: |ln B| < 1 inconclusive, 1-2.5 substantial, 2.5-5 strong, > 5 decisive")
    pars = doc.get("parameters") or {}
    summary = [
        (
            "hypothesis",
            ", ".join(f"{k} ~ U[{format_number(a, 3)}, {format_number(b, 3)}]" for k, (a, b) in pars.items())
            or "point (no sampled parameter)",
        ),
        (
            "fixed",
            ", ".join(f"{k} = {format_number(v, 4)}" for k, v in (doc.get("fixed") or {}).items()) or "-",
        ),
        ("method", str(doc.get("method", ""))),
    ]
    if doc.get("n_live"):
        summary.append(("live points / calls", f"{doc['n_live']} / {doc.get('n_calls')}"))
    return [
        Table(
            title="Evidence",
            columns=("", "value"),
            rows=rows,
            summary=summary,
            notes=notes,
            numeric=(False, True),
        )
    ]


def _same(d: Mapping[str, Any]) -> Any:
    return dict(d)


FIT = ResultKind("fit", "Maximum-likelihood fit", _fit_from, fit_tables, _fit_figures)
SCAN = ResultKind("scan", "Profile-likelihood scan", _scan_from, scan_tables, _scan_figures)
LIMIT = ResultKind("limit", "CLs upper limit", _limit_from, limit_tables, _limit_figures)
POSTERIOR = ResultKind("posterior", "Posterior", _posterior_from, posterior_tables, _posterior_figures)
IMPACTS = ResultKind("impacts", "Impact ranking", _impacts_from, _impacts_tables, _impacts_figures)
DEMO = ResultKind("demo", "Belle II demo", _same, demo_tables, None)
MODEL = ResultKind("model", "Model", _same, model_tables, None)
EVIDENCE = ResultKind("evidence", "Evidence", _same, evidence_tables, None)
