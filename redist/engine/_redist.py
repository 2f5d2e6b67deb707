"""The one place where the engine calls into redist's theory reweighting.

:func:`reweighting_factors` maps the parameter vector to the kinematic-bin
weights ``w_z`` of one :class:`~redist.modifier.Reweighting`: first the
physical theory values (exposed Wilson coefficients, correlated nuisance
groups mapped from their unit-normal eigen-directions), then the weights
``w_z = R_B(z; theta) / R_A(z)`` (kernel contraction for theories with a
linear basis, quadrature otherwise). Everything else in the engine is plain
HistFactory; the fit-bin factor of each reweighted (channel, sample) is then
``migration @ w`` with the row-normalised ``n(x, z) / sum_z n(x, z)``.

The theory values come from the model's parameter layout (one
:class:`~redist.layout.TheoryBinding` per reweighting, the same path as the
pyhf modifier). Theories with non-linear parameters (masses, widths) keep the
folded matrix for their fixed basis columns and integrate the others per call
(:meth:`~redist.kernels.BinKernel.nonlinear_integrals`), traced by jax, so the
gradient with respect to a mass is exact.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["reweighting_factors"]


def reweighting_factors(
    reweighting: Any, binding: Any, migration: np.ndarray
) -> Callable[[Any, Any], Any]:
    """Fit-bin factors ``migration @ w(theta)`` of one reweighting, as a function of the parameters.

    The returned function maps the full parameter vector to one factor per
    reweighted cell. For a theory with a linear basis (``rate = basis @
    coefficients``) the kernel, the null rates and the migration rows are
    folded into one ``(cells, M)`` matrix at build time, so a call is the
    theory's coefficients and one small product; other theories go through
    :meth:`~redist.modifier.Reweighting.weights` (quadrature).

    Parameters
    ----------
    reweighting : redist.weights.Reweighting
        The reweighting (theory, kernel, exposed parameters and groups).
    binding : redist.layout.TheoryBinding
        The layout's binding of this reweighting (parameter vector -> theory values).
    migration : numpy.ndarray
        Row-normalised ``n(x, z) / sum_z n(x, z)`` of the reweighted cells, ``(cells, n_z)``.

    Returns
    -------
    callable
        ``factors(pars, xp) -> array (cells,)``; traceable with ``xp = jax.numpy``.

    Examples
    --------
    >>> import numpy as np
    >>> from redist.demo import belle2_model
    >>> rm = belle2_model()
    >>> rw = rm.reweightings["wet"]
    >>> (binding,) = rm.layout.bindings
    >>> mig = np.full((2, rw.kernel.n_bins), 1.0 / rw.kernel.n_bins)
    >>> f = reweighting_factors(rw, binding, mig)
    >>> p = rm.layout.inits
    >>> bool(np.allclose(f(p, np), 1.0))  # the SM point reproduces the null theory
    True
    """
    mig = np.asarray(migration, dtype=float)
    kern = reweighting.kernel
    if kern.kernel is not None:
        inside = np.asarray(kern.inside, dtype=bool)
        # factor = mig[:, inside] @ (K c / null) + mig[:, outside] @ 1
        mat = mig[:, inside] @ (np.asarray(kern.kernel, dtype=float) / reweighting.null_rates[:, None])
        const = mig[:, ~inside].sum(axis=1)
        theory = reweighting.theory
        n_nl = kern.n_nonlinear
        if n_nl == 0:

            def linear(pars: Any, xp: Any) -> Any:
                values = binding.values(pars, xp)
                return xp.asarray(mat) @ theory.coefficients(values, xp) + xp.asarray(const)

            return linear

        # non-linear parameters (masses, widths): the fixed columns stay folded into
        # ``mat``; the others are integrated per call (analytic or fixed-node
        # quadrature, traced), divided by the null rates and migrated.
        m = int(kern.kernel.shape[1])
        mig_nl = mig[:, inside] / reweighting.null_rates[None, :]

        def mixed(pars: Any, xp: Any) -> Any:
            values = binding.values(pars, xp)
            c = theory.coefficients(values, xp)
            dyn = kern.nonlinear_integrals(values, xp) @ c[m:]
            return xp.asarray(mat) @ c[:m] + xp.asarray(mig_nl) @ dyn + xp.asarray(const)

        return mixed

    def general(pars: Any, xp: Any) -> Any:
        values = binding.values(pars, xp)
        return xp.asarray(mig) @ reweighting.weights(values, xp)

    return general
