"""A CartPole PPO policy pretrained once per session (tiny net, a few thousand steps) for the RL tests."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("stable_baselines3", reason="the rl extra is not installed")

# Small, fast PPO settings: one rollout of 256 steps, 4 epochs of batch 64, a 32x32 network.
PPO_KWARGS = {"n_steps": 256, "batch_size": 64, "n_epochs": 4, "learning_rate": 0.003}
SMALL_PPO = {"net_arch": [32, 32], "algo_kwargs": PPO_KWARGS}


@pytest.fixture(scope="session")
def cartpole_source(tmp_path_factory: pytest.TempPathFactory):
    """PPO pretrained on default CartPole for 2,560 steps (a checkpoint every 1,280 steps)."""
    from transferkit.rl import pretrain

    output = tmp_path_factory.mktemp("rl-runs")
    return pretrain(
        env="CartPole-v1",
        algo="ppo",
        steps=2560,
        eval_every=1280,
        eval_episodes=2,
        checkpoint_every=1280,
        name="cartpole-source",
        output_dir=str(output),
        seed=0,
        **SMALL_PPO,
    )


@pytest.fixture()
def runs_dir(tmp_path: Path) -> str:
    return str(tmp_path / "runs")
