"""The `rl` sub-app: `transferkit --help` works without the rl extra; its commands then name the extra."""

from __future__ import annotations

import sys

import pytest

from transferkit.rl.cli import parse_kwargs, parse_params, parse_ranges

# Modules imported afresh by the test: the CLI itself and everything that needs the rl extra.
REIMPORTED = (
    "transferkit.cli",
    "transferkit.rl.cli",
    "transferkit.rl.train",
    "transferkit.rl.policy",
    "transferkit.rl.envs",
    "transferkit.rl.callbacks",
)


def test_help_works_and_rl_commands_name_the_extra_without_it(monkeypatch, capsys):
    # As if the rl extra were not installed: importing these raises ImportError (sys.modules is restored after).
    for missing in ("gymnasium", "stable_baselines3"):
        monkeypatch.setitem(sys.modules, missing, None)
    for module in REIMPORTED:
        monkeypatch.delitem(sys.modules, module, raising=False)
    from transferkit.cli import run

    assert run(["--help"]) == 0
    assert run(["rl", "--help"]) == 0
    assert "pretrain" in capsys.readouterr().out
    assert run(["rl", "pretrain", "--env", "CartPole-v1", "--steps", "10"]) == 2
    assert "pip install 'transferkit[rl]'" in capsys.readouterr().err.replace("\n", "")


def test_option_parsers():
    assert parse_params(["length=1.0", "masspole=0.2"]) == {"length": 1.0, "masspole": 0.2}
    assert parse_ranges(["g=5:15"]) == {"g": (5.0, 15.0)}
    assert parse_kwargs(["n_steps=256", "gamma=0.98", "use_sde=true"]) == {
        "n_steps": 256,
        "gamma": 0.98,
        "use_sde": True,
    }
    from transferkit.errors import ConfigError

    with pytest.raises(ConfigError, match="NAME=VALUE"):
        parse_params(["length"])
    with pytest.raises(ConfigError, match="LOW:HIGH"):
        parse_ranges(["g=5"])
