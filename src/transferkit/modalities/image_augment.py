"""Image augmentation policies from torchvision.transforms.v2, applied to the PIL image before the backbone's
own resize, crop and normalisation (so the weights always see inputs prepared the way they were trained).

- ``light``: random resized crop (70-100% of the area), horizontal flip, rotation up to 10 degrees,
  colour jitter (brightness / contrast / saturation 0.2, hue 0.02).
- ``strong``: random resized crop (50-100%), horizontal flip, then TrivialAugmentWide (Müller & Hutter, 2021):
  one operation from its list (rotation, shear, posterize, solarize, equalize, ...) at a random strength.

Flips assume mirror images keep their class; for digits, text or road signs choose ``none`` or fine-tune.
"""

from __future__ import annotations

from functools import lru_cache

import torch
from PIL import Image


@lru_cache(maxsize=64)
def image_policy(policy: str, size: tuple[int, int]):
    """The v2 transform of `policy` for images of `size` (height, width); the output keeps that size.

    Example:
        >>> transform = image_policy("light", (32, 32))
        >>> transform(Image.new("RGB", (32, 32))).size
        (32, 32)
    """
    from torchvision.transforms import v2

    if policy == "light":
        return v2.Compose(
            [
                v2.RandomResizedCrop(size, scale=(0.7, 1.0), antialias=True),
                v2.RandomHorizontalFlip(),
                v2.RandomRotation(10),
                v2.ColorJitter(brightness=0.2, contrast=0.2, saturation=0.2, hue=0.02),
            ]
        )
    if policy == "strong":
        return v2.Compose(
            [
                v2.RandomResizedCrop(size, scale=(0.5, 1.0), antialias=True),
                v2.RandomHorizontalFlip(),
                v2.TrivialAugmentWide(),
            ]
        )
    raise ValueError(f"unknown image policy {policy!r}")


def augment_image(image: Image.Image, *, policy: str, seed: int) -> Image.Image:
    """One augmented copy of `image`; the same `seed` gives the same copy (torch's global RNG is left untouched).

    Example:
        >>> a = augment_image(Image.new("RGB", (40, 30), "red"), policy="strong", seed=3)
        >>> a.size
        (40, 30)
    """
    transform = image_policy(policy, (image.height, image.width))
    with torch.random.fork_rng(devices=[]):  # v2 draws from torch's global generator
        torch.manual_seed(seed)
        return transform(image)


def image_batch(backbone, images: list[Image.Image]) -> torch.Tensor:
    """The backbone's own evaluation transform (resize, crop, normalise) on already-opened images."""
    return torch.stack([backbone.transform(image) for image in images])
