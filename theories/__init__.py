"""Theory plug-ins shipped with redist.

Each module holds one model family and is registered in the ``redist.theories``
entry-point group (see ``pyproject.toml``):

* ``wet`` -- :class:`theories.wet.WET`: b -> s nu nu in the Weak Effective Theory
  (B -> K, B -> K*), EOS conventions, BSZ2015 form factors as a correlated
  nuisance group.
* ``two-body`` -- :class:`theories.twobody.TwoBodyInvisible`: B+ -> K+ X with an
  invisible (narrow or wide) scalar X.
* ``eos`` -- :class:`theories.eos_adapter.EOSTheory`: EOS (``pip install redist[eos]``)
  evaluated point by point and turned into exact Wilson-coefficient kernels.
* ``flavio`` -- :class:`theories.flavio_adapter.FlavioTheory`: flavio's vector
  operators, translated to EOS normalisation (``pip install redist[flavio]``).
* :class:`theories.callable.CallableTheory` wraps a user's numpy function
  (not registrable by name because a Python callable cannot be stored in a file).
"""

from __future__ import annotations

from .callable import CallableTheory
from .twobody import TwoBodyInvisible
from .wet import PROCESSES, WET

__all__ = ["PROCESSES", "WET", "CallableTheory", "TwoBodyInvisible"]
