"""RL run configs: YAML round trip and errors that name the key."""

from __future__ import annotations

import pytest

from transferkit.errors import ConfigError
from transferkit.rl import PretrainSpec, TransferSpec


def test_pretrain_spec_round_trips_through_yaml(tmp_path):
    spec = PretrainSpec.from_dict(
        {"env": {"id": "CartPole-v1", "randomize": {"length": [0.4, 0.8]}}, "algo": {"name": "dqn"}, "steps": 100}
    )
    path = tmp_path / "run.yaml"
    path.write_text(spec.to_yaml())
    assert PretrainSpec.from_yaml(path) == spec


def test_config_errors_name_the_key():
    with pytest.raises(ConfigError, match=r"Unknown key 'env\.pole'"):
        PretrainSpec.from_dict({"env": {"id": "CartPole-v1", "pole": 1.0}})
    with pytest.raises(ConfigError, match=r"'env\.randomize' option needs low <= high for 'g'"):
        PretrainSpec.from_dict({"env": {"id": "Pendulum-v1", "randomize": {"g": [12, 8]}}})
    with pytest.raises(ConfigError, match="'strategy' option must be one of finetune, freeze-features"):
        TransferSpec.from_dict({"source": "runs/x", "env": {"id": "CartPole-v1"}, "strategy": "fine-tune"})
    with pytest.raises(ConfigError, match="does not exist"):
        TransferSpec.from_yaml("no/such/run.yaml")
