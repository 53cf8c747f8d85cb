"""Each transfer strategy freezes or resets exactly what it says, for PPO, DQN and SAC."""

from __future__ import annotations

import pytest
import torch
from stable_baselines3.common.vec_env import DummyVecEnv

from transferkit.rl import AlgoConfig, EnvSpec, make_env
from transferkit.rl.policy import build_model, load_policy
from transferkit.rl.strategies import get_rl_strategy, parameters_of, split_policy

from .conftest import PPO_KWARGS

TINY_PPO = {**PPO_KWARGS, "n_steps": 64, "batch_size": 32, "n_epochs": 2}


def _vec(env_id: str) -> DummyVecEnv:
    return DummyVecEnv([lambda: make_env(EnvSpec(id=env_id), seed=0)])


def _source_model(cartpole_source, **kwargs):
    model, _info = load_policy(cartpole_source.policy_dir, env=_vec("CartPole-v1"), seed=0, kwargs=kwargs)
    model.num_timesteps = 0
    return model


def _snapshot(parts) -> list[torch.Tensor]:
    return [parameter.detach().clone() for parameter in parameters_of(parts)]


def _changed(before: list[torch.Tensor], parts) -> list[bool]:
    return [not torch.equal(old, new) for old, new in zip(before, parameters_of(parts), strict=True)]


def test_freeze_features_trains_only_the_heads(cartpole_source):
    model = _source_model(cartpole_source, **TINY_PPO)
    features, heads = split_policy(model)
    get_rl_strategy("freeze-features").prepare(model)
    assert not any(p.requires_grad for p in parameters_of(features))
    assert all(p.requires_grad for p in parameters_of(heads))
    features_before, heads_before = _snapshot(features), _snapshot(heads)
    model.learn(total_timesteps=64)
    assert not any(_changed(features_before, features))
    assert all(p.grad is None for p in parameters_of(features))
    assert any(_changed(heads_before, heads))


def test_finetune_trains_features_and_heads(cartpole_source):
    model = _source_model(cartpole_source, **TINY_PPO)
    features, heads = split_policy(model)
    get_rl_strategy("finetune").prepare(model)
    features_before, heads_before = _snapshot(features), _snapshot(heads)
    model.learn(total_timesteps=64)
    assert any(_changed(features_before, features)) and any(_changed(heads_before, heads))


def test_reinit_head_resets_heads_and_keeps_features(cartpole_source):
    source = _source_model(cartpole_source)
    model = _source_model(cartpole_source)
    get_rl_strategy("reinit-head").prepare(model)
    (source_features, source_heads), (features, heads) = split_policy(source), split_policy(model)
    for old, new in zip(parameters_of(source_features), parameters_of(features), strict=True):
        assert torch.equal(old, new)
    for old, new in zip(parameters_of(source_heads), parameters_of(heads), strict=True):
        assert not torch.equal(old, new)
    assert all(p.requires_grad for p in model.policy.parameters())


def test_zero_shot_freezes_everything(cartpole_source):
    model = _source_model(cartpole_source)
    strategy = get_rl_strategy("zero-shot")
    strategy.prepare(model)
    assert strategy.trains is False
    assert not any(p.requires_grad for p in model.policy.parameters())


def test_dqn_split_and_reinit_keep_the_target_network_in_step():
    model = build_model(AlgoConfig(name="dqn", net_arch=[16, 16]), env=_vec("CartPole-v1"), seed=0)
    features, heads = split_policy(model)
    assert heads == [model.policy.q_net.q_net[-1]]
    get_rl_strategy("reinit-head").prepare(model)
    for online, target in zip(model.policy.q_net.parameters(), model.policy.q_net_target.parameters(), strict=True):
        assert torch.equal(online, target)
    get_rl_strategy("freeze-features").prepare(model)
    assert not any(p.requires_grad for p in parameters_of(features))
    assert all(p.requires_grad for p in parameters_of(heads))


def test_sac_features_are_hidden_layers_of_actor_and_critics():
    model = build_model(AlgoConfig(name="sac", net_arch=[16]), env=_vec("Pendulum-v1"), seed=0)
    _features, heads = split_policy(model)
    critic = model.policy.critic
    assert model.policy.actor.mu in heads and critic.qf0[-1] in heads and critic.qf1[-1] in heads
    get_rl_strategy("freeze-features").prepare(model)
    assert not model.policy.actor.latent_pi[0].weight.requires_grad
    assert not critic.qf0[0].weight.requires_grad
    assert model.policy.actor.mu.weight.requires_grad and critic.qf1[-1].weight.requires_grad


def test_unknown_strategy_lists_the_valid_ones():
    from transferkit.errors import ConfigError

    with pytest.raises(ConfigError, match="zero-shot"):
        get_rl_strategy("fine-tune")
