"""Every exception and warning redist raises, in one place.

Every error raised on bad user input derives from :class:`RedistError`, and its
message names the culprit: the file, JSON path, channel, sample, bin or
parameter. Messages never echo file contents beyond the offending token.
The command line turns every :class:`RedistError` into a one-line message and
exit status 2.

The hierarchy (each class also derives from the builtin a caller would
naturally catch, e.g. ``ValueError`` or ``KeyError``)::

    RedistError
    ├── DensityError ── FillError
    ├── TheoryError ─┬─ UnknownTheory, UnknownParameter, ZeroNullRate, MissingExternalCode
    ├── ModelSpecError ── PatchsetError
    ├── FileFormatError ─┬─ ConfigError, DensityFileError, InputLimitError
    ├── OutputPathError
    ├── NonFiniteResult
    ├── AsymptoticsInvalid
    ├── BackendError
    ├── MissingDependency
    ├── ConformanceError
    ├── FMError ── SimulationError
    RedistWarning ── JaxUnavailableWarning
"""

from __future__ import annotations

__all__ = [
    "AsymptoticsInvalid",
    "BackendError",
    "ConfigError",
    "ConformanceError",
    "DensityError",
    "DensityFileError",
    "FMError",
    "FileFormatError",
    "FillError",
    "InputLimitError",
    "JaxUnavailableWarning",
    "MissingDependency",
    "MissingExternalCode",
    "ModelSpecError",
    "NonFiniteResult",
    "OutputPathError",
    "PatchsetError",
    "RedistError",
    "RedistWarning",
    "SimulationError",
    "TheoryError",
    "UnknownParameter",
    "UnknownTheory",
    "ZeroNullRate",
]


def __dir__() -> list[str]:
    return list(__all__)


class RedistError(Exception):
    """Base class of all redist errors."""


class _PlainKeyError(KeyError):
    """``KeyError`` whose ``str`` is the message itself (``KeyError`` would quote it)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


# --------------------------------------------------------------------------- densities
class DensityError(RedistError, ValueError):
    """A joint number density is malformed or does not match its channel."""


class FillError(DensityError):
    """Events cannot be histogrammed as requested (missing columns, bad shapes, z outside the binning)."""


# --------------------------------------------------------------------------- theories
class TheoryError(RedistError, ValueError):
    """A theory model is misconfigured or evaluated outside its domain."""


class UnknownTheory(TheoryError, _PlainKeyError):
    """No theory is registered under the requested name."""


class UnknownParameter(TheoryError, _PlainKeyError):
    """A parameter name is not declared by the theory or model."""


class ZeroNullRate(TheoryError):
    """The null (theory A) rate vanishes in a kinematic bin that is reweighted."""


class MissingExternalCode(TheoryError, ImportError):
    """An optional external physics code (EOS, flavio) is not installed or fails to import."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class ConformanceError(RedistError, AssertionError):
    """A theory violates the :class:`redist.theory.Theory` contract."""


# --------------------------------------------------------------------------- models
class ModelSpecError(RedistError, ValueError):
    """A workspace, channel, sample or modifier named by the user does not exist or is invalid."""


class PatchsetError(ModelSpecError):
    """A patchset cannot be built as requested (bad grid, label or reference)."""


# --------------------------------------------------------------------------- files
class FileFormatError(RedistError, ValueError):
    """A redist file is malformed, of an unsupported version, or fails schema validation."""


class ConfigError(FileFormatError):
    """A build config is malformed, fails its schema, or names something that does not exist."""


class DensityFileError(FileFormatError, DensityError):
    """A density file is unreadable or its layout does not match what was expected."""


class InputLimitError(FileFormatError):
    """An input exceeds a size limit of :mod:`redist.io.limits` (bytes, nesting, bins, grid points).

    The message names the limit and how to raise it for trusted large inputs.
    """


class OutputPathError(RedistError, OSError):
    """An output file cannot be written (missing directory, not writable, or an input of the command)."""


# --------------------------------------------------------------------------- computation
class BackendError(RedistError, ValueError):
    """An unknown or unavailable computation backend was requested."""


class MissingDependency(RedistError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""


class NonFiniteResult(RedistError, ArithmeticError):
    """A result to be reported contains NaN or infinity (the message names the first entry)."""


class AsymptoticsInvalid(RedistError, ValueError):
    """Asymptotic formulae do not hold for a parameter of interest.

    Raised when the Asimov Fisher information of the parameter at its null value
    vanishes (it enters the expected yields quadratically, like a Wilson coefficient):
    the message names the parameter and points to toy-based CLs or to a parameter
    that enters linearly (a signal strength, a branching ratio, cX²).
    """


# --------------------------------------------------------------------------- FM module
class FMError(RedistError, ValueError):
    """Invalid input to the FM-embedding module (shapes, configs, checkpoints)."""


class SimulationError(FMError):
    """Invalid simulator input (unknown process, bad fractions, unusable theory)."""


# --------------------------------------------------------------------------- warnings
class RedistWarning(UserWarning):
    """Base class of all redist warnings."""


class JaxUnavailableWarning(RedistWarning):
    """jax is not installed: fits use pyhf's numpy backend and numerical gradients."""
