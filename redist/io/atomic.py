"""Atomic file writes, and the output checks every command runs before it computes.

Every file redist writes goes through :func:`atomic_write_bytes` /
:func:`atomic_write_text` (or :func:`atomic_path` for libraries that write a
path themselves, like uproot): the content goes to a temporary file in the
target's directory, is flushed and ``fsync``-ed, and only then renamed over the
target with :func:`os.replace`. A crash or ``SIGKILL`` at any moment leaves
either the old file or the complete new one, never a truncated file (a stray
``.NAME.*.tmp`` file may remain after a kill).

:func:`check_output` is what a command calls right after parsing its
arguments: it refuses a directory, a missing or read-only directory, a
non-regular existing target (a device, ``/proc`` file) and an output that is
one of the command's own inputs (``redist build c.json -o c.json``), before any
work is done.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ..exceptions import OutputPathError

__all__ = ["atomic_path", "atomic_write_bytes", "atomic_write_text", "check_output"]


def __dir__() -> list[str]:
    return list(__all__)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _target_mode(path: Path) -> int:
    try:
        st = os.stat(path)
    except OSError:
        return 0o666 & ~_umask()
    return stat.S_IMODE(st.st_mode)


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):  # not every filesystem/OS lets a directory be fsync-ed
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _fail(path: Path, err: OSError, what: str = "cannot write") -> OutputPathError:
    return OutputPathError(f"{path}: {what} ({err.strerror or type(err).__name__})")


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path next to ``path``; on success it replaces ``path`` atomically.

    For writers that need a file name (uproot). On an exception inside the
    block the temporary file is removed and ``path`` is untouched.

    Examples
    --------
    >>> import tempfile, os
    >>> target = Path(tempfile.mkdtemp()) / "out.txt"
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("done")
    >>> target.read_text()
    'done'
    """
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    mode = _target_mode(path)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as err:
        raise _fail(path, err) from err
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fchmod(fh.fileno(), mode)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as err:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise _fail(path, err) from err
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(directory)


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temporary file, flush, fsync, :func:`os.replace`).

    Returns
    -------
    Path
        The path written.

    Raises
    ------
    OutputPathError
        If the directory is missing or not writable, or ``path`` is a directory.

    Examples
    --------
    >>> import tempfile
    >>> p = atomic_write_bytes(Path(tempfile.mkdtemp()) / "a.bin", b"xyz")
    >>> p.read_bytes()
    b'xyz'
    """
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    mode = _target_mode(path)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as err:
        raise _fail(path, err) from err
    try:
        with os.fdopen(fd, "wb") as fh:
            view = memoryview(data)
            for start in range(0, len(view), 1 << 24):
                fh.write(view[start : start + (1 << 24)])
            fh.flush()
            os.fchmod(fh.fileno(), mode)
            os.fsync(fh.fileno())
        os.replace(tmp_name, path)
    except OSError as err:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise _fail(path, err) from err
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    _fsync_dir(directory)
    return path


def atomic_write_text(path: str | Path, text: str, *, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_write_bytes`).

    Examples
    --------
    >>> import tempfile
    >>> atomic_write_text(Path(tempfile.mkdtemp()) / "a.json", "{}").read_text()
    '{}'
    """
    return atomic_write_bytes(path, text.encode(encoding))


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def check_output(path: str | Path, *, inputs: Iterable[str | Path | None] = (), what: str = "output") -> Path:
    """Check, before any computation, that ``path`` can be written atomically.

    Parameters
    ----------
    path : str or Path
        The output file (``"-"``, standard output, is always fine).
    inputs : iterable of path
        The command's input files; the output must not be one of them.
    what : str
        How to name the output in messages (e.g. ``"-o"``).

    Returns
    -------
    Path
        The output path.

    Raises
    ------
    OutputPathError
        The output is a directory, an existing non-regular file, one of the
        inputs, or its directory is missing or not writable.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> check_output(d / "out.json").name
    'out.json'
    >>> check_output(d)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    redist.exceptions.OutputPathError: ...: output is a directory
    """
    path = Path(path)
    if str(path) == "-":
        return path
    try:
        st = os.stat(path)
    except FileNotFoundError:
        st = None
    except OSError as err:
        raise _fail(path, err, f"cannot use as {what}") from err
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            msg = f"{path}: {what} is a directory"
            raise OutputPathError(msg)
        if not stat.S_ISREG(st.st_mode):
            msg = f"{path}: {what} exists and is not a regular file; redist writes regular files only"
            raise OutputPathError(msg)
        for inp in inputs:
            if inp is not None and str(inp) != "-" and _same_file(path, Path(inp)):
                msg = f"{path}: {what} is also an input of this command; write to another file"
                raise OutputPathError(msg)
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        msg = f"{path}: directory {directory} does not exist"
        raise OutputPathError(msg)
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".probe", dir=directory)
    except OSError as err:
        raise _fail(path, err, f"cannot write {what} in {directory}") from err
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)
    return path
