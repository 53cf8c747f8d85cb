"""``path:DIR`` backbones: a folder saved by transferkit, transformers or timm, recognised by its files.

- transferkit model folder (model.json): its backbone, with the fine-tuned backbone weights when it has them;
- transformers folder (config.json with ``model_type``): as ``hf:DIR``;
- timm folder (config.json with ``architecture``, from ``timm.models.save_for_hf``).

A folder is received data: its checksums are checked before its backbone is built, that backbone is built
with downloads off unless ``allow_download=True``, and a folder whose backbone leads back to itself is refused.
"""

from __future__ import annotations

import json
from pathlib import Path

from transferkit.backbones.base import Backbone
from transferkit.backbones.hf_hub import build_hf, hf_modality, refuse_remote_code
from transferkit.backbones.model_folder import backbone_info, loading_folder, read_manifest
from transferkit.backbones.specs import parse_spec
from transferkit.backbones.timm_hub import load_timm_folder
from transferkit.backbones.weights_io import downloads
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
            refuse_remote_code(folder)
            return "transformers"
        if "architecture" in config:
            return "timm"
    raise BackboneError(
        f"path:{folder} holds no model.json (transferkit), config.json with model_type (transformers) or with "
        "architecture (timm); save the model with save_model, save_pretrained or timm's save_for_hf."
    )


def path_modality(spec: str) -> str:
    folder = Path(parse_spec(spec).name)
    kind = folder_kind(folder)
    if kind == "timm":
        return "image"
    if kind == "transformers":
        return hf_modality(f"hf:{folder}")
    with loading_folder(folder), downloads(allowed=False):  # a modality is read from local files only
        return path_modality_of_manifest(read_manifest(folder), folder=folder)


def path_modality_of_manifest(manifest: dict, *, folder: Path | None = None) -> str:
    from transferkit.backbones.registry import backbone_entry

    modality = (manifest.get("metadata") or {}).get("modality")
    if isinstance(modality, str):
        return modality
    info = backbone_info(manifest, folder or Path("."))
    if info is None:
        raise BackboneError(f"path:{folder} is a classic model (no pretrained backbone inside); it has no modality.")
    return backbone_entry(info["spec"]).modality


def load_path(*, spec: str, max_length: int = 128, allow_download: bool = False, **options: object) -> Backbone:
    """Build ``path:DIR``; the backbone a transferkit folder names is built offline unless `allow_download`."""
    folder = Path(parse_spec(spec).name)
    kind = folder_kind(folder)
    if kind == "timm":
        return load_timm_folder(folder, spec=spec)
    if kind == "transformers":
        return build_hf(str(folder), spec=spec, max_length=max_length, **options)
    with loading_folder(folder), downloads(allowed=allow_download):
        return _load_transferkit_backbone(folder, spec=spec, options=options)


def _load_transferkit_backbone(folder: Path, *, spec: str, options: dict) -> Backbone:
    from safetensors.torch import load_file

    from transferkit.backbones.registry import create_backbone

    manifest = read_manifest(folder)  # checksums first: nothing is built from an unchecked folder
    info = backbone_info(manifest, folder)
    if info is None:  # a classic model chosen by strategy auto: TF-IDF / pixels + logistic regression
        raise BackboneError(
            f"path:{folder} is a classic model (no pretrained backbone inside); pass a backbone spec such as "
            "bundled:minilm, or a model folder trained with --strategy probe or two-stage."
        )
    # A tabular target table may name the source's columns differently: its column map travels on.
    extra = {"column_map": options["column_map"]} if options.get("column_map") else {}
    backbone = create_backbone(info["spec"], **(info.get("options", {}) | extra))
    if info.get("trained"):
        tensors = load_file(str(folder / "weights.safetensors"))
        backbone.load_state_dict(
            {k.removeprefix("backbone."): v for k, v in tensors.items() if k.startswith("backbone.")}
        )
    backbone.spec = spec
    return backbone
