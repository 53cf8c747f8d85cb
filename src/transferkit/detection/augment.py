"""Images and boxes as torch tensors, and augmentation that moves the boxes with the pixels (transforms.v2)."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from transferkit.detection.boxes import DetectionData

POLICIES = ("none", "light", "strong")


def box_transform(policy: str):
    """torchvision.transforms.v2 for the training split: none, light (flip, colour) or strong (also scale
    jitter by zoom-out and IoU crops). SanitizeBoundingBoxes drops boxes a crop leaves without area."""
    from torchvision.transforms import v2

    steps: list = [v2.ToImage()]
    if policy in ("light", "strong"):
        steps += [v2.RandomHorizontalFlip(0.5), v2.ColorJitter(0.2, 0.2, 0.2, 0.02)]
    if policy == "strong":
        steps += [
            v2.RandomApply([v2.RandomZoomOut(fill=114, side_range=(1.0, 1.6))], p=0.3),
            v2.RandomApply([v2.RandomIoUCrop()], p=0.3),
        ]
    steps += [v2.ToDtype(torch.float32, scale=True), v2.SanitizeBoundingBoxes()]
    return v2.Compose(steps)


def read_rgb(path) -> Image.Image:
    with Image.open(path) as image:
        return image.convert("RGB")


class BoxDataset(Dataset):
    """(image tensor in [0, 1], {"boxes": xyxy, "labels": class index + 1}) per image; 0 is the background."""

    def __init__(self, data: DetectionData, *, policy: str = "none", seed: int = 0) -> None:
        from torchvision import tv_tensors

        self.data = data
        self.transform = box_transform(policy)
        self.tv_tensors = tv_tensors
        self.seed = seed

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        image = read_rgb(self.data.images[index])
        boxes = self.tv_tensors.BoundingBoxes(
            torch.as_tensor(np.asarray(self.data.boxes[index]), dtype=torch.float32).reshape(-1, 4),
            format="XYXY",
            canvas_size=(image.height, image.width),
        )
        labels = torch.as_tensor(np.asarray(self.data.labels[index]), dtype=torch.int64) + 1
        tensor, target = self.transform(image, {"boxes": boxes, "labels": labels})
        return tensor, {"boxes": target["boxes"].as_subclass(torch.Tensor), "labels": target["labels"]}


def collate(batch: list) -> tuple[list[torch.Tensor], list[dict[str, torch.Tensor]]]:
    images, targets = zip(*batch, strict=True)
    return list(images), list(targets)
