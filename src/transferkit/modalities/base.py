"""The `Modality` plugin: everything that differs between texts, images, audio clips and table rows.

A modality is a frozen record of functions, so the rest of transferkit asks `get_modality(name).hook(...)`
instead of branching on the modality's name. Hooks a modality cannot supply are None (no classic
baseline for audio, no augmentation for tables); callers turn None into a user-facing error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from transferkit.data.dataset import BadItem, LabeledData


class ViewMaker(Protocol):
    """Builds one backbone batch from raw inputs, augmenting the rows that carry a seed (None: kept clean)."""

    def batch(self, inputs: list[str], *, seeds: list[int | None]) -> Any: ...


@dataclass(frozen=True)
class ClassicRecipe:
    """The classic model a data scientist would try first on this modality (the baseline transfer must beat).

    `steps(labels, seed)` are the scikit-learn pipeline steps fitted on `prepare(inputs)`; `features` is the
    classic feature transform a `FeatureModel` stores (None: this recipe cannot become one, e.g. boosting).
    `model` says what strategy auto saves when it picks this recipe: "linear" (a FeatureModel) or "trees"
    (gradient-boosted trees on the raw columns, `transferkit.models.boosting`).
    """

    description: str
    prepare: Callable[[Any], Any]
    steps: Callable[[list[str], int], list[Any]]
    features: Any = None
    model: str = "linear"


@dataclass(frozen=True)
class Modality:
    """One kind of input, as a set of hooks.

    Attributes:
        name: The name in configs, manifests and `LabeledData.modality` ("text", "image", ...).
        default_backbone: The backbone spec `fit` uses when none is given.
        load_labeled: ``(path, *, text_column, label_column, split_column, feature_columns) -> LabeledData``.
        read_inputs: ``(paths, *, text_column, feature_columns) -> (items, bad items)``: what `predict` reads.
        item_bytes: The content of one item that keys the embedding cache (file bytes, not names, for files).
        latency_sample: ``(folder) -> [item]`` one typical input written under `folder` to time a backbone on,
            or None when this machine cannot make one (no audio extra).
        augmenter: ``(backbone, settings) -> ViewMaker``; raises ConfigError when the backbone cannot be
            augmented. None: augmentation does not apply.
        classic: The classic baseline recipe, or None.
        show_html / show_text: How one input appears among the report's examples.
        backbone_advice: What `recommend` adds about choosing a backbone for this modality ("" for nothing).
        bf16_by_default: Whether the default embedding runtime (``auto``) runs this modality's backbones in
            bfloat16 on CPUs that have it (each checked against fp32 on its first batch); set where measured.
    """

    name: str
    default_backbone: str
    load_labeled: Callable[..., LabeledData]
    read_inputs: Callable[..., tuple[list[str], list[BadItem]]]
    item_bytes: Callable[[str], bytes]
    latency_sample: Callable[[Path], list[str] | None]
    show_html: Callable[[str], str]
    show_text: Callable[[str], str]
    augmenter: Callable[[Any, Any], ViewMaker] | None = None
    classic: ClassicRecipe | None = None
    backbone_advice: str = ""
    bf16_by_default: bool = False


SNIPPET_CHARS = 240  # how much of a long input the report shows


def snippet(item: str) -> str:
    """An input cut to `SNIPPET_CHARS` characters, for the report's examples."""
    return item if len(item) <= SNIPPET_CHARS else item[:SNIPPET_CHARS] + "..."


def utf8_bytes(item: str) -> bytes:
    """Inline inputs (texts, JSON rows) are their own content."""
    return item.encode("utf-8")


def file_bytes(item: str) -> bytes:
    """Inputs that are file paths are keyed by their bytes, so a renamed file still hits the cache."""
    return Path(item).read_bytes()
