"""``python -m neutralkit`` and the ``neutralkit`` console script."""

from __future__ import annotations

import sys

from .cli import main as _cli_main


def main() -> None:
    """Entry point: run the command line and exit with its status."""
    sys.exit(_cli_main())


if __name__ == "__main__":
    main()
