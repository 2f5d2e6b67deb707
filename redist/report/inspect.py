"""What a model holds, as JSON-ready data (``redist inspect``): theories, parameters, channels, data."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["describe_model"]


def __dir__() -> list[str]:
    return list(__all__)


def _num(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def describe_model(model: Any, *, data: Any = None) -> dict[str, Any]:
    """Theory, parameters (grouped), channels, samples and data of a model.

    Parameters
    ----------
    model : ReinterpretedModel or pyhf.pdf.Model
        The model.
    data : array_like, optional
        Observed main data for a plain pyhf model (a reinterpreted model has its own).

    Returns
    -------
    dict
        ``{"kind": "model", "theories", "poi", "parameters", "channels"}`` (see
        :func:`redist.report.tables.model_tables` for how it is shown).

    Examples
    --------
    >>> import pyhf
    >>> m = pyhf.simplemodels.uncorrelated_background([5.0], [10.0], [2.0])
    >>> info = describe_model(m, data=[15.0])
    >>> info["parameters"]["free"][0]["name"], info["parameters"]["nuisances"]["components"]
    ('mu', 1)
    >>> info["channels"][0]["observed"]
    15.0
    """
    import pyhf

    from ..infer._objective import pyhf_backend
    from ..infer.plot import channel_labels
    from ..layout import ParameterKind, ParameterLayout

    plain = isinstance(model, pyhf.pdf.Model)
    with pyhf_backend("numpy"):
        pm = model if plain else model.model
        cfg = pm.config
        layout = ParameterLayout.from_pyhf(cfg) if plain else model.layout
        init = np.asarray(cfg.suggested_init(), dtype=float)
        expected = np.asarray(pm.expected_actualdata(init), dtype=float)
        obs = (
            None
            if (plain and data is None)
            else np.asarray(model.data if data is None else data, dtype=float)
        )
    theories = []
    reweighted: dict[str, set[str]] = {}
    short = channel_labels(cfg.channels)
    if not plain:
        for name, rw in model.reweightings.items():
            d = rw.theory.describe()
            samples = sorted(k for k, v in _modified(model, name).items() if v)
            for k in samples:
                ch, _, s = k.partition("/")
                reweighted.setdefault(ch, set()).add(s)
            theories.append(
                {
                    "reweighting": name,
                    "theory": d.name,
                    "version": d.version,
                    "settings": {k: v for k, v in d.settings.items()},
                    "null": None if rw.null is None else rw.null.name,
                    "parameters": list(rw.parameters),
                    "fixed_values": {k: float(v) for k, v in rw.values.items()},
                    "samples": samples,
                    "sample_labels": [
                        f"{short.get(k.partition('/')[0], k)} / {k.partition('/')[2]}" for k in samples
                    ],
                    "groups": [g.name for g in rw.theory.groups] if rw.nuisance_groups else [],
                }
            )

    def scalar(e: Any) -> dict[str, Any]:
        lo, hi = layout.bounds[e.start]
        return {
            "name": e.name,
            "size": e.size,
            "init": float(layout.inits[e.start]),
            "bounds": [_num(lo), _num(hi)],
            "modifiers": list(e.modifiers),
        }

    nuis = [e for e in layout.entries if e.kind is ParameterKind.NUISANCE]
    by_mod: dict[str, int] = {}
    for e in nuis:
        for m in e.modifiers or ("?",):
            by_mod[m] = by_mod.get(m, 0) + 1
    params = {
        "size": layout.size,
        "theory": [scalar(e) for e in layout.entries if e.kind is ParameterKind.THEORY],
        "theory_groups": [
            {"name": e.name, "size": e.size, "members": list(e.members), "constraint": e.constraint}
            for e in layout.entries
            if e.kind is ParameterKind.THEORY_GROUP
        ],
        "free": [scalar(e) for e in layout.entries if e.kind is ParameterKind.NORMFACTOR],
        "nuisances": {
            "parameters": len(nuis),
            "components": sum(e.size for e in nuis),
            "constraints": sorted({str(e.constraint) for e in nuis}),
            "by_modifier": dict(sorted(by_mod.items())),
        },
        "nuisance_list": [
            {"name": e.name, "size": e.size, "constraint": e.constraint, "modifiers": list(e.modifiers)}
            for e in nuis
        ],
    }
    labels = channel_labels(cfg.channels)
    channels = []
    for ch in cfg.channels:
        sl = cfg.channel_slices[ch]
        entries = [{"name": s, "reweighted": s in reweighted.get(ch, set())} for s in cfg.samples]
        present = _samples_in_channel(pm, ch)
        channels.append(
            {
                "name": ch,
                "label": labels[ch],
                "bins": int(cfg.channel_nbins[ch]),
                "samples": [s for s in entries if s["name"] in present],
                "observed": None if obs is None else float(np.sum(obs[sl])),
                "expected": float(np.sum(expected[sl])),
            }
        )
    return {
        "kind": "model",
        "theories": theories,
        "poi": layout.poi,
        "parameters": params,
        "channels": channels,
    }


def _samples_in_channel(pm: Any, channel: str) -> set[str]:
    spec = pm.spec
    for ch in spec["channels"]:
        if ch["name"] == channel:
            return {s["name"] for s in ch["samples"]}
    return set()


def _modified(model: Any, reweighting: str) -> dict[str, bool]:
    """``"channel/sample" -> True`` for every sample carrying the reweighting's modifier."""
    out: dict[str, bool] = {}
    for ch in model.spec["channels"]:
        for s in ch["samples"]:
            has = any(m.get("name") == reweighting for m in s.get("modifiers", []))
            out[f"{ch['name']}/{s['name']}"] = has
    return out
