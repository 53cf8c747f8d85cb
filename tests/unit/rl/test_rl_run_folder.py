"""RL run folders: policy saves survive a crash mid-swap; --resume says where it continues and refuses
a checkpoint of another run; default names are safe folder names."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from transferkit.errors import ArtifactError
from transferkit.rl.config import PretrainSpec
from transferkit.rl.policy import INFO_FILE, load_policy, read_policy_info, resolve_policy_dir, save_policy
from transferkit.run_folder import MARKER_FILE


def _policy_model(source):
    from transferkit.rl.envs import make_env

    env = make_env(source.spec.env, seed=0)
    model, info = load_policy(source.policy_dir, env=env, seed=0)
    return model, info


def test_a_policy_save_that_crashes_mid_swap_leaves_the_previous_policy_loadable(
    cartpole_source, tmp_path, monkeypatch
):
    model, _ = _policy_model(cartpole_source)
    target = tmp_path / "policy"
    save_policy(model, target, algo=cartpole_source.spec.algo, env=cartpole_source.spec.env, extra={"mark": "old"})
    real_replace = os.replace

    def killed_on_the_second_rename(source, destination):
        if Path(source).name.endswith(".tmp"):
            raise KeyboardInterrupt  # like a kill: not an ordinary error
        real_replace(source, destination)

    monkeypatch.setattr(os, "replace", killed_on_the_second_rename)
    with pytest.raises(KeyboardInterrupt):
        save_policy(model, target, algo=cartpole_source.spec.algo, env=cartpole_source.spec.env, extra={"mark": "new"})
    monkeypatch.undo()
    assert read_policy_info(target)["mark"] == "old"
    assert [path.name for path in tmp_path.iterdir()] == ["policy"]  # the staging folder is cleaned up


def test_a_kill_between_the_swap_renames_still_loads_the_old_policy(cartpole_source, tmp_path):
    target = tmp_path / "policy"
    shutil.copytree(cartpole_source.policy_dir, tmp_path / ".policy.previous")  # the state such a kill leaves
    assert resolve_policy_dir(target) == tmp_path / ".policy.previous"
    assert resolve_policy_dir(tmp_path) == tmp_path / ".policy.previous"  # given the run folder too
    assert read_policy_info(target)["num_timesteps"] == cartpole_source.metrics["steps"]


def _copy_run(source, output_dir: Path, name: str) -> Path:
    """The source run copied under another name, its config pointing at the copy (as if run there)."""
    run_dir = output_dir / name
    shutil.copytree(source.run_dir, run_dir)
    spec = PretrainSpec.from_yaml(source.run_dir / "config.yaml")
    spec = spec.model_copy(update={"run": spec.run.model_copy(update={"name": name, "output_dir": str(output_dir)})})
    (run_dir / "config.yaml").write_text(spec.to_yaml())
    return run_dir


def test_resume_continues_from_the_latest_checkpoint_and_says_so(cartpole_source, tmp_path):
    from transferkit.rl import pretrain

    _copy_run(cartpole_source, tmp_path, "again")
    result = pretrain(resume=True, name="again", output_dir=str(tmp_path))
    assert result.metrics["resumed_from_step"] == cartpole_source.metrics["steps"]
    assert "resumed from" in (tmp_path / "again" / "fit.log").read_text()


def test_resume_refuses_a_checkpoint_from_another_run(cartpole_source, tmp_path):
    from transferkit.rl import pretrain

    run_dir = _copy_run(cartpole_source, tmp_path, "foreign")
    marker = json.loads((run_dir / MARKER_FILE).read_text())
    (run_dir / MARKER_FILE).write_text(json.dumps(marker | {"run_id": "another-run"}))  # as another claim writes
    assert json.loads((run_dir / "checkpoints" / "latest" / INFO_FILE).read_text())["state"]["run_id"]
    with pytest.raises(ArtifactError, match="belongs to another run"):
        pretrain(resume=True, name="foreign", output_dir=str(tmp_path))


def test_default_run_names_are_safe_folder_names(runs_dir):
    from transferkit.rl import pretrain

    from .conftest import SMALL_PPO

    result = pretrain(
        env="CartPole-v1", algo="ppo", steps=256, eval_every=256, eval_episodes=1, output_dir=runs_dir, **SMALL_PPO
    )
    assert result.run_dir.name.startswith("CartPole-v1-ppo-") and "/" not in result.run_dir.name
