"""``python -m sregistry``: the same as the ``sregistry`` command."""

from sregistry.cli import main

main()
