"""The one safe reader: every file redist reads goes through here.

* **Regular files only.** The path is resolved (symlinks followed) and opened
  without blocking; the *opened* file must be a regular file, so FIFOs, sockets,
  devices (``/dev/zero``, ``/dev/urandom``) and directories are refused before a
  single byte is read.
* **Bounded reads.** At most ``limit + 1`` bytes are read, whatever ``st_size``
  claims (``/proc`` files report 0), so a growing or lying file cannot exceed
  the limit.
* **Strict JSON.** No ``NaN``/``Infinity``, no numbers that overflow to
  infinity (``1e400``), no duplicate keys, nesting at most
  :attr:`~redist.io.limits.Limits.max_depth`.
* **Bounded YAML.** A safe loader without aliases or anchors (no billion-laughs
  expansion), duplicate keys rejected, only JSON types (a date or ``!!binary``
  value is an error), the same depth and finiteness rules as JSON.
* **Bounded ``.npz``.** Every member's declared shape and dtype are checked
  before any array is allocated; no pickles, no object arrays.
* **Messages never echo file content** beyond a short offending token; parse
  errors report line and column, never the text around them.

Every function takes ``where`` (how the file is named in messages) and
``error`` (the :class:`~redist.exceptions.FileFormatError` subclass to raise);
limits raise :class:`~redist.exceptions.InputLimitError`.
"""

from __future__ import annotations

import errno
import json
import math
import os
import stat
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..exceptions import FileFormatError, InputLimitError, RedistError
from . import limits as _limits

__all__ = [
    "check_tree",
    "parse_json",
    "parse_yaml",
    "read_bytes",
    "read_json",
    "read_npz",
    "read_structured",
    "read_text",
    "read_yaml",
    "regular_file",
    "token",
]


def __dir__() -> list[str]:
    return list(__all__)


_CHUNK = 1 << 20
_FLOAT_MAX = 1.7976931348623157e308


def token(value: Any, width: int = 40) -> str:
    """A short ``repr`` of an offending value for messages (never more than ``width`` characters).

    Examples
    --------
    >>> print(token("x" * 100, 10))
    'xxxxxx...
    """
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def _open_regular(path: str | Path, where: str, error: type[RedistError]) -> tuple[int, os.stat_result]:
    """Open ``path`` read-only without blocking; the opened file must be a regular file."""
    flags = os.O_RDONLY
    for extra in ("O_NONBLOCK", "O_NOCTTY", "O_CLOEXEC"):
        flags |= getattr(os, extra, 0)
    try:
        real = os.path.realpath(path)
        fd = os.open(real, flags)
    except OSError as err:
        reason = err.strerror or type(err).__name__
        if err.errno == errno.ENXIO:
            reason = "not a regular file (a FIFO or socket without a writer)"
        msg = f"{where}: cannot read file ({reason})"
        raise error(msg) from err
    try:
        st = os.fstat(fd)
    except OSError as err:  # pragma: no cover - fstat of an open fd does not fail in practice
        os.close(fd)
        msg = f"{where}: cannot read file ({err.strerror})"
        raise error(msg) from err
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        kind = (
            "a directory" if stat.S_ISDIR(st.st_mode)
            else "a FIFO" if stat.S_ISFIFO(st.st_mode)
            else "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)
            else "a socket" if stat.S_ISSOCK(st.st_mode)
            else "not a regular file"
        )
        msg = f"{where}: not a regular file ({kind}); redist reads regular files only"
        raise error(msg)
    return fd, st


def regular_file(
    path: str | Path,
    *,
    where: str | None = None,
    error: type[RedistError] = FileFormatError,
    limit: str | None = None,
) -> Path:
    """Resolve ``path`` (following symlinks) and check that it is a regular file.

    For libraries that open files themselves (uproot, pyarrow): they get the
    returned, resolved path.

    Parameters
    ----------
    path : str or Path
        The file.
    where : str, optional
        How to name it in messages (default: the path).
    error : type
        Exception class for unreadable or non-regular files.
    limit : str, optional
        Name of a byte limit in :mod:`redist.io.limits` that the size must respect.

    Returns
    -------
    Path
        The resolved path.
    """
    where = where or str(path)
    fd, st = _open_regular(path, where, error)
    os.close(fd)
    if limit is not None:
        _limits.check(limit, st.st_size, what="bytes", where=where)
    return Path(os.path.realpath(path))


def read_bytes(
    path: str | Path,
    *,
    where: str | None = None,
    error: type[RedistError] = FileFormatError,
    limit: str | int = "max_file_bytes",
) -> bytes:
    """Read a regular file of at most the byte limit ``limit`` (a name in :mod:`redist.io.limits`, or bytes).

    Reads at most ``limit + 1`` bytes, whatever the file claims its size is.

    Raises
    ------
    FileFormatError
        (or ``error``) if the file is missing, unreadable or not a regular file;
        :class:`~redist.exceptions.InputLimitError` if it is larger than the limit.
    """
    where = where or str(path)
    if isinstance(limit, int):  # an explicit number of bytes (the pre-limits-table interface)
        with _limits.override(max_file_bytes=limit):
            return read_bytes(path, where=where, error=error, limit="max_file_bytes")
    cap = getattr(_limits.current(), limit)
    fd, st = _open_regular(path, where, error)
    try:
        if st.st_size > cap:
            _limits.check(limit, st.st_size, what="bytes", where=where)
        chunks = []
        total = 0
        while total <= cap:
            try:
                chunk = os.read(fd, min(_CHUNK, cap + 1 - total))
            except OSError as err:
                msg = f"{where}: cannot read file ({err.strerror})"
                raise error(msg) from err
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    finally:
        os.close(fd)
    if total > cap:
        msg = (
            f"{where}: more than {cap} bytes exceed the limit {limit} = {cap}; for a trusted input raise "
            f"it with redist.io.limits.override({limit}=...) or {_limits.ENV_VAR}='{limit}=...'"
        )
        raise InputLimitError(msg)
    return b"".join(chunks)


def _decode(data: bytes, where: str, error: type[RedistError]) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        msg = f"{where}: not UTF-8 text (invalid byte at offset {err.start})"
        raise error(msg) from err


def read_text(
    path: str | Path,
    *,
    where: str | None = None,
    error: type[RedistError] = FileFormatError,
    limit: str | int = "max_file_bytes",
) -> str:
    """Read a UTF-8 text file through :func:`read_bytes`; errors name ``where`` (default: the path)."""
    where = where or str(path)
    return _decode(read_bytes(path, where=where, error=error, limit=limit), where, error)


# ----------------------------------------------------------------------------- tree checks
def _pointer(path: list[Any]) -> str:
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in path) if path else "<root>"


def _bad_scalar(value: Any, path: list[Any], where: str, error: type[RedistError]) -> None:
    """Raise unless ``value`` is a finite JSON scalar."""
    t = type(value)
    if t is float:
        if -_FLOAT_MAX <= value <= _FLOAT_MAX:
            return
        msg = f"{where}: non-finite number at {_pointer(path)}"
    elif t is str or t is bool or value is None:
        return
    elif t is int:
        if -_FLOAT_MAX <= value <= _FLOAT_MAX:
            return
        msg = f"{where}: integer out of floating-point range at {_pointer(path)}"
    else:
        kind = {"datetime": "date/time", "date": "date", "bytes": "binary", "set": "set"}.get(
            t.__name__, t.__name__
        )
        msg = f"{where}: {kind} value at {_pointer(path)} is not allowed (quote it to make it a string)"
    raise error(msg)


def _finite_numbers(items: list[Any]) -> bool:
    """Fast path: True if ``items`` are all scalars convertible to finite floats (no containers).

    ``False`` means "look item by item" (a container, None, a string that is not a
    finite number, an unconvertible value), never "invalid".
    """
    try:
        arr = np.fromiter(items, dtype=float, count=len(items))
    except (TypeError, ValueError, OverflowError):
        return False
    return bool(np.isfinite(arr).all())


def check_tree(doc: Any, *, where: str, error: type[RedistError] = FileFormatError) -> Any:
    """Check a parsed document: JSON types only, finite numbers, string keys, bounded depth.

    Iterative (no recursion), so any nesting is reported, not crashed on.

    Returns
    -------
    object
        ``doc`` itself.

    Raises
    ------
    FileFormatError
        (or ``error``) naming the JSON path of the first offending value;
        :class:`~redist.exceptions.InputLimitError` for nesting deeper than
        ``max_depth``.

    Examples
    --------
    >>> check_tree({"a": [1.0, {"b": None}]}, where="doc")
    {'a': [1.0, {'b': None}]}
    >>> check_tree({"a": [1.0, float("inf")]}, where="doc")
    Traceback (most recent call last):
    ...
    redist.exceptions.FileFormatError: doc: non-finite number at /a/1
    """
    max_depth = _limits.current().max_depth
    if type(doc) is not dict and type(doc) is not list:
        _bad_scalar(doc, [], where, error)
        return doc
    stack: list[tuple[Any, list[Any]]] = [(doc, [])]
    while stack:
        node, path = stack.pop()
        if len(path) >= max_depth:
            _limits.check(
                "max_depth",
                len(path) + 1,
                what="levels of nesting",
                where=f"{where} at {_pointer(path[:6])}/...",
            )
        if type(node) is dict:
            for key, value in node.items():
                if type(key) is not str:
                    msg = f"{where}: key {token(key)} at {_pointer(path)} is not a string"
                    raise error(msg)
                t = type(value)
                if t is dict or t is list:
                    stack.append((value, [*path, key]))
                elif t is not float or not -_FLOAT_MAX <= value <= _FLOAT_MAX:
                    _bad_scalar(value, [*path, key], where, error)
        else:
            if len(node) > 16 and _finite_numbers(node):
                continue
            for i, value in enumerate(node):
                t = type(value)
                if t is float:
                    if not -_FLOAT_MAX <= value <= _FLOAT_MAX:
                        _bad_scalar(value, [*path, i], where, error)
                elif t is dict or t is list:
                    stack.append((value, [*path, i]))
                else:
                    _bad_scalar(value, [*path, i], where, error)
    return doc


# ----------------------------------------------------------------------------- JSON
class _DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for k, _ in pairs:
            if k in seen:
                raise _DuplicateKey(k)
            seen.add(k)
    return out


def _reject_constant(name: str) -> float:
    msg = f"non-standard JSON constant {name}"
    raise ValueError(msg)


def parse_json(text: str | bytes, *, where: str, error: type[RedistError] = FileFormatError) -> Any:
    """Parse JSON strictly: no NaN/Infinity or overflowing numbers, no duplicate keys, bounded nesting.

    Examples
    --------
    >>> parse_json('{"a": [1, 2.5]}', where="x.json")
    {'a': [1, 2.5]}
    >>> parse_json('{"a": 1, "a": 2}', where="x.json")
    Traceback (most recent call last):
    ...
    redist.exceptions.FileFormatError: x.json: duplicate key 'a' in a JSON object
    """
    if isinstance(text, bytes):
        text = _decode(text, where, error)
    try:
        doc = json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_no_duplicates)
    except _DuplicateKey as err:
        msg = f"{where}: duplicate key {token(err.args[0])} in a JSON object"
        raise error(msg) from err
    except RecursionError as err:
        depth = _limits.current().max_depth
        msg = f"{where}: not valid JSON (nested far deeper than the limit max_depth = {depth})"
        raise InputLimitError(msg) from err
    except json.JSONDecodeError as err:
        msg = f"{where}: not valid JSON ({err.msg} at line {err.lineno}, column {err.colno})"
        raise error(msg) from err
    except ValueError as err:  # _reject_constant, or int too long to convert
        reason = "non-standard constant NaN/Infinity" if "constant" in str(err) else "number too long"
        msg = f"{where}: not valid JSON ({reason})"
        raise error(msg) from err
    return check_tree(doc, where=where, error=error)


def read_json(
    path: str | Path,
    *,
    where: str | None = None,
    error: type[RedistError] = FileFormatError,
    limit: str | int = "max_file_bytes",
) -> Any:
    """Read and strictly parse a JSON file (see :func:`parse_json`), with errors naming the file.

    Raises
    ------
    FileFormatError
        Unreadable, not a regular file, not JSON, duplicate keys or non-finite
        numbers (or ``error``, a subclass); :class:`~redist.exceptions.InputLimitError`
        if too large or too deeply nested.
    """
    where = where or str(path)
    return parse_json(read_bytes(path, where=where, error=error, limit=limit), where=where, error=error)


# ----------------------------------------------------------------------------- YAML
def _yaml_loader(error: type[RedistError], where: str) -> Any:
    yaml = _yaml(error)

    class Loader(yaml.SafeLoader):  # type: ignore[name-defined,misc]
        """SafeLoader without aliases/anchors and with duplicate-key rejection."""

        def compose_node(self, parent: Any, index: Any) -> Any:
            event = self.peek_event()
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
                mark = event.start_mark
                msg = (
                    f"{where}: YAML anchors and aliases are not allowed "
                    f"(line {mark.line + 1}, column {mark.column + 1})"
                )
                raise error(msg)
            return super().compose_node(parent, index)

        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            seen = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                try:
                    dup = key in seen
                    seen.add(key)
                except TypeError:  # unhashable key: rejected by check_tree below
                    continue
                if dup:
                    mark = key_node.start_mark
                    msg = (
                        f"{where}: duplicate key {token(key)} in a YAML mapping "
                        f"(line {mark.line + 1}, column {mark.column + 1})"
                    )
                    raise error(msg)
            return super().construct_mapping(node, deep=deep)

    return Loader


def _yaml(error: type[RedistError]) -> Any:
    from .._optional import optional_import

    try:
        return optional_import("yaml", purpose="reading YAML")
    except ImportError as err:
        raise error(str(err)) from err


def parse_yaml(text: str | bytes, *, where: str, error: type[RedistError] = FileFormatError) -> Any:
    r"""Parse YAML safely: no aliases/anchors, no duplicate keys, JSON types only, bounded size and depth.

    Examples
    --------
    >>> parse_yaml("a: [1, 2]", where="x.yaml")
    {'a': [1, 2]}
    >>> parse_yaml("a: &x 1\nb: *x", where="x.yaml")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    redist.exceptions.FileFormatError: x.yaml: YAML anchors and aliases are not allowed (line 1, column 4)
    """
    if isinstance(text, bytes):
        text = _decode(text, where, error)
    _limits.check("max_yaml_bytes", len(text.encode("utf-8")), what="bytes of YAML", where=where)
    yaml = _yaml(error)
    loader = None
    try:
        loader = _yaml_loader(error, where)(text)
        doc = loader.get_single_data()
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        pos = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        msg = f"{where}: not valid YAML ({(err.problem or err.context or 'syntax error')[:100]}{pos})"
        raise error(msg) from err
    except yaml.YAMLError as err:
        msg = f"{where}: not valid YAML ({type(err).__name__})"
        raise error(msg) from err
    except RecursionError as err:
        depth = _limits.current().max_depth
        msg = f"{where}: YAML nested far deeper than the limit max_depth = {depth}"
        raise InputLimitError(msg) from err
    finally:
        if loader is not None:
            loader.dispose()
    return check_tree(doc, where=where, error=error)


def read_yaml(
    path: str | Path,
    *,
    where: str | None = None,
    error: type[RedistError] = FileFormatError,
    limit: str = "max_yaml_bytes",
) -> Any:
    """Read and safely parse a YAML file (see :func:`parse_yaml`)."""
    where = where or str(path)
    return parse_yaml(read_bytes(path, where=where, error=error, limit=limit), where=where, error=error)


def read_structured(
    path: str | Path,
    *,
    where: str | None = None,
    error: type[RedistError] = FileFormatError,
    limit: str = "max_file_bytes",
) -> Any:
    """Read JSON, or YAML if the suffix is ``.yaml``/``.yml``."""
    where = where or str(path)
    data = read_bytes(path, where=where, error=error, limit=limit)
    if Path(path).suffix.lower() in (".yaml", ".yml"):
        return parse_yaml(data, where=where, error=error)
    return parse_json(data, where=where, error=error)


# ----------------------------------------------------------------------------- npz
_NPZ_KINDS = "biufc"


def read_npz(
    path: str | Path,
    *,
    where: str | None = None,
    error: type[RedistError] = FileFormatError,
    allowed: Callable[[str, np.dtype[Any], tuple[int, ...]], str | None] | None = None,
) -> dict[str, np.ndarray]:
    """Read every array of an ``.npz`` archive, checking each member *before* allocating it.

    Each member's declared uncompressed size and its ``.npy`` header (shape,
    dtype) are checked against ``max_array_bytes``; the header must describe
    exactly the member's bytes; only numeric and boolean dtypes (no objects,
    no pickles) are accepted. ``allowed(name, dtype, shape)`` may veto a member
    by returning a reason.

    Raises
    ------
    FileFormatError
        (or ``error``) not a zip archive, a member that is not a plain numeric
        ``.npy`` array, or a vetoed member; :class:`~redist.exceptions.InputLimitError`
        for a member larger than ``max_array_bytes``.
    """
    where = where or str(path)
    fd, _ = _open_regular(path, where, error)
    out: dict[str, np.ndarray] = {}
    with os.fdopen(fd, "rb") as fh:
        try:
            zf = zipfile.ZipFile(fh)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as err:
            msg = f"{where}: not an .npz (zip) archive"
            raise error(msg) from err
        with zf:
            infos = zf.infolist()
            for info in infos:
                name = info.filename
                key = name[:-4] if name.endswith(".npy") else name
                here = f"{where}, member {token(name)}"
                if not name.endswith(".npy"):
                    msg = f"{here}: not an .npy array"
                    raise error(msg)
                _limits.check("max_array_bytes", info.file_size, what="uncompressed bytes", where=here)
                try:
                    with zf.open(info) as member:
                        version = np.lib.format.read_magic(member)
                        if version == (1, 0):
                            header = np.lib.format.read_array_header_1_0(member, max_header_size=10000)
                        elif version == (2, 0):
                            header = np.lib.format.read_array_header_2_0(member, max_header_size=10000)
                        else:
                            msg = f"{here}: unsupported .npy format version {version}"
                            raise error(msg)
                        shape, fortran, dtype = header
                        count = math.prod(shape)
                        nbytes = count * dtype.itemsize
                        if dtype.kind not in _NPZ_KINDS or dtype.hasobject or dtype.fields is not None:
                            msg = f"{here}: dtype {dtype.str} is not a plain numeric type"
                            raise error(msg)
                        _limits.check("max_array_bytes", nbytes, what="bytes of array data", where=here)
                        start = member.tell()
                        if start + nbytes != info.file_size:
                            msg = (
                                f"{here}: header declares shape {shape} ({nbytes} bytes), "
                                f"the member holds {info.file_size - start}"
                            )
                            raise error(msg)
                        if allowed is not None:
                            reason = allowed(key, dtype, tuple(shape))
                            if reason:
                                msg = f"{here}: {reason}"
                                raise error(msg)
                        data = member.read(nbytes + 1)
                except (zipfile.BadZipFile, zlib.error, ValueError, EOFError, OSError, SyntaxError,
                        NotImplementedError) as err:
                    if isinstance(err, FileFormatError):
                        raise
                    msg = f"{here}: corrupt .npy member ({type(err).__name__})"
                    raise error(msg) from err
                if len(data) != nbytes:
                    msg = f"{here}: truncated array data"
                    raise error(msg)
                arr = np.frombuffer(data, dtype=dtype, count=count)
                out[key] = arr.reshape(shape, order="F" if fortran else "C").copy()
    return out
