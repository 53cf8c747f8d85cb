"""Modalities as plugins: how each kind of input (text, image, audio, tabular) is read, embedded, augmented,
featurised for the classic baseline and shown in reports; see `Modality` in base.py.

A new modality is one module that builds a `Modality`, registered below (or with `register_modality` from
your own code). Layering: this package sits above backbones and data (it reads files and builds backbone
batches) and below embedding_cache, models and augmentation, which ask it instead of branching on a name.

Example:
    >>> get_modality("tabular").default_backbone
    'tabular:columns'
    >>> available_modalities()
    ['audio', 'image', 'tabular', 'text']
"""

from __future__ import annotations

from transferkit.modalities import audio, image, tabular, text
from transferkit.modalities.base import ClassicRecipe, Modality, ViewMaker
from transferkit.modalities.inputs import read_prediction_inputs
from transferkit.modalities.registry import (
    available_modalities,
    canonical_modality,
    get_modality,
    register_modality,
)

for _builtin in (text, image, audio, tabular):  # the one place built-in modalities are registered
    register_modality(_builtin.MODALITY)

__all__ = [
    "ClassicRecipe",
    "Modality",
    "ViewMaker",
    "available_modalities",
    "canonical_modality",
    "get_modality",
    "read_prediction_inputs",
    "register_modality",
]
