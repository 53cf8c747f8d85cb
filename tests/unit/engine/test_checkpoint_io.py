"""Checkpoints are written whole or not at all."""

from __future__ import annotations

import pytest
import torch

from transferkit.engine.trainer import AtomicCheckpointIO


class FailsHalfWay:
    """Pickling it raises, after the tensors before it in the checkpoint were already written."""

    def __reduce__(self):
        raise RuntimeError("cannot pickle this")


def test_checkpoint_round_trips_and_a_failed_write_keeps_the_previous_one(tmp_path):
    io = AtomicCheckpointIO()
    path = tmp_path / "checkpoints" / "last.ckpt"
    first = {"epoch": 1, "state_dict": {"w": torch.arange(6.0).reshape(2, 3)}}
    io.save_checkpoint(first, path)
    loaded = io.load_checkpoint(path)
    assert loaded["epoch"] == 1 and torch.equal(loaded["state_dict"]["w"], first["state_dict"]["w"])

    with pytest.raises(RuntimeError, match="cannot pickle"):
        io.save_checkpoint({"epoch": 2, "state_dict": {"w": torch.zeros(3)}, "bad": FailsHalfWay()}, path)
    assert io.load_checkpoint(path)["epoch"] == 1  # the previous checkpoint is intact
    assert [p.name for p in path.parent.iterdir()] == ["last.ckpt"]  # no temporary file left behind
