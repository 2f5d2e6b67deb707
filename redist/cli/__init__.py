"""The ``redist`` command line: one module per command group."""

from __future__ import annotations

import importlib
import importlib.util

import click

__all__ = ["main"]

# group name -> (module, attribute); imported lazily so that `redist --help` stays fast
_GROUPS = {
    "theory": ("redist.cli.theory", "theory"),
    "demo": ("redist.cli.demo", "demo"),
    "fm": ("redist.cli.fm", "fm"),
    "fit": ("redist.cli.infer", "fit"),
    "scan": ("redist.cli.infer", "scan"),
    "limit": ("redist.cli.infer", "limit"),
    "sample": ("redist.cli.infer", "sample"),
    "patchset": ("redist.cli.patch", "patchset"),
    "build": ("redist.cli.patch", "build"),
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        names = []
        for name, (mod, _) in _GROUPS.items():
            if importlib.util.find_spec(mod) is not None:
                names.append(name)
        return sorted(names)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in _GROUPS:
            return None
        mod, attr = _GROUPS[cmd_name]
        if importlib.util.find_spec(mod) is None:
            return None
        return getattr(importlib.import_module(mod), attr)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="redist")
def main() -> None:
    """Reinterpret binned results (pyhf likelihoods) for new theories."""
