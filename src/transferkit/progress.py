"""Progress display for long work (extraction, prediction), quiet when output is not a terminal."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn


def progress_enabled() -> bool:
    return os.environ.get("TRANSFERKIT_PROGRESS", "1") != "0"


@contextmanager
def progress_bar(description: str, *, total: int) -> Iterator[Callable[[int], None]]:
    """Yield an `advance(n)` function; rich draws the bar on stderr (stdout stays clean for results).

    Only on a terminal or in a notebook: into a file, pipe or CI log a transient bar leaves nothing but one empty
    line per bar.
    `TTY_COMPATIBLE=1` (rich's switch) draws it anyway; `TRANSFERKIT_PROGRESS=0` turns it off everywhere.
    """
    console = Console(stderr=True)
    if not progress_enabled() or total == 0 or not (console.is_terminal or console.is_jupyter):
        yield lambda _n: None
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, transient=True, console=console) as progress:
        task = progress.add_task(description, total=total)
        yield lambda n: progress.advance(task, n)
