"""Entry point of the desktop workstation."""

from __future__ import annotations

import sys


def main() -> int:
    """Start the desktop. The desktop panels are not part of this release yet; the engine runs headless."""
    print("The desktop is not available yet: run `workstation-engine sim` for the headless engine.", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
