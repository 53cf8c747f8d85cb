"""Results printed into a pipe or a log keep whole table cells."""

from __future__ import annotations

from rich.table import Table

from transferkit.terminal import PIPED_WIDTH, stdout_console


def _printed_table(console) -> str:
    table = Table()
    for column in ("spec", "logme", "leep", "nce", "h_score", "knn", "linear", "params", "embed s", "note"):
        table.add_column(column)
    table.add_row(
        "bundled:smollm2-135m", "-0.660", "n/a", "n/a", "0.148", "0.614", "0.670", "134.5M", "33.3", "recommended"
    )
    with console.capture() as captured:
        console.print(table)
    return captured.get()


def test_off_a_terminal_tables_are_wide_enough_to_name_every_candidate(monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    console = stdout_console()  # pytest captures stdout: not a terminal
    assert console.width == PIPED_WIDTH
    assert "bundled:smollm2-135m" in _printed_table(console) and "recommended" in _printed_table(console)


def test_columns_set_by_the_user_still_wins(monkeypatch):
    monkeypatch.setenv("COLUMNS", "60")
    console = stdout_console()
    assert console.width == 60
    assert "bundled:smollm2-135m" not in _printed_table(console)  # what rich's 80-column fallback did to rankings
