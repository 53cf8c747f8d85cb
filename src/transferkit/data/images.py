"""Image folder source: one sub-folder per class; every file is checked before it is used."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from transferkit.data.dataset import BadItem, LabeledData
from transferkit.data.folders import load_class_folders, load_file_inputs
from transferkit.errors import DataError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm"}


# White, like the page a cut-out photo, logo or stamp is shown on.
TRANSPARENT_BACKGROUND = (255, 255, 255)
# 16-bit, 32-bit integer and float greyscale (X-rays, microscopy, depth maps): more than 8 bits per pixel.
HIGH_DEPTH_MODES = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N", "F"})


@contextmanager
def pixel_limit() -> Iterator[None]:
    """PIL refuses images over twice its pixel limit (`Image.MAX_IMAGE_PIXELS`, about 89 megapixels) and only
    warns between 1x and 2x; here both are refused (a 100-megapixel RGB image takes 300 MB decoded)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        yield


def too_large(exc: Exception) -> str:
    """The bad-item reason for an image over the pixel limit."""
    found = re.search(r"\((\d+) pixels\)", str(exc))
    size = f"{int(found.group(1)):,} pixels" if found else "too many pixels"
    limit = Image.MAX_IMAGE_PIXELS or 0
    return f"image too large ({size}, over the {limit:,}-pixel limit against decompression bombs); shrink it"


def open_rgb(path: str | Path) -> Image.Image:
    """Open an image as 8-bit RGB, upright, with transparency over white and deep greyscale stretched to 0-255.

    `convert("RGB")` alone drops the alpha channel and keeps whatever colour the transparent pixels
    happen to hold (black in most files, leftover paint in some), so cut-out PNGs would reach the model
    on an arbitrary background that differs from file to file. It also clips 16-bit and float pixels at
    255, which turns a 16-bit X-ray almost entirely white; those are rescaled from each image's own
    minimum and maximum instead (as MONAI's ScaleIntensity does), since their bit depth varies (12 of 16 bits
    is common).
    """
    try:
        with pixel_limit():
            opened = Image.open(path)
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise DataError(f"{path}: {too_large(exc)}.") from None
    with opened:
        # Phone cameras store photos unrotated plus an EXIF orientation tag; apply it, as viewers do.
        image = ImageOps.exif_transpose(opened)
        if image.mode in HIGH_DEPTH_MODES:
            return _stretched_to_8_bits(image).convert("RGB")
        if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
            rgba = image.convert("RGBA")
            background = Image.new("RGBA", rgba.size, (*TRANSPARENT_BACKGROUND, 255))
            return Image.alpha_composite(background, rgba).convert("RGB")
        return image.convert("RGB")


def _stretched_to_8_bits(image: Image.Image) -> Image.Image:
    pixels = np.nan_to_num(np.asarray(image, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    low, high = float(pixels.min()), float(pixels.max())
    scaled = (pixels - low) * (255.0 / (high - low)) if high > low else np.zeros_like(pixels)
    return Image.fromarray(np.round(scaled).astype(np.uint8), mode="L")


def check_image(path: Path) -> str | None:
    """Return why `path` is not a usable image, or None when it decodes fully."""
    try:
        if path.stat().st_size == 0:
            return "empty file"
        with pixel_limit():  # checked at open, from the header: nothing is decoded
            with Image.open(path) as image:
                image.verify()
            # verify() does not decode pixels; a second open + load() catches truncated files.
            with Image.open(path) as image:
                image.load()
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        return too_large(exc)
    except UnidentifiedImageError:
        return "not an image"
    except OSError as exc:
        return "truncated image" if "truncated" in str(exc).lower() else f"unreadable image ({exc})"
    except Exception as exc:  # PIL raises assorted errors on corrupt headers
        return f"corrupt image ({exc.__class__.__name__}: {exc})"
    return None


def load_image_folder(root: str | Path) -> LabeledData:
    """Read `root/<class>/<image>` into LabeledData; unreadable files go to `bad_items`."""
    return load_class_folders(root, modality="image", check=check_image, items="images", layout="<image file>")


def load_image_inputs(paths: list[str | Path]) -> tuple[list[str], list[BadItem]]:
    """Expand files and folders (recursively) into checked image paths, for prediction."""
    return load_file_inputs(paths, check=check_image, expected="image files or folders")
