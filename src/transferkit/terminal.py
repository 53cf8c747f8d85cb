"""The command line's consoles: tables keep their full width when the output is a file, a pipe or a CI log.

Rich falls back to 80 columns when standard output is not a terminal, and then shortens table cells to
"bun…": a ranking printed into a log no longer names its candidates. Off a terminal (and unless COLUMNS
says otherwise) the console is `PIPED_WIDTH` columns wide instead.
"""

from __future__ import annotations

import os
import sys

from rich.console import Console

PIPED_WIDTH = 200


def stdout_console() -> Console:
    """A console for results on standard output, `PIPED_WIDTH` wide when that is not a terminal."""
    piped = not sys.stdout.isatty() and not os.environ.get("COLUMNS")
    return Console(width=PIPED_WIDTH if piped else None)
