"""Runs hostile cases under a 1 GiB address-space cap (``python _worker.py``; one JSON request per line).

The heavy imports happen first; then ``RLIMIT_AS`` is set to 1 GiB for the
rest of the process, so every case runs with at most 1 GiB of address space in
total (imports included). Each request ``{"case": NAME, "corpus": DIR, "tmp": DIR}``
gets one JSON line back: what was raised (class, its MRO, the message), the
seconds the operation took, and the peak virtual memory so far. A hang guard
(``SIGALRM``) stops a case after ``REDIST_HOSTILE_GUARD_S`` seconds (default 60).
"""

from __future__ import annotations

import importlib.util
import json
import os
import resource
import signal
import sys
import time
import traceback
import warnings
from pathlib import Path

CAP = 1 << 30


def _peak_vm_kb() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmPeak:"):
                return int(line.split()[1])
    return -1


def main() -> None:
    import contextlib

    import click.testing  # noqa: F401
    import numpy  # noqa: F401

    for optional in ("pyarrow.parquet", "uproot", "yaml"):  # the io extra; cases needing it are skipped
        with contextlib.suppress(ImportError):
            importlib.import_module(optional)

    import redist
    import redist.cli.infer
    import redist.cli.patch
    import redist.cli.theory
    import redist.config
    import redist.fill
    import redist.histio
    import redist.infer  # noqa: F401

    spec = importlib.util.spec_from_file_location("hostile_cases", Path(__file__).with_name("cases.py"))
    assert spec is not None and spec.loader is not None
    cases = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = cases
    spec.loader.exec_module(cases)
    guard = int(os.environ.get("REDIST_HOSTILE_GUARD_S", "60"))
    before = _peak_vm_kb()
    resource.setrlimit(resource.RLIMIT_AS, (CAP, CAP))

    def alarm(signum: int, frame: object) -> None:
        raise TimeoutError(f"case still running after {guard} s")

    signal.signal(signal.SIGALRM, alarm)
    print(json.dumps({"ready": True, "vm_kb_after_imports": before, "cap": CAP}), flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        c = cases.CASES[req["case"]]
        tmp = Path(req["tmp"])
        tmp.mkdir(parents=True, exist_ok=True)
        sw = cases.Stopwatch()
        out: dict[str, object] = {"case": c.name}
        t0 = time.perf_counter()
        signal.alarm(guard)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                warnings.filterwarnings("ignore", category=DeprecationWarning)
                c.fn(Path(req["corpus"]), tmp, sw)
            out["raised"] = None
        except BaseException as err:  # report everything, including MemoryError and RecursionError
            out["raised"] = type(err).__name__
            out["mro"] = [k.__name__ for k in type(err).__mro__]
            out["message"] = str(err)[:4000]
            out["traceback"] = traceback.format_exc()[-4000:]
        finally:
            signal.alarm(0)
        out["seconds"] = sw.seconds or (time.perf_counter() - t0)
        out["total_seconds"] = time.perf_counter() - t0
        out["peak_vm_kb"] = _peak_vm_kb()
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
