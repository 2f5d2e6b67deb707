"""Progress reporting: one small protocol that library code calls and front ends implement.

The library never prints. A long computation reports what it is doing through a
:class:`Progress` object instead:

* :meth:`Progress.phase` -- a context manager around one step ("compile", "fit",
  "Hessian", ...); a front end shows it as a status line;
* :meth:`Progress.bar` -- a counter for a loop (scan points, chains, toys, mass
  points, training steps), returning a :class:`Bar` with ``advance`` and ``close``.

Library functions take ``progress: Progress | None = None``. ``None`` means "the
reporter the caller installed with :func:`use`", which is :data:`SILENT` unless a
front end (the ``redist`` command line) installed its own. So a function deep in
a call chain reports through the same reporter as the command that called it,
without every layer passing it on.

The command line implements the protocol with ``rich`` on stderr (off with
``--quiet``); :class:`StreamProgress` is a dependency-free implementation that
writes plain lines to a stream (``progress=True`` in the library's functions).

Examples
--------
>>> import io
>>> out = io.StringIO()
>>> rep = StreamProgress(out)
>>> with rep.phase("fit"):
...     pass
>>> bar = rep.bar(3, "scan cVL", unit="fit")
>>> bar.advance(3)
>>> bar.close()
>>> print(out.getvalue().splitlines()[0])
fit ...
>>> with use(rep):
...     current() is rep
True
>>> current() is SILENT
True
"""

from __future__ import annotations

import contextlib
import contextvars
import sys
import time
from collections.abc import Iterator
from typing import IO, Protocol, runtime_checkable

__all__ = ["SILENT", "Bar", "Progress", "StreamProgress", "current", "resolve", "use"]


def __dir__() -> list[str]:
    return list(__all__)


@runtime_checkable
class Bar(Protocol):
    """A progress counter for one loop."""

    def advance(self, n: int = 1) -> None:
        """Count ``n`` more finished items."""

    def close(self) -> None:
        """The loop is over (also after an error)."""


@runtime_checkable
class Progress(Protocol):
    """What library code may report: phases and loop counters. Implementations must be cheap."""

    def phase(self, name: str) -> contextlib.AbstractContextManager[None]:
        """Context manager around one named step."""

    def bar(self, total: int, description: str, *, unit: str = "it") -> Bar:
        """A counter for a loop of ``total`` items."""


class _NullBar:
    def advance(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


class _Silent:
    """The reporter that reports nothing."""

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        yield

    def bar(self, total: int, description: str, *, unit: str = "it") -> Bar:
        return _NullBar()

    def __repr__(self) -> str:
        return "SILENT"


#: the reporter that reports nothing (the default)
SILENT: Progress = _Silent()


class _StreamBar:
    def __init__(self, stream: IO[str], total: int, description: str, unit: str, every: float) -> None:
        self._stream = stream
        self._total = max(int(total), 0)
        self._desc = description
        self._unit = unit
        self._done = 0
        self._every = every
        self._t0 = time.perf_counter()
        self._last = -1.0
        self._closed = False

    def advance(self, n: int = 1) -> None:
        self._done += int(n)
        now = time.perf_counter()
        if now - self._last >= self._every or self._done >= self._total:
            self._last = now
            self._stream.write(
                f"{self._desc}: {self._done}/{self._total} {self._unit}s ({now - self._t0:.1f} s)\n"
            )
            self._stream.flush()

    def close(self) -> None:
        self._closed = True


class StreamProgress:
    """Plain-text progress on a stream (default: standard error), one line per event.

    Parameters
    ----------
    stream : file, optional
        Where to write (``sys.stderr`` when ``None``, looked up at each write).
    every : float
        Least seconds between two lines of the same bar.
    """

    def __init__(self, stream: IO[str] | None = None, *, every: float = 2.0) -> None:
        self._stream = stream
        self._every = every

    @property
    def stream(self) -> IO[str]:
        """The stream written to."""
        return self._stream if self._stream is not None else sys.stderr

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Write ``name ...`` before the step and ``name done (t s)`` after it."""
        s = self.stream
        s.write(f"{name} ...\n")
        s.flush()
        t0 = time.perf_counter()
        yield
        s.write(f"{name} done ({time.perf_counter() - t0:.1f} s)\n")
        s.flush()

    def bar(self, total: int, description: str, *, unit: str = "it") -> Bar:
        """A counter that writes ``description: done/total`` at most every ``every`` seconds."""
        return _StreamBar(self.stream, total, description, unit, self._every)


_CURRENT: contextvars.ContextVar[Progress] = contextvars.ContextVar("redist_progress", default=SILENT)


def current() -> Progress:
    """The reporter installed by the innermost :func:`use` (:data:`SILENT` without one)."""
    return _CURRENT.get()


@contextlib.contextmanager
def use(progress: Progress) -> Iterator[Progress]:
    """Install ``progress`` as :func:`current` for the duration of the block."""
    token = _CURRENT.set(progress)
    try:
        yield progress
    finally:
        _CURRENT.reset(token)


def resolve(progress: Progress | bool | None) -> Progress:
    """The reporter a library function should use for its ``progress`` argument.

    ``None``: :func:`current`; ``True``: a :class:`StreamProgress` on standard error;
    ``False``: :data:`SILENT`; a :class:`Progress`: itself.

    Examples
    --------
    >>> resolve(False) is SILENT, resolve(None) is current()
    (True, True)
    """
    if progress is None:
        return current()
    if progress is True:
        return StreamProgress()
    if progress is False:
        return SILENT
    return progress
