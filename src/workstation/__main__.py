"""Entry point of the desktop workstation: ``uv run workstation``."""

from __future__ import annotations

import sys


def main() -> int:
    """Open the workstation (see ``workstation --help``)."""
    from workstation.app import run

    return run(sys.argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())
