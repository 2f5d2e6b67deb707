"""docs/cli.md is the ``--help`` text of every ``redist`` command, and it is current.

When a command changes, regenerate the page with ``python docs/_scripts/gen_cli.py``.
"""

from __future__ import annotations

import difflib
import importlib.util
import re
from pathlib import Path

from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
CLI_MD = ROOT / "docs" / "cli.md"


def _gen_cli():
    spec = importlib.util.spec_from_file_location("gen_cli", ROOT / "docs" / "_scripts" / "gen_cli.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_page_matches_help() -> None:
    expected = _gen_cli().render()
    current = CLI_MD.read_text(encoding="utf-8")
    if current != expected:
        diff = "".join(
            list(
                difflib.unified_diff(
                    current.splitlines(keepends=True),
                    expected.splitlines(keepends=True),
                    "docs/cli.md",
                    "redist --help",
                )
            )[:60]
        )
        raise AssertionError(f"docs/cli.md is stale: run `python docs/_scripts/gen_cli.py`\n{diff}")


def test_cli_page_holds_every_command_help() -> None:
    """Independent of the generator: each command's help, as click prints it, is on the page."""
    from redist.cli import main

    text = CLI_MD.read_text(encoding="utf-8")
    runner = CliRunner()
    commands = main.list_commands(None)  # type: ignore[arg-type]
    assert {"fit", "scan", "theory", "patchset"} <= set(commands)
    for name in commands:
        result = runner.invoke(main, [name, "--help"], terminal_width=100)
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
