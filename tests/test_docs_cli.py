"""docs/cli.md is the ``--help`` text of every ``redist`` command, and it is current.

When a command changes, regenerate the page with ``python docs/_scripts/gen_cli.py``.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
CLI_MD = ROOT / "docs" / "cli.md"


def test_cli_page_matches_help() -> None:
    """The generator, run in a fresh interpreter (click caches help options per process)."""
    proc = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "_scripts" / "gen_cli.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-6000:]


def test_cli_page_holds_every_command_help() -> None:
    """Independent of the generator: each command's help, as click prints it, is on the page."""
    from redist.cli import main

    text = CLI_MD.read_text(encoding="utf-8")
    runner = CliRunner()
    commands = main.list_commands(None)  # type: ignore[arg-type]
    assert {"fit", "scan", "theory", "patchset"} <= set(commands)
    for name in commands:
        result = runner.invoke(main, [name, "--help"], terminal_width=80)
        assert result.exit_code == 0, result.output
        usage = result.output.splitlines()[0].replace("Usage: main", "Usage: redist")
        assert usage in text, f"{usage!r} missing from docs/cli.md"
        assert f"`redist {name}`" in text


def test_cli_page_is_plain_markdown() -> None:
    """Readable on GitHub: no MyST roles or directives, and working in-page links."""
    text = CLI_MD.read_text(encoding="utf-8")
    assert "{doc}" not in text and "```{" not in text and "{eval-rst}" not in text
    headings = {
        "-".join(m.group(1).split()) for m in re.finditer(r"^#{2,4} `([^`]+)`$", text, flags=re.MULTILINE)
    }
    links = set(re.findall(r"\]\(#([a-z0-9-]+)\)", text))
    assert links and links == headings
