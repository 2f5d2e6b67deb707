"""Shell examples in the README and the docs run as written.

A ``console`` block preceded by the line ``<!-- runnable -->`` (invisible on GitHub
and in the docs) is run: every ``$ `` line (with ``\\`` continuations) in one
``bash -e`` shell, in a fresh temporary directory, with this Python's ``bin``
directory first on ``PATH`` (so ``redist``, ``pyhf`` and ``python`` are the ones
under test). Lines without ``$`` are shown output and are not checked. The marker
may name what the block needs: ``<!-- runnable: jax -->`` adds the ``jax`` marker.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
_BLOCK = re.compile(
    r"^<!-- runnable(?::\s*(?P<needs>[\w ,-]+))? -->\n```console\n(?P<body>.*?)^```", re.M | re.S
)


def blocks() -> list[tuple[str, list[str], list[str]]]:
    """``(id, needs, commands)`` of every runnable block."""
    out = []
    for path in SOURCES:
        if "_build" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        for m in _BLOCK.finditer(text):
            commands: list[str] = []
            pending = ""
            for line in m.group("body").splitlines():
                if pending:
                    pending += "\n" + line
                elif line.startswith("$ "):
                    pending = line[2:]
                else:
                    continue
                if not pending.endswith("\\"):
                    commands.append(pending)
                    pending = ""
            needs = [n.strip() for n in (m.group("needs") or "").replace(",", " ").split() if n.strip()]
            line_no = text[: m.start()].count("\n") + 1
            out.append((f"{path.relative_to(ROOT)}:{line_no}", needs, commands))
    return out


def _params() -> list[object]:
    return [
        pytest.param(cmds, id=ident, marks=[getattr(pytest.mark, n) for n in needs])
        for ident, needs, cmds in blocks()
    ]


def test_the_readme_has_runnable_blocks() -> None:
    ids = [b[0] for b in blocks()]
    assert sum(i.startswith("README.md") for i in ids) >= 3


@pytest.mark.slow
@pytest.mark.parametrize("commands", _params())
def test_block_runs_as_written(commands: list[str], tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "MPLBACKEND": "Agg",
        "COLUMNS": "120",
    }
    for cmd in commands:
        proc = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", cmd],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert proc.returncode == 0, (
            f"$ {cmd}\nexit {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )
