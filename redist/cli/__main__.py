"""``python -m redist.cli``: the ``redist`` command."""

from redist.cli import main

main()
