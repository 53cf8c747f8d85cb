"""``timm:NAME`` backbones: any timm model, with weights from the hub or a local file / folder.

Online, ``timm:resnet50`` downloads the default pretrained weights. Offline, give the weights:
``timm:resnet50@resnet50.safetensors`` (a state dict) or ``path:DIR`` (a folder written by
``timm.models.save_for_hf``). Preprocessing comes from the model's pretrained config.
"""

from __future__ import annotations

from pathlib import Path

from transferkit.backbones.base import WeightsCfg, state_checksum
from transferkit.backbones.specs import parse_spec
from transferkit.backbones.timm_models import TimmImageBackbone, image_preprocessing
from transferkit.backbones.weights_io import (
    download_timeout,
    hub_cached_file,
    hub_offline,
    load_into,
    offline_error,
    torch_hub_file_cached,
)
from transferkit.errors import BackboneError

TIMM_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "open_clip_pytorch_model.bin")


def _licence(model) -> str:
    return str(model.pretrained_cfg.get("license", "see the model card"))


def _check_name(name: str) -> None:
    import timm

    if not timm.is_model(name.split(".")[0]):
        close = timm.list_models(f"*{name.split('.')[0][:6]}*")[:5]
        raise BackboneError(
            f"'{name}' is not a timm model; "
            + (f"similar: {', '.join(close)}. " if close else "")
            + "See timm.list_models()."
        )


def load_timm(*, spec: str, **_: object) -> TimmImageBackbone:
    """Build ``timm:NAME[@FILE]``: pretrained from the hub, or from a local weights file."""
    import timm

    parsed = parse_spec(spec)
    _check_name(parsed.name)
    if parsed.weights:
        model = timm.create_model(parsed.name, pretrained=False)
        checksum = load_into(model, parsed.weights, spec=spec)
        source = f"file:{parsed.weights}"
    else:
        model = _pretrained_timm(parsed.name, spec=spec)
        checksum = state_checksum(model)
        source = f"timm:{model.pretrained_cfg.get('hf_hub_id') or parsed.name}"
    return _wrap(model, spec=spec, source=source, checksum=checksum)


def _pretrained_timm(name: str, *, spec: str):
    """timm's pretrained `name`: from the local caches when offline (never asking the network), else downloaded."""
    import timm

    pretrained = timm.models.get_pretrained_cfg(name)
    hub_id = pretrained.hf_hub_id if pretrained is not None else None
    url = pretrained.url if pretrained is not None else None
    try:
        if not hub_offline():
            with download_timeout():  # torch.hub URL downloads set no timeout of their own
                return timm.create_model(name, pretrained=True)
        cached = hub_cached_file(hub_id, TIMM_WEIGHT_FILES) if hub_id else None
        if cached is not None:  # timm loads the file itself, so the hub library is never asked
            return timm.create_model(name, pretrained=True, pretrained_cfg_overlay={"file": cached})
        if url and torch_hub_file_cached(url):
            return timm.create_model(name, pretrained=True)  # torch.hub finds its cached file without the network
    except (OSError, RuntimeError, ValueError, ImportError) as exc:  # hub unreachable / timed out
        raise offline_error(spec, exc) from None
    raise offline_error(spec)  # decided now, whatever the hub library read when it was imported


def load_timm_folder(folder: Path, *, spec: str) -> TimmImageBackbone:
    """A folder written by ``timm.models.save_for_hf`` (config.json with 'architecture' + weights)."""
    import timm

    weights = next(
        (folder / name for name in ("model.safetensors", "pytorch_model.bin") if (folder / name).is_file()), None
    )
    if weights is None:
        raise BackboneError(f"{folder} has a timm config.json but no model.safetensors; save it with save_for_hf.")
    model = timm.create_model(f"local-dir:{folder}", pretrained=False)
    checksum = load_into(model, weights, spec=spec)
    return _wrap(model, spec=spec, source=f"timm-folder:{folder}", checksum=checksum)


def _wrap(model, *, spec: str, source: str, checksum: str) -> TimmImageBackbone:
    model.eval()
    weights_cfg = WeightsCfg(
        source=source, checksum=checksum, licence=_licence(model), preprocessing=image_preprocessing(model)
    )
    return TimmImageBackbone(model, spec=spec, weights_cfg=weights_cfg)
