"""Domain exceptions and warnings of redist.

Every error raised on bad user input derives from :class:`RedistError`, and its
message names the culprit: the file, channel, sample, bin or parameter.
"""

from __future__ import annotations

__all__ = [
    "DensityError",
    "FileFormatError",
    "ModelSpecError",
    "RedistError",
    "RedistWarning",
    "TheoryError",
    "UnknownParameter",
    "UnknownTheory",
    "ZeroNullRate",
]


class RedistError(Exception):
    """Base class of all redist errors."""


class DensityError(RedistError, ValueError):
    """A joint number density is malformed or does not match its channel."""


class TheoryError(RedistError, ValueError):
    """A theory model is misconfigured or evaluated outside its domain."""


class UnknownTheory(TheoryError, KeyError):
    """No theory is registered under the requested name."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class UnknownParameter(TheoryError, KeyError):
    """A parameter name is not declared by the theory or model."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class ZeroNullRate(TheoryError):
    """The null (theory A) rate vanishes in a kinematic bin that is reweighted."""


class ModelSpecError(RedistError, ValueError):
    """A workspace, channel, sample or modifier named by the user does not exist or is invalid."""


class FileFormatError(RedistError, ValueError):
    """A redist file is malformed, of an unsupported version, or fails schema validation."""


class RedistWarning(UserWarning):
    """Base class of all redist warnings."""
