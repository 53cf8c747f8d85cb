"""The digits recipe at test size: 15 font-rendered and 15 real MNIST digits per class, embedded once."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

PER_CLASS = 15


@dataclass
class Recipe:
    source_dir: Path
    target_dir: Path
    source: np.ndarray
    target: np.ndarray
    source_targets: np.ndarray
    target_targets: np.ndarray


def packaged_fonts() -> list[Path]:
    """The DejaVu fonts matplotlib ships: the same source domain on every machine, whatever fonts apt installed
    (installing tuxpaint-stamps-default added URW fonts here, and source accuracy fell from over 0.8 to 0.76)."""
    import matplotlib

    from transferkit.adaptation.recipes import draws_digits

    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    return [path for path in sorted(folder.glob("DejaVu*.ttf")) if draws_digits(path)]


@pytest.fixture(scope="session")
def digits_recipe(tmp_path_factory: pytest.TempPathFactory, effnet) -> Recipe:
    from transferkit.adaptation.inputs import embed, load_domain
    from transferkit.adaptation.recipes import render_font_digits, write_mnist_digits

    root = tmp_path_factory.mktemp("digits-recipe")
    source_dir = render_font_digits(root / "fonts", per_class=PER_CLASS, seed=0, fonts=packaged_fonts())
    target_dir = write_mnist_digits(root / "mnist", per_class=PER_CLASS, seed=0)
    source, target = load_domain(source_dir), load_domain(target_dir)
    return Recipe(
        source_dir=source_dir,
        target_dir=target_dir,
        source=embed(effnet, source),
        target=embed(effnet, target),
        source_targets=np.array([int(label) for label in source.labels]),
        target_targets=np.array([int(label) for label in target.labels]),
    )
