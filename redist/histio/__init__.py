"""Reading and writing joint number densities n(x, z) in the formats analyses publish.

One module per format, all through the safe reader of :mod:`redist.io` (regular
files only, byte and size limits, strict JSON, safe YAML) and its atomic writer.
Every writer states the layout in the file and every reader checks it:

* **axis order** -- the first axis is always ``x``, the flattened fit bins of one
  channel in pyhf bin order; then the kinematic axes ``z1, z2, ...``;
* **flattening** -- where several z axes share one dimension of a table (the
  CSV layout), the z bins are flattened in C order (last z axis fastest);
* **format version** -- files written by redist state ``redist-density 1``;
  a file stating another version is refused.

=================  ============================  ==================================
format             reader / writer               layout stated as
=================  ============================  ==================================
UHI JSON           :func:`read_uhi` /            histogram ``metadata``:
(:mod:`.uhi`)      :func:`write_uhi`             ``redist_axis_order``, ``redist_flattening``
published CSV      :func:`read_csv` /            ``#`` header lines (optional on read:
(:mod:`.csv`)      :func:`write_csv`             the published files have none)
HEPData table      :func:`read_hepdata` /        one point per (x, z) bin with its
(:mod:`.hepdata`)  :func:`write_hepdata`         coordinates; axis names in the headers
ROOT TH2/TH3       :func:`read_root` /           histogram title and axis titles
(:mod:`.root`)     :func:`write_root`            (needs the ``io`` extra: uproot)
=================  ============================  ==================================

:func:`read_density` dispatches on a ``layout`` name and is what
:mod:`redist.config` uses. Errors derive from :class:`~redist.exceptions.RedistError`
and name the file and the offending axis.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..density import JointDensity
from ..exceptions import DensityFileError
from ._common import FLATTENING, LAYOUTS, check_expected
from .csv import read_csv, write_csv
from .hepdata import read_hepdata, write_hepdata
from .root import read_root, write_root
from .uhi import read_uhi, write_uhi

__all__ = [
    "FLATTENING",
    "LAYOUTS",
    "DensityFileError",
    "read_csv",
    "read_density",
    "read_hepdata",
    "read_root",
    "read_uhi",
    "write_csv",
    "write_hepdata",
    "write_root",
    "write_uhi",
]


def __dir__() -> list[str]:
    return list(__all__)


def read_density(
    path: str | Path,
    layout: str,
    *,
    key: str | None = None,
    z_edges: Sequence[Any] | None = None,
    z_names: Sequence[str] | None = None,
    n_x: int | None = None,
    options: Mapping[str, Any] | None = None,
) -> JointDensity:
    """Read a density in any supported layout (``"csv"``, ``"uhi"``, ``"hepdata"``, ``"root"``).

    ``z_edges``/``z_names``/``n_x`` are the binning the caller expects and are
    checked against the file; ``options`` are passed to the specific reader.

    Examples
    --------
    >>> import tempfile, os
    >>> d = JointDensity.from_array([[1.0, 2.0]], [0.0, 1.0, 2.0])
    >>> p = write_csv(os.path.join(tempfile.mkdtemp(), "d.csv"), d)
    >>> read_density(p, "csv", z_edges=[0.0, 1.0, 2.0]).values().tolist()
    [[1.0, 2.0]]
    """
    opts = dict(options or {})
    if layout == "csv":
        return read_csv(path, z_edges, z_names=z_names, n_x=n_x, **opts)
    if layout == "uhi":
        return read_uhi(path, key, n_x=n_x, z_names=z_names, z_edges=z_edges, **opts)
    if layout == "hepdata":
        dens = read_hepdata(path, n_x=n_x, z_edges=z_edges, **opts)
        return check_expected(dens, str(path), n_x=None, z_names=z_names, z_edges=None)
    if layout == "root":
        if key is None:
            msg = f"{path}: a ROOT density needs the histogram key"
            raise DensityFileError(msg)
        return read_root(path, key, n_x=n_x, z_names=z_names, z_edges=z_edges)
    msg = f"{path}: unknown density layout {layout!r}; use one of {', '.join(LAYOUTS)}"
    raise DensityFileError(msg)
