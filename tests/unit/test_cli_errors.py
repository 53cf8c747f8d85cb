"""The command line's error promise: every failure ends with one line on stderr and a documented exit code.

2 (EXIT_USAGE): the input or the options; 1 (EXIT_BUG): a bug, the line naming a log file with the traceback;
130: interrupted. `--debug` prints the traceback instead. The hostile-input corpus is in
tests/integration/test_hostile_inputs.py; these are the boundary's own cases.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from typer.testing import CliRunner

from transferkit import api
from transferkit.cli import app, run
from transferkit.errors import EXIT_BUG, EXIT_INTERRUPTED, EXIT_USAGE, DataError, attached_log
from transferkit.run_folder import LOG_FILE, RunFolder, run_log


def _one_line(captured) -> str:
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err
    return lines[0]


@pytest.fixture
def fit_raises(monkeypatch):
    """Make `transferkit fit` raise the given exception (nothing trains)."""

    def install(exc: BaseException) -> None:
        def failing(*args, **kwargs):
            raise exc

        monkeypatch.setattr(api, "fit", failing)

    return install


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["fit", "d.csv", "--no-such-flag"], "--no-such-flag"),
        (["fit", "d.csv", "--epochs", "many"], "--epochs"),
        (["predict"], "'model'"),
        (["no-such-command"], "no-such-command"),
        (["rl", "transfer", "--seeds"], "--seeds"),
    ],
    ids=["unknown-flag", "not-a-number", "missing-argument", "unknown-command", "option-without-value"],
)
def test_usage_errors_are_one_line_with_exit_code_2(capsys, args, names):
    assert run(args) == EXIT_USAGE
    line = _one_line(capsys.readouterr())
    assert line.startswith("Error: ") and names in line and "--help" in line


@pytest.mark.parametrize(
    ("flag", "value", "key", "choices"),
    [
        ("--augment", "medium", "augment.policy", "none, light, strong"),
        ("--head", "deep", "strategy.head", "linear, mlp"),
        ("--schedule", "sawtooth", "optim.schedule", "constant, step, exponential, cosine, one-cycle, plateau"),
    ],
)
def test_a_bad_choice_names_the_config_key_and_the_choices(capsys, flag, value, key, choices):
    assert run(["fit", "d.csv", flag, value]) == EXIT_USAGE
    line = _one_line(capsys.readouterr())
    assert f"'{key}'" in line and f"must be one of {choices}" in line and repr(value) in line


def test_the_choices_stay_listed_in_help():
    result = CliRunner().invoke(app, ["fit", "--help"], terminal_width=200)
    assert "--augment <none|light|strong>" in result.output and "--head <linear|mlp>" in result.output


def test_a_transferkit_error_is_its_message_on_one_line(capsys, fit_raises):
    fit_raises(DataError("reviews.csv has a single class ('good');\nadd examples of another class."))
    assert run(["fit", "reviews.csv"]) == EXIT_USAGE
    assert _one_line(capsys.readouterr()) == (
        "Error: reviews.csv has a single class ('good'); add examples of another class."
    )


def test_a_bug_is_exit_code_1_naming_a_log_with_the_traceback(capsys, fit_raises, tmp_path, monkeypatch):
    monkeypatch.setenv("TRANSFERKIT_CACHE", str(tmp_path / "cache"))
    fit_raises(ZeroDivisionError("division by zero"))
    assert run(["fit", "reviews.csv"]) == EXIT_BUG
    line = _one_line(capsys.readouterr())
    assert "unexpected ZeroDivisionError: division by zero" in line and "bug" in line
    log = Path(line.split("the traceback is in ")[1].split(";")[0])
    assert log.parent == tmp_path / "cache" / "logs"
    text = log.read_text(encoding="utf-8")
    assert "Traceback" in text and "ZeroDivisionError" in text and "command: transferkit fit reviews.csv" in text


def test_debug_shows_the_traceback(capsys, fit_raises):
    fit_raises(ZeroDivisionError("division by zero"))
    assert run(["fit", "reviews.csv", "--debug"]) == EXIT_BUG
    assert "Traceback" in capsys.readouterr().err
    fit_raises(DataError("bad data"))
    assert run(["--debug", "fit", "reviews.csv"]) == EXIT_USAGE
    assert "Traceback" in capsys.readouterr().err


def test_a_bug_inside_a_run_points_at_its_fit_log(capsys, fit_raises, tmp_path):
    folder = RunFolder.claim(tmp_path, "crashed", overwrite=False)
    try:
        with folder.in_progress(), run_log(folder.path):
            raise KeyError("head")
    except KeyError as exc:
        crash = exc
    assert attached_log(crash) == folder.path / LOG_FILE
    assert "Traceback" in (folder.path / LOG_FILE).read_text(encoding="utf-8")
    fit_raises(crash)
    assert run(["fit", "reviews.csv"]) == EXIT_BUG
    assert f"the traceback is in {folder.path / LOG_FILE}" in _one_line(capsys.readouterr())


def test_a_user_error_inside_a_run_is_logged_without_traceback(tmp_path):
    folder = RunFolder.claim(tmp_path, "refused", overwrite=False)
    with pytest.raises(DataError), folder.in_progress(), run_log(folder.path):
        raise DataError("too few rows")
    log = (folder.path / LOG_FILE).read_text(encoding="utf-8")
    assert "run failed: too few rows" in log and "Traceback" not in log
    assert logging.getLogger("transferkit").handlers == []  # the run's handler is gone


def test_a_failed_overwrite_names_the_log_where_the_attempt_went(tmp_path):
    first = RunFolder.claim(tmp_path, "run", overwrite=False)
    (first.path / "metrics.json").write_text("{}", encoding="utf-8")
    second = RunFolder.claim(tmp_path, "run", overwrite=True)
    with pytest.raises(RuntimeError) as caught, second.in_progress(), run_log(second.path):
        raise RuntimeError("crash")
    log = attached_log(caught.value)
    assert log is not None and log.is_file() and log.parent.name.startswith("run.failed-")
    assert (tmp_path / "run" / "metrics.json").is_file()  # the old run is back


def test_interrupt_is_exit_code_130(capsys, fit_raises):
    fit_raises(KeyboardInterrupt())
    assert run(["fit", "reviews.csv"]) == EXIT_INTERRUPTED
    assert _one_line(capsys.readouterr()) == "Interrupted."
