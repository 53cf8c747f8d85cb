"""SB3 constructor arguments: only known hyper-parameters with plain values reach stable-baselines3, whether they
come from a config, a flag or a received policy.json."""

from __future__ import annotations

import json

import pytest

from transferkit.errors import ArtifactError, ConfigError
from transferkit.rl import AlgoConfig, PretrainSpec, TransferSpec
from transferkit.rl.algo_kwargs import check_algo_kwargs, sb3_policy_kwargs


@pytest.mark.parametrize(
    ("algo", "kwargs"),
    [
        ("ppo", {"n_steps": 64, "batch_size": 32, "learning_rate": 3e-4, "target_kl": None}),
        ("sac", {"ent_coef": "auto_0.1", "train_freq": [1, "episode"], "learning_starts": 50}),
        ("dqn", {"exploration_fraction": 0.2, "policy_kwargs": {"net_arch": [16], "activation_fn": "relu"}}),
        ("ppo", {"policy_kwargs": {"net_arch": {"pi": [8], "vf": [8]}, "ortho_init": False}}),
    ],
)
def test_known_hyper_parameters_pass(algo, kwargs):
    check_algo_kwargs(algo, kwargs)
    assert AlgoConfig(name=algo, kwargs=kwargs).kwargs == kwargs


@pytest.mark.parametrize(
    ("algo", "kwargs", "message"),
    [
        ("ppo", {"tensorboard_log": "/etc"}, r"'tensorboard_log', which is not a stable-baselines3 argument"),
        ("dqn", {"replay_buffer_class": "stable_baselines3.her.HerReplayBuffer"}, r"'replay_buffer_class'"),
        ("ppo", {"device": "cuda"}, r"'device'"),
        ("ppo", {"_init_setup_model": False}, r"'_init_setup_model'"),
        ("ppo", {"buffer_size": 10}, r"'buffer_size'.*to PPO"),  # an off-policy argument on PPO
        ("ppo", {"policy_kwargs": {"optimizer_class": "torch.optim.SGD"}}, r"'policy_kwargs\.optimizer_class'"),
        ("sac", {"policy_kwargs": {"features_extractor_class": "x.Y"}}, r"'policy_kwargs\.features_extractor_class'"),
        ("ppo", {"policy_kwargs": {"activation_fn": "os.system"}}, r"needs one of relu, .* 'policy_kwargs\.activ"),
        ("ppo", {"policy_kwargs": "net_arch=[8]"}, r"needs a mapping of argument names to values for 'policy_kwargs'"),
        ("ppo", {"learning_rate": "lambda p: p"}, r"needs a finite number for 'learning_rate'"),
        ("ppo", {"n_steps": 6.5}, r"needs an integer for 'n_steps'"),
        ("ppo", {"gamma": float("nan")}, r"needs a finite number for 'gamma'"),
        ("sac", {"train_freq": [1, "os.system"]}, r"'train_freq'"),
    ],
)
def test_anything_else_is_refused_by_name(algo, kwargs, message):
    with pytest.raises(ValueError, match=message):
        check_algo_kwargs(algo, kwargs)
    with pytest.raises(ConfigError, match=r"The 'algo\.kwargs' option"):
        PretrainSpec.from_dict({"env": {"id": "CartPole-v1"}, "algo": {"name": algo, "kwargs": kwargs}})


def test_transfer_overrides_are_checked_too():
    with pytest.raises(ConfigError, match=r"The 'algo_kwargs' option has 'tensorboard_log'"):
        TransferSpec.from_dict(
            {"source": "runs/x", "env": {"id": "CartPole-v1"}, "algo_kwargs": {"tensorboard_log": "x"}}
        )


def test_activation_names_become_torch_classes():
    from torch import nn

    assert sb3_policy_kwargs({"activation_fn": "tanh", "net_arch": [8]}) == {"activation_fn": nn.Tanh, "net_arch": [8]}


def test_a_received_policy_json_with_other_kwargs_is_refused_before_sb3_sees_it(tmp_path):
    pytest.importorskip("stable_baselines3", reason="the rl extra is not installed")
    from transferkit.rl.policy import INFO_FILE, WEIGHTS_FILE, build_model, read_policy_info

    folder = tmp_path / "policy"
    folder.mkdir()
    (folder / WEIGHTS_FILE).write_bytes(b"")
    info = {
        "format_version": 1,
        "algo": {"name": "ppo", "net_arch": [8], "kwargs": {"policy_kwargs": {"features_extractor_class": "a.B"}}},
        "env": {"id": "CartPole-v1"},
    }
    (folder / INFO_FILE).write_text(json.dumps(info))
    with pytest.raises(ArtifactError, match=r"policy\.json is refused: 'algo\.kwargs' has 'policy_kwargs\."):
        read_policy_info(folder)
    # An override on top of a checked config is checked against the algorithm before SB3 is built.
    with pytest.raises(ConfigError, match=r"\(algo\.kwargs, --algo-kwarg\) has 'buffer_size'.*to PPO"):
        build_model(AlgoConfig(name="ppo"), env=None, seed=0, kwargs={"buffer_size": 10})
