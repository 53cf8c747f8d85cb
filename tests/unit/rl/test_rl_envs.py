"""Environment pairs: physics overrides at reset, domain randomisation, sim-to-real wrappers, view mapping."""

from __future__ import annotations

import numpy as np
import pytest

from transferkit.errors import ConfigError
from transferkit.rl import EnvSpec, env_parameters, make_env


def _unwrapped_after_reset(spec: EnvSpec):
    env = make_env(spec, seed=0)
    env.reset(seed=0)
    return env, env.unwrapped


def test_cartpole_pole_length_applies_at_reset_with_derived_quantities():
    _env, cartpole = _unwrapped_after_reset(EnvSpec(id="CartPole-v1", params={"length": 1.0, "masspole": 0.2}))
    assert cartpole.length == 1.0 and cartpole.masspole == 0.2
    assert cartpole.polemass_length == pytest.approx(0.2)
    assert cartpole.total_mass == pytest.approx(1.2)


def test_unknown_parameter_names_the_env_and_the_valid_names():
    with pytest.raises(ConfigError, match=r"Unknown parameter 'pole_length' for environment CartPole-v1.*length"):
        make_env(EnvSpec(id="CartPole-v1", params={"pole_length": 1.0}))


def test_unknown_environment_id_is_a_config_error():
    with pytest.raises(ConfigError, match="Cannot create environment 'CartPol-v1'"):
        make_env(EnvSpec(id="CartPol-v1"))


def test_domain_randomisation_draws_each_episode_within_the_range():
    env = make_env(EnvSpec(id="Pendulum-v1", randomize={"g": (5.0, 15.0)}), seed=0)
    draws = []
    for episode in range(6):
        env.reset(seed=episode)
        draws.append(env.unwrapped.g)
    assert all(5.0 <= g <= 15.0 for g in draws)
    assert len(set(draws)) == 6


def test_observation_noise_changes_observations_by_about_its_std():
    clean = make_env(EnvSpec(id="CartPole-v1"))
    noisy = make_env(EnvSpec(id="CartPole-v1", obs_noise=0.5))
    differences = [noisy.reset(seed=s)[0] - clean.reset(seed=s)[0] for s in range(200)]
    assert np.std(differences) == pytest.approx(0.5, rel=0.15)


def test_action_delay_applies_each_action_late():
    delayed = make_env(EnvSpec(id="CartPole-v1", action_delay=2))
    reference = make_env(EnvSpec(id="CartPole-v1"))
    actions = [1, 0, 0, 1, 1, 0]
    delayed.reset(seed=3)
    reference.reset(seed=3)
    # With a delay of 2 the environment receives the first action three times, then the rest in order.
    for sent, applied in zip(actions, [1, 1, 1, 0, 0, 1], strict=True):
        obs_delayed = delayed.step(sent)[0]
        obs_reference = reference.step(applied)[0]
        np.testing.assert_allclose(obs_delayed, obs_reference)


def test_actuator_strength_scales_continuous_actions_and_refuses_discrete_ones():
    weak = make_env(EnvSpec(id="Pendulum-v1", actuator_strength=0.5))
    full = make_env(EnvSpec(id="Pendulum-v1"))
    weak.reset(seed=1)
    full.reset(seed=1)
    np.testing.assert_allclose(weak.step(np.array([2.0]))[0], full.step(np.array([1.0]))[0], rtol=1e-6)
    with pytest.raises(ConfigError, match="force_mag"):
        make_env(EnvSpec(id="CartPole-v1", actuator_strength=0.5))


def test_mujoco_torso_mass_scales_from_the_model_defaults_without_compounding(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # MuJoCo 4 writes a deprecation warning about HalfCheetah's XML to ./MUJOCO_LOG.TXT
    env = make_env(EnvSpec(id="HalfCheetah-v5", params={"mass_scale.torso": 1.5, "friction_scale": 0.5}))
    model = env.unwrapped.model
    torso = model.body("torso").id
    default_mass, default_friction = model.body_mass[torso], model.geom_friction[0, 0]
    env.reset(seed=0)
    env.reset(seed=1)
    assert model.body_mass[torso] == pytest.approx(1.5 * default_mass)
    assert model.body_mass[model.body("bthigh").id] == pytest.approx(1.5435146)  # other bodies unchanged
    assert model.geom_friction[0, 0] == pytest.approx(0.5 * default_friction)
    assert "mass_scale.torso" in env_parameters(env) and "gravity" in env_parameters(env)


def test_minigrid_partial_views_have_the_same_shape_across_grid_sizes():
    small = make_env(EnvSpec(id="MiniGrid-DoorKey-5x5-v0"))
    large = make_env(EnvSpec(id="MiniGrid-DoorKey-8x8-v0"))
    assert small.observation_space == large.observation_space
    assert small.observation_space.shape == (147,)  # the 7x7x3 partial view, flattened
    assert small.reset(seed=0)[0].shape == (147,)
