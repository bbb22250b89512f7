"""Entry point of the desktop workstation: ``uv run workstation``."""

from __future__ import annotations

import os
import sys


def main() -> int:
    """Open the workstation (see ``workstation --help``)."""
    from workstation.app import run

    code = run(sys.argv[1:])
    # Everything is saved and closed by now. Interpreter finalization would then garbage-collect Qt objects in an
    # order that crashes inside the Qt bindings (a refcount error during teardown, not in our code), turning a
    # clean exit into an abort; leave without it.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    raise SystemExit(main())
