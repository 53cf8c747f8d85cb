"""Save / load a trained model folder: weights.safetensors + model.json (task, labels, backbone, preprocessing).

The folder is written under a temporary name and renamed into place, and model.json records the
SHA-256 of every file, so a killed run never leaves a folder that loads but is incomplete.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from transferkit.backbones import create_backbone
from transferkit.backbones.base import sha256_file
from transferkit.backbones.model_folder import (
    FORMAT_VERSION,
    MANIFEST,
    WEIGHTS,
    backbone_info,
    loading_folder,
    read_manifest,
)
from transferkit.backbones.weights_io import downloads
from transferkit.errors import ArtifactError
from transferkit.models.boosting import BoostingModel
from transferkit.models.boosting_io import TREES, read_trees, write_trees
from transferkit.models.ensemble import ENSEMBLE_FILE, EnsembleModel, load_members, save_members
from transferkit.models.feature_model import ClassicFeatures, FeatureModel
from transferkit.models.heads import ClassifierHead
from transferkit.models.predictor import Predictor
from transferkit.models.transfer_model import TransferModel
from transferkit.run_folder import built_aside, readable_folder
from transferkit.tasks import ClassificationTask, Task, task_from_manifest, task_record

VOCABULARY = "classic_vocabulary.json"
CARD = "README.md"
# A few held-out inputs kept with the model, so `export` can check parity without the user's data (--check adds theirs)
EXAMPLES = "examples.json"
MAX_EXAMPLES = 8
MAX_EXAMPLE_BYTES = 1 << 20  # an image file larger than this is not kept as an example


def write_examples(path: Path, inputs: list[str], modality: str) -> bool:
    """Keep up to MAX_EXAMPLES `inputs` in `path` (texts and rows as strings; images as their bytes, base64, since
    their paths may not outlive the run); returns whether any were kept."""
    import base64

    kept: list[dict[str, str]] = []
    for item in inputs:
        if len(kept) == MAX_EXAMPLES:
            break
        if modality == "image":
            file = Path(item)
            if file.is_file() and file.stat().st_size <= MAX_EXAMPLE_BYTES:
                kept.append({"name": file.name, "base64": base64.b64encode(file.read_bytes()).decode("ascii")})
        elif modality in ("text", "tabular"):
            kept.append({"input": item})
    if kept:
        path.write_text(json.dumps({"modality": modality, "examples": kept}), encoding="utf-8")
    return bool(kept)


def saved_examples(folder: str | Path, into: Path) -> list[str]:
    """The held-out inputs `save_model` kept in `folder` (checksummed with the model), as `predict` reads them:
    texts / JSON rows, or image files written under `into`; [] for a folder saved without them.

    Example::

        saved_examples("runs/demo/model", into=Path(tempfile.mkdtemp()))
    """
    import base64

    folder = Path(folder)
    if EXAMPLES not in read_manifest(folder)["files"]:  # only a checksummed file is read
        return []
    record = json.loads((folder / EXAMPLES).read_text(encoding="utf-8"))
    if record.get("modality") != "image":
        return [str(entry["input"]) for entry in record["examples"]]
    paths = []
    for index, entry in enumerate(record["examples"]):
        path = Path(into) / f"{index:02d}-{Path(entry['name']).name}"
        path.write_bytes(base64.b64decode(entry["base64"]))
        paths.append(str(path))
    return paths


def backbone_options(model: Predictor) -> dict[str, Any]:
    """The options needed to rebuild the same backbone (e.g. the text token limit, a table's preprocessing)."""
    rebuild = getattr(model.backbone, "rebuild_options", None)
    if rebuild is not None:
        return rebuild()
    pre = model.backbone.weights_cfg.preprocessing
    options: dict[str, Any] = {"max_length": pre["max_length"]} if "max_length" in pre else {}
    if pre.get("pooling") == "cls":  # the non-default pooling of hf: encoders; mean needs no option
        options["pooling"] = "cls"
    return options


def unshared_tensors(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """CPU copies of `state` in which no two tensors share memory.

    Tied weights (a decoder's input embedding and LM head) are one tensor under two names; safetensors
    refuses shared memory, so later names get their own copy. Loading fills both names again.
    """
    seen: set[int] = set()
    unshared = {}
    for key, value in state.items():
        tensor = value.detach().cpu().contiguous()
        pointer = tensor.untyped_storage().data_ptr()
        unshared[key] = tensor.clone() if pointer in seen else tensor
        seen.add(pointer)
    return unshared


def _backbone_record(model: Predictor, *, trained: bool) -> dict[str, Any] | None:
    if model.backbone is None:
        return None
    return {
        "spec": model.backbone.spec,
        "options": backbone_options(model),
        "weights": model.backbone.weights_cfg.to_dict(),
        "trained": trained,
    }


def _feature_model_parts(model: FeatureModel, staging: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Tensors (without the frozen backbone's) and the manifest record of a classic / concat model."""
    tensors = {
        f"model.{key}": value.detach().cpu().contiguous()
        for key, value in model.state_dict().items()
        if not key.startswith("backbone.")
    }
    tensors.update({f"classic.{key}": value.contiguous() for key, value in model.classic.tensors().items()})
    record = {
        "kind": model.kind,
        "modality": model.modality,
        "classic": model.classic.config(),
        "num_embedding_features": model.linear.in_features - model.classic.size,
    }
    if model.classic.terms is not None:  # the TF-IDF vocabulary is data: JSON, checksummed like the weights
        (staging / VOCABULARY).write_text(json.dumps(model.classic.terms), encoding="utf-8")
    return tensors, record


def save_model(
    model: Predictor,
    folder: str | Path,
    *,
    backbone_trained: bool,
    metadata: dict[str, Any] | None = None,
    card: str | None = None,
    task: Task | None = None,
    examples: list[str] | None = None,
) -> Path:
    """Write `model` to `folder` atomically; returns the folder.

    A TransferModel saves its head (and its backbone when fine-tuned); a FeatureModel (classic or
    concatenated features, chosen by strategy auto) saves its linear layer, scalers and TF-IDF vocabulary,
    with the record of its frozen backbone. `card` is written as README.md (the model card). `task` (default:
    single-label classification of the model's classes) is recorded with its state, for `load_task`. `examples`
    (held-out inputs) are kept for export's parity check (`saved_examples`).

    Example::

        save_model(result.model, "runs/demo/model", backbone_trained=False)
    """
    from transferkit.version import __version__

    folder = Path(folder)
    with built_aside(folder) as staging:  # a kill half-way leaves the old model where load_model finds it
        record: dict[str, Any] = {"kind": "transfer"}
        if isinstance(model, FeatureModel):  # what is saved depends on the model's structure
            tensors, record = _feature_model_parts(model, staging)
            head = None
        elif isinstance(model, BoostingModel):  # trees: a skops file (allow-listed types), no tensors of its own
            tensors, record, head = {}, _boosting_parts(model, staging), None
        elif isinstance(model, EnsembleModel):  # members: model folders of their own, ensemble.json their weights
            save = lambda member, path: save_model(member, path, backbone_trained=False)  # noqa: E731
            tensors, record, head = {}, save_members(model, staging, save=save), None
        else:
            tensors = {f"head.{k}": v.detach().cpu().contiguous() for k, v in model.head.state_dict().items()}
            head = model.head.config
        if backbone_trained:
            tensors.update(
                unshared_tensors({f"backbone.{key}": value for key, value in model.backbone.state_dict().items()})
            )
        save_file(tensors, str(staging / WEIGHTS))
        if examples:
            write_examples(staging / EXAMPLES, list(examples), model.modality)
        manifest = {
            "format_version": FORMAT_VERSION,
            "transferkit_version": __version__,
            "class_names": model.class_names,
            "task": task_record(task or ClassificationTask(class_names=model.class_names)),
            "model": record,
            "backbone": _backbone_record(model, trained=backbone_trained),
            "head": head,
            "metadata": metadata or {},
            "files": {
                name: sha256_file(staging / name)
                for name in (WEIGHTS, VOCABULARY, EXAMPLES, TREES, ENSEMBLE_FILE)
                if (staging / name).is_file()
            },
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        if card is not None:  # not checksummed: users may edit their model card
            (staging / CARD).write_text(card, encoding="utf-8")
    return folder


def load_task(folder: str | Path) -> Task:
    """The task of the model saved in `folder`, with its state (class names, tuned threshold); folders saved
    before tasks were recorded load as single-label classification.

    Example::

        load_task("runs/demo/model").decide(proba)
    """
    return task_from_manifest(read_manifest(Path(folder)))


def load_model(folder: str | Path, *, allow_download: bool = False) -> Predictor:
    """Rebuild the TransferModel saved in `folder` (weights checked against model.json).

    The folder may come from anyone: every file is checked against model.json before its backbone is built,
    and that backbone loads from local files and caches only unless `allow_download`.

    Example::

        model = load_model("runs/demo/model")
        model.predict_proba(["Delicious and fresh."])
    """
    folder = readable_folder(folder)
    with loading_folder(folder), downloads(allowed=allow_download):
        manifest = read_manifest(folder)  # checksums first: nothing is built from an unchecked folder
        info = backbone_info(manifest, folder)
        backbone = None if info is None else _load_backbone(folder, info)
        if (manifest.get("model") or {}).get("kind") == EnsembleModel.kind:  # members share the backbone built here
            return load_members(folder, manifest, load=lambda path: _load_member(path, info, backbone))
    return _load_from(folder, manifest, info, backbone)


def _load_member(folder: Path, shared: dict[str, Any] | None, backbone) -> Predictor:
    """An ensemble member's folder, on the ensemble's backbone when its record is the same frozen backbone."""
    manifest = read_manifest(folder)
    info = backbone_info(manifest, folder)
    same = info is not None and shared is not None and not info["trained"]
    same = same and all(info.get(key) == shared.get(key) for key in ("spec", "options", "weights"))
    if info is not None and not same:
        backbone = _load_backbone(folder, info)
    return _load_from(folder, manifest, info, backbone if info is not None else None)


def _load_from(folder: Path, manifest: dict[str, Any], info: dict[str, Any] | None, backbone) -> Predictor:
    """The model of a checked `manifest` in `folder` on its built `backbone`."""
    tensors = load_file(str(folder / WEIGHTS))
    record = manifest.get("model") or {"kind": "transfer"}
    if record["kind"] in ("classic", "concat"):
        return _load_feature_model(folder, manifest, record, backbone, tensors)
    if record["kind"] == BoostingModel.kind:
        return _load_boosting_model(folder, manifest, record, backbone)
    if info is None:
        raise ArtifactError(f"{folder / MANIFEST} records no backbone for its model; retrain or restore the folder.")
    head = _saved_head(folder, manifest.get("head"), tensors)
    if info["trained"]:
        backbone.load_state_dict(
            {k.removeprefix("backbone."): v for k, v in tensors.items() if k.startswith("backbone.")}
        )
    model = TransferModel(backbone, head, manifest["class_names"])
    return model.eval()


def _saved_head(folder: Path, config: dict[str, Any] | None, tensors: dict[str, torch.Tensor]) -> ClassifierHead:
    """The head model.json describes, with its weights; settings that do not build a head, or a head whose
    shapes differ from the weights file, are an ArtifactError (checked on the meta device: no memory is
    allocated for sizes a tampered model.json may claim)."""
    weights = {k.removeprefix("head."): v for k, v in tensors.items() if k.startswith("head.")}
    problem = f"{folder / MANIFEST} has head settings {config!r} that do not match {folder / WEIGHTS}"
    try:
        with torch.device("meta"):
            shapes = {key: tuple(value.shape) for key, value in ClassifierHead(**(config or {})).state_dict().items()}
    except (TypeError, ValueError, RuntimeError) as exc:
        raise ArtifactError(f"{problem} ({exc}); retrain or restore the model folder.") from None
    if shapes != {key: tuple(value.shape) for key, value in weights.items()}:
        raise ArtifactError(f"{problem}; retrain or restore the model folder.")
    head = ClassifierHead(**(config or {}))
    head.load_state_dict(weights)
    return head


def _load_backbone(folder: Path, info: dict[str, Any]):
    backbone = create_backbone(info["spec"], **info.get("options", {}))
    if backbone.weights_cfg.checksum != info["weights"].get("checksum"):
        raise ArtifactError(
            f"{folder} was trained on backbone weights {str(info['weights'].get('checksum'))[:12]}..., but "
            f"'{info['spec']}' now loads {backbone.weights_cfg.checksum[:12]}...; install the original weights."
        )
    return backbone


def _load_feature_model(folder: Path, manifest: dict, record: dict, backbone, tensors: dict) -> FeatureModel:
    listed = VOCABULARY in manifest["files"]  # only a checksummed vocabulary is read
    terms = json.loads((folder / VOCABULARY).read_text(encoding="utf-8")) if listed else None
    classic_tensors = {k.removeprefix("classic."): v for k, v in tensors.items() if k.startswith("classic.")}
    classic = ClassicFeatures.from_saved(record["classic"], terms, classic_tensors)
    model = FeatureModel(
        class_names=manifest["class_names"],
        modality=record["modality"],
        classic=classic,
        num_embedding_features=record["num_embedding_features"],
        backbone=backbone,
    )
    state = {k.removeprefix("model."): v for k, v in tensors.items() if k.startswith("model.")}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or any(not key.startswith("backbone.") for key in missing):
        raise ArtifactError(f"{folder / WEIGHTS} does not match its {record['kind']} model; retrain the model.")
    if backbone is not None:
        for parameter in backbone.parameters():
            parameter.requires_grad_(False)
    return model.eval()


def _boosting_parts(model: BoostingModel, staging: Path) -> dict[str, Any]:
    """Write the trees (skops) into `staging`; the manifest record says how to read them back."""
    import sklearn

    write_trees(model.estimator, staging / TREES)
    return {
        "kind": model.kind,
        "modality": model.modality,
        "estimator": type(model.estimator).__name__,
        "columns": model.columns,
        "categorical": model.categorical,
        "params": model.params,
        "sklearn_version": sklearn.__version__,
    }


def _load_boosting_model(folder: Path, manifest: dict, record: dict, backbone) -> BoostingModel:
    """Gradient-boosted trees from a checksummed skops file whose types are all allow-listed."""
    columns, categorical = record.get("columns"), record.get("categorical")
    if TREES not in manifest["files"] or not (_str_list(columns) and _str_list(categorical)):
        raise ArtifactError(
            f"{folder / MANIFEST} has a malformed boosting record (needs {TREES} listed, columns, categorical); "
            "retrain or restore the model folder."
        )
    return BoostingModel(
        estimator=read_trees(folder / TREES),
        class_names=manifest["class_names"],
        columns=columns,
        categorical=categorical,
        backbone=backbone,
        params=record.get("params") if isinstance(record.get("params"), dict) else None,
    )


def _str_list(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)
