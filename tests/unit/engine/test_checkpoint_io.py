"""Checkpoints are written whole or not at all, in the background, from a snapshot of the tensors."""

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
    weights = torch.arange(6.0).reshape(2, 3)
    first = {"epoch": 1, "state_dict": {"w": weights}}
    io.save_checkpoint(first, path)
    weights.mul_(-1)  # training goes on in place while the write runs: the checkpoint keeps the saved values
    loaded = io.load_checkpoint(path)
    assert loaded["epoch"] == 1 and torch.equal(loaded["state_dict"]["w"], torch.arange(6.0).reshape(2, 3))

    io.save_checkpoint({"epoch": 2, "state_dict": {"w": torch.zeros(3)}, "bad": FailsHalfWay()}, path)
    with pytest.raises(RuntimeError, match="cannot pickle"):  # the failed write raises at the next wait
        io.teardown()
    assert io.load_checkpoint(path)["epoch"] == 1  # the previous checkpoint is intact
    assert [p.name for p in path.parent.iterdir()] == ["last.ckpt"]  # no temporary file left behind
    io.save_checkpoint({"epoch": 3}, path)
    io.teardown()  # the end of training: the last write is on disk when fit returns
    assert torch.load(path, weights_only=True)["epoch"] == 3
