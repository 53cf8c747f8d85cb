"""Progress display for long work (extraction, prediction, training), on terminals and in notebooks only."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn, TimeRemainingColumn
from rich.text import Text


class _Rate(ProgressColumn):
    """Items per second, over rich's recent-speed window."""

    def render(self, task) -> Text:
        return Text(f"{task.speed:.1f}/s" if task.speed else "-/s", style="progress.data.speed")


def progress_enabled() -> bool:
    """Whether to draw progress: on a terminal or in a notebook, unless TRANSFERKIT_PROGRESS=0.

    Into a file, pipe or CI log a live bar leaves only noise: rich's transient bars one empty line each,
    Lightning's the last frame of every epoch. `TTY_COMPATIBLE=1` (rich's switch) draws them anyway.
    """
    if os.environ.get("TRANSFERKIT_PROGRESS", "1") == "0":
        return False
    console = Console(stderr=True)
    return console.is_terminal or console.is_jupyter


@contextmanager
def progress_bar(description: str, *, total: int, rate: bool = False) -> Iterator[Callable[[int], None]]:
    """Yield an `advance(n)` function; rich draws the bar on stderr (stdout stays clean for results).
    `rate` adds items per second (long streamed jobs, e.g. batch prediction)."""
    if total == 0 or not progress_enabled():
        yield lambda _n: None
        return
    columns: tuple = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    if rate:
        columns += (_Rate(),)
    with Progress(*columns, transient=True, console=Console(stderr=True)) as progress:
        task = progress.add_task(description, total=total)
        yield lambda n: progress.advance(task, n)
