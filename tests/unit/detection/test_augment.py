"""Augmentation moves the boxes with the pixels: after flips, colour jitter, zoom-out and IoU crops, the box
still frames exactly the object's pixels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from transferkit.detection.augment import BoxDataset
from transferkit.detection.boxes import DetectionData


@pytest.mark.parametrize("policy", ["light", "strong"])
def test_the_box_follows_the_object(policy, tmp_path: Path):
    pixels = np.zeros((64, 80, 3), dtype=np.uint8)
    pixels[..., 2] = 200  # blue background
    pixels[20:50, 10:30] = (230, 0, 0)  # a red object at x 10..30, y 20..50
    Image.fromarray(pixels).save(tmp_path / "a.png")
    data = DetectionData(
        images=[tmp_path / "a.png"],
        sizes=[(80, 64)],
        boxes=[np.array([[10, 20, 30, 50]], dtype=np.float32)],
        labels=[np.array([0])],
        classes=["red"],
        source="test",
    )
    dataset = BoxDataset(data, policy=policy)
    flipped = 0
    for seed in range(12):
        torch.manual_seed(seed)
        image, target = dataset[0]
        red = image[0] > image[2] + 0.2  # the object's pixels, whatever the jitter did to the colours
        if not len(target["boxes"]):  # an IoU crop may cut the object out; then no box is left either
            assert red.sum() < 4
            continue
        ys, xs = torch.nonzero(red, as_tuple=True)
        found = torch.tensor([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], dtype=torch.float32)
        assert torch.allclose(target["boxes"][0], found, atol=1.5), (seed, target["boxes"][0], found)
        assert target["labels"].tolist() == [1]  # class index + 1: 0 is the detectors' background
        flipped += bool(found[0] > 40)
    assert 0 < flipped < 12  # horizontal flips happen, about half the time
