"""Pretrain -> transfer on CartPole with a longer pole: jumpstart, run folders, artifacts, resume, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from transferkit.rl import SpaceMismatchError, pretrain, transfer
from transferkit.rl.policy import load_policy

from .conftest import SMALL_PPO

LONG_POLE = {"length": 1.0}  # default 0.5


def test_pretrain_writes_a_run_folder_with_a_safetensors_policy(cartpole_source):
    run = cartpole_source.run_dir
    assert {"config.yaml", "metrics.json", "curves.json", "fit.log", "policy"} <= {p.name for p in run.iterdir()}
    policy_files = {p.name for p in cartpole_source.policy_dir.iterdir()}
    assert policy_files == {"policy.safetensors", "policy.json"}  # no pickles
    info = json.loads((cartpole_source.policy_dir / "policy.json").read_text())
    assert info["spaces"]["observation"]["shape"] == [4] and info["spaces"]["action"]["n"] == 2
    assert [point["step"] for point in info["curve"]] == [0, 1280, 2560]
    # The source learned something: better than its untrained start.
    assert info["curve"][-1]["mean"] > info["curve"][0]["mean"] + 20


def test_policy_round_trip_gives_the_same_actions(cartpole_source):
    from stable_baselines3.common.vec_env import DummyVecEnv

    from transferkit.rl import EnvSpec, make_env

    env = DummyVecEnv([lambda: make_env(EnvSpec(id="CartPole-v1"), seed=0)])
    first, _ = load_policy(cartpole_source.policy_dir, env=env, seed=1)
    second, _ = load_policy(cartpole_source.run_dir, env=env, seed=2)
    observations = np.random.default_rng(0).normal(size=(32, 4)).astype(np.float32)
    np.testing.assert_array_equal(
        first.predict(observations, deterministic=True)[0], second.predict(observations, deterministic=True)[0]
    )


@pytest.mark.slow
def test_transfer_to_a_longer_pole_has_a_positive_jumpstart_on_the_same_seeds(cartpole_source, runs_dir):
    result = transfer(
        cartpole_source.policy_dir,
        env="CartPole-v1",
        params=LONG_POLE,
        strategy="finetune",
        steps=256,
        seeds=[0, 1],
        eval_every=256,
        eval_episodes=2,
        threshold=100,
        name="long-pole",
        output_dir=runs_dir,
        algo_kwargs={"n_steps": 128},
    )
    assert [m["seed"] for m in result.metrics["per_seed"]] == [0, 1]
    assert all(m["jumpstart"] > 0 for m in result.metrics["per_seed"])
    summary = result.metrics["summary"]
    assert summary["jumpstart"]["mean"] > 0 and summary["jumpstart"]["low"] is not None
    assert summary["negative_transfer"] is False
    for arm in ("transfer", "scratch"):
        assert [p["step"] for p in result.curves[arm]["seeds"]["0"]] == [0, 256]
        assert result.curves[arm]["bands"]["steps"] == [0.0, 256.0]
    assert json.loads((result.run_dir / "curves.json").read_text())["scratch"]["bands"]["steps"] == [0.0, 256.0]
    assert result.curves["source"]["seeds"]["0"][-1]["step"] == 2560
    files = {p.name for p in result.run_dir.iterdir()}
    assert {"config.yaml", "metrics.json", "curves.json", "report.html", "policy", "seeds", "fit.log"} <= files
    assert "data:image/png;base64," in (result.run_dir / "report.html").read_text()
    info = json.loads((result.policy_dir / "policy.json").read_text())
    assert info["env"]["params"] == LONG_POLE and info["strategy"] == "finetune"

    # --resume reuses finished seeds instead of training them again (edit one to prove it is read back).
    done = result.run_dir / "seeds" / "transfer-seed1.json"
    saved = json.loads(done.read_text())
    saved["curve"][0]["mean"] = -1000.0
    done.write_text(json.dumps(saved))
    resumed = transfer(name="long-pole", output_dir=runs_dir, resume=True)
    assert resumed.metrics["per_seed"][1]["jumpstart"] < -900
    assert resumed.metrics["per_seed"][0]["jumpstart"] == result.metrics["per_seed"][0]["jumpstart"]


def test_zero_shot_evaluates_once_on_the_scratch_grid(cartpole_source, runs_dir):
    result = transfer(
        cartpole_source.run_dir,
        env="CartPole-v1",
        params=LONG_POLE,
        strategy="zero-shot",
        steps=128,
        seeds=[3],
        eval_every=64,
        eval_episodes=1,
        threshold=100,
        name="zero",
        output_dir=runs_dir,
        algo_kwargs={"n_steps": 64, "batch_size": 32, "n_epochs": 1},
    )
    curve = result.curves["transfer"]["seeds"]["3"]
    assert [p["step"] for p in curve] == [p["step"] for p in result.curves["scratch"]["seeds"]["3"]] == [0, 64, 128]
    assert len({p["mean"] for p in curve}) == 1


def test_mismatched_spaces_give_a_clear_error(cartpole_source, runs_dir):
    with pytest.raises(
        SpaceMismatchError,
        match=r"policy from CartPole-v1 expects the observation space .*\(4,\).*"
        r"Acrobot-v1 has .*\(6,\)",
    ):
        transfer(cartpole_source.policy_dir, env="Acrobot-v1", steps=64, seeds=[0], name="bad", output_dir=runs_dir)
    assert not (Path(runs_dir) / "bad").exists()  # checked before any folder is made or step is taken


def test_mismatched_spaces_exit_2_with_one_line_on_the_cli(cartpole_source, runs_dir, capsys):
    from transferkit.cli import run

    code = run(
        [
            "rl",
            "transfer",
            "--from",
            str(cartpole_source.policy_dir),
            "--env",
            "MountainCar-v0",
            "--steps",
            "64",
            "--seeds",
            "0",
            "--name",
            "bad-cli",
            "--output-dir",
            runs_dir,
        ]
    )
    assert code == 2
    error = capsys.readouterr().err
    assert "MountainCar-v0" in error and "Traceback" not in error


def test_pretrain_resume_continues_from_the_checkpoint(runs_dir):
    options = {
        "env": "CartPole-v1",
        "eval_every": 128,
        "eval_episodes": 1,
        "checkpoint_every": 128,
        "name": "resumable",
        "output_dir": runs_dir,
        **SMALL_PPO,
    }
    options["algo_kwargs"] = {"n_steps": 64, "batch_size": 32, "n_epochs": 1}
    first = pretrain(steps=128, **options)
    checkpoint = Path(runs_dir) / "resumable" / "checkpoints" / "latest"
    assert {p.name for p in checkpoint.iterdir()} == {"policy.safetensors", "policy.json", "optimizer.pt"}
    resumed = pretrain(steps=256, name="resumable", output_dir=runs_dir, resume=True)
    assert resumed.metrics["steps"] == 256
    steps = [p["step"] for p in json.loads((resumed.policy_dir / "policy.json").read_text())["curve"]]
    assert steps == [0, 128, 256]  # the first run's evaluations are kept, not repeated
    assert first.spec.model_copy(update={"steps": 256}) == resumed.spec
    with pytest.raises(Exception, match="other options"):
        pretrain(steps=256, name="resumable", output_dir=runs_dir, resume=True, algo="dqn")


def test_curriculum_advances_during_pretraining_on_its_threshold(runs_dir):
    stages = [{"length": 0.3}, {"length": 0.6}, {"length": 0.9}]
    kwargs = {"n_steps": 64, "batch_size": 32, "n_epochs": 1}
    easy = pretrain(
        env="CartPole-v1",
        steps=192,
        eval_every=192,
        eval_episodes=1,
        name="curriculum",
        output_dir=runs_dir,
        net_arch=[16],
        algo_kwargs=kwargs,
        curriculum={"stages": stages, "threshold": 1.0, "window": 2},
    )
    history = easy.metrics["curriculum"]["history"]
    assert [event["from_stage"] for event in history] == [0, 1]  # every episode returns >= 1: advance twice
    assert easy.metrics["curriculum"]["final_stage_reached"] is True
    hard = pretrain(
        env="CartPole-v1",
        steps=192,
        eval_every=192,
        eval_episodes=1,
        name="no-curriculum",
        output_dir=runs_dir,
        net_arch=[16],
        algo_kwargs=kwargs,
        curriculum={"stages": stages, "threshold": 1e6, "window": 2},
    )
    assert hard.metrics["curriculum"]["stage"] == 0 and hard.metrics["curriculum"]["history"] == []


def test_off_policy_checkpoint_keeps_the_replay_buffer_for_resume(runs_dir):
    from stable_baselines3.common.vec_env import DummyVecEnv

    from transferkit.rl import EnvSpec, make_env

    kwargs = {"learning_starts": 32, "batch_size": 16, "buffer_size": 1000}
    options = {"env": "CartPole-v1", "algo": "dqn", "eval_every": 96, "eval_episodes": 1, "checkpoint_every": 96}
    pretrain(steps=96, name="dqn-replay", output_dir=runs_dir, net_arch=[16], algo_kwargs=kwargs, **options)
    checkpoint = Path(runs_dir) / "dqn-replay" / "checkpoints" / "latest"
    saved = np.load(checkpoint / "replay.npz", allow_pickle=False)
    filled = int(saved["pos"])
    assert 90 <= filled <= 96 and saved["observations"].shape[0] == filled  # only the filled part is written
    env = DummyVecEnv([lambda: make_env(EnvSpec(id="CartPole-v1"), seed=0)])
    model, _ = load_policy(checkpoint, env=env, seed=5, kwargs=kwargs, optimizer=True)
    assert model.replay_buffer.pos == filled and not model.replay_buffer.full
    np.testing.assert_array_equal(model.replay_buffer.observations[:filled], saved["observations"])
    np.testing.assert_array_equal(model.replay_buffer.actions[:filled], saved["actions"])
    assert model.replay_buffer.observations[:filled].any()
    resumed = pretrain(steps=192, name="dqn-replay", output_dir=runs_dir, resume=True)
    assert resumed.metrics["steps"] == 192
