"""Progress bars draw on a terminal only; logs and pipes get no stray empty lines."""

from __future__ import annotations

import pytest

from transferkit.progress import progress_bar


def _run_bar() -> None:
    with progress_bar("Embedding", total=3) as advance:
        for _ in range(3):
            advance(1)


def test_no_output_when_stderr_is_not_a_terminal(capsys, monkeypatch) -> None:
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("TTY_COMPATIBLE", raising=False)
    _run_bar()
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("setting", ["1", "0"])
def test_a_forced_terminal_draws_the_bar_unless_progress_is_off(capsys, monkeypatch, setting) -> None:
    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # rich's switch: treat stderr as a terminal
    monkeypatch.setenv("TRANSFERKIT_PROGRESS", setting)
    _run_bar()
    drawn = capsys.readouterr().err
    assert ("Embedding" in drawn) == (setting == "1")


def test_training_progress_follows_the_same_rule(monkeypatch) -> None:
    from transferkit.progress import progress_enabled

    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("TRANSFERKIT_PROGRESS", raising=False)
    monkeypatch.delenv("TTY_COMPATIBLE", raising=False)
    assert not progress_enabled()  # pytest captures stderr: not a terminal, so Lightning's bar stays off too
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    assert progress_enabled()
