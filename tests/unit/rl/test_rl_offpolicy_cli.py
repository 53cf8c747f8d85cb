"""SAC and DQN through the command line: pretrain writes a policy, transfer continues it on a shifted target."""

from __future__ import annotations

import json

import pytest
from safetensors.torch import load_file

from transferkit.cli import run


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("algo", "env", "param", "strategy", "kwargs"),
    [
        ("sac", "Pendulum-v1", "g=12.0", "freeze-features", ["learning_starts=50", "batch_size=32"]),
        ("dqn", "CartPole-v1", "length=1.0", "reinit-head", ["learning_starts=50", "batch_size=32"]),
    ],
)
def test_off_policy_pretrain_then_transfer_through_the_cli(tmp_path, monkeypatch, algo, env, param, strategy, kwargs):
    monkeypatch.setenv("TRANSFERKIT_PROGRESS", "0")
    runs = str(tmp_path / "runs")
    extra = [item for value in kwargs for item in ("--algo-kwarg", value)]
    common = ["--eval-every", "100", "--eval-episodes", "1", "--output-dir", runs]
    pretrain = ["rl", "pretrain", "--env", env, "--algo", algo, "--steps", "100", "--net-arch", "16,16"]
    assert run([*pretrain, "--name", "src", *common, *extra]) == 0
    source = tmp_path / "runs" / "src" / "policy"
    assert json.loads((source / "policy.json").read_text())["algo"]["name"] == algo
    args = ["rl", "transfer", "--from", str(source), "--env", env, "--param", param, "--strategy", strategy]
    assert run([*args, "--steps", "100", "--seeds", "0", "--name", "tgt", *common, *extra]) == 0
    target = tmp_path / "runs" / "tgt"
    metrics = json.loads((target / "metrics.json").read_text())
    assert metrics["strategy"] == strategy and [row["seed"] for row in metrics["per_seed"]] == [0]
    before, after = (
        load_file(str(source / "policy.safetensors")),
        load_file(str(target / "policy" / "policy.safetensors")),
    )
    assert before.keys() == after.keys()
    changed = {name for name in before if not (before[name] == after[name]).all()}
    if strategy == "freeze-features":  # the actor's hidden layers are frozen; its output heads learn
        assert changed and not any(name.startswith("actor.latent_pi") for name in changed)
    else:  # a re-initialised Q head differs from the source's
        assert any(name.startswith("q_net.q_net") for name in changed)
