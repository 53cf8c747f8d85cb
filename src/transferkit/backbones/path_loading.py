"""``path:DIR`` backbones: a folder saved by transferkit, transformers or timm, recognised by its files.

- transferkit model folder (model.json): its backbone, with the fine-tuned backbone weights when it has them;
- transformers folder (config.json with ``model_type``): as ``hf:DIR``;
- timm folder (config.json with ``architecture``, from ``timm.models.save_for_hf``).
"""

from __future__ import annotations

import json
from pathlib import Path

from transferkit.backbones.base import Backbone
from transferkit.backbones.hf_hub import build_hf, hf_modality
from transferkit.backbones.model_folder import read_manifest
from transferkit.backbones.specs import parse_spec
from transferkit.backbones.timm_hub import load_timm_folder
from transferkit.errors import BackboneError


def folder_kind(folder: Path) -> str:
    """'transferkit', 'transformers' or 'timm'; raises BackboneError for anything else."""
    if not folder.is_dir():
        raise BackboneError(f"path:{folder} is not a folder; pass a folder saved by transferkit, transformers or timm.")
    if (folder / "model.json").is_file():
        return "transferkit"
    config_path = folder / "config.json"
    if config_path.is_file():
        try:
            config = json.loads(config_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise BackboneError(f"{config_path} is not valid JSON ({exc.msg}).") from None
        if "model_type" in config:
            return "transformers"
        if "architecture" in config:
            return "timm"
    raise BackboneError(
        f"path:{folder} holds no model.json (transferkit), config.json with model_type (transformers) or with "
        "architecture (timm); save the model with save_model, save_pretrained or timm's save_for_hf."
    )


def _transferkit_manifest(folder: Path) -> dict:
    return read_manifest(folder)


def path_modality(spec: str) -> str:
    folder = Path(parse_spec(spec).name)
    kind = folder_kind(folder)
    if kind == "timm":
        return "image"
    if kind == "transformers":
        return hf_modality(f"hf:{folder}")
    return path_modality_of_manifest(_transferkit_manifest(folder))


def path_modality_of_manifest(manifest: dict) -> str:
    from transferkit.backbones.registry import backbone_entry

    return manifest.get("metadata", {}).get("modality") or backbone_entry(manifest["backbone"]["spec"]).modality


def load_path(*, spec: str, max_length: int = 128, **options: object) -> Backbone:
    """Build ``path:DIR``.

    Example:
        >>> backbone = create_backbone("path:runs/reviews/model")  # doctest: +SKIP
    """
    folder = Path(parse_spec(spec).name)
    kind = folder_kind(folder)
    if kind == "timm":
        return load_timm_folder(folder, spec=spec)
    if kind == "transformers":
        return build_hf(str(folder), spec=spec, max_length=max_length, **options)
    from safetensors.torch import load_file

    from transferkit.backbones.registry import create_backbone

    manifest = _transferkit_manifest(folder)
    info = manifest["backbone"]
    if info is None:  # a classic model chosen by strategy auto: TF-IDF / pixels + logistic regression
        raise BackboneError(
            f"path:{folder} is a classic model (no pretrained backbone inside); pass a backbone spec such as "
            "bundled:minilm, or a model folder trained with --strategy probe or two-stage."
        )
    # A tabular target table may name the source's columns differently: its column map travels on.
    extra = {"column_map": options["column_map"]} if options.get("column_map") else {}
    backbone = create_backbone(info["spec"], **(info["options"] | extra))
    if info["trained"]:
        tensors = load_file(str(folder / "weights.safetensors"))
        backbone.load_state_dict(
            {k.removeprefix("backbone."): v for k, v in tensors.items() if k.startswith("backbone.")}
        )
    backbone.spec = spec
    return backbone
