"""``python -m midivae.cli``: the same as the ``midivae`` command."""

from midivae.cli.main import main

main()
