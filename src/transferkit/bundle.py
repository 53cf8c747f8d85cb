"""`transferkit export MODEL --format onnx --bundle DIR`: a folder that predicts with no torch installed.

The bundle holds the ONNX graph (backbone + head + the output activation: softmax, sigmoid or the standardised
value), the preprocessing as data (the tokenizer's tokenizer.json; image resize / crop / normalisation; the fitted
table preprocessing; a classic or concat model's TF-IDF vocabulary and idf in classic.json, or its pixel size),
the task with its decision rule's state (class or label names, tuned thresholds, the regression target's mean
and scale), the model card, and bundle.json listing every file's SHA-256.
`transferkit.runtime.load_bundle` reads it with onnxruntime, numpy, tokenizers and pillow only.

Before the folder is put in place the runtime predicts the parity examples (held-out inputs kept with the model
at fit time, plus the user's --check inputs) and its outputs must equal PyTorch's within 1e-4; else nothing is
written. `quantize="int8"` adds an int8 dynamic-quantised graph (onnxruntime.quantization) and records how far its
outputs and decisions move on the same inputs.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from transferkit.artifacts import CARD, load_model, load_task, saved_examples
from transferkit.errors import ArtifactError, ConfigError, require
from transferkit.export import PARITY_TOLERANCE, export_model, metadata_path_for
from transferkit.models.feature_model import CLASSIC_INPUT
from transferkit.models.predictor import Predictor
from transferkit.run_folder import built_aside, write_atomic, write_json
from transferkit.runtime import BUNDLE_FORMAT, BUNDLE_MANIFEST, file_sha256, load_bundle
from transferkit.tasks import task_record
from transferkit.version import __version__

GRAPH = "model.onnx"
INT8_GRAPH = "model.int8.onnx"
TOKENIZER = "tokenizer.json"
QUANTIZE_CHOICES = ("none", "int8")
CLASSIC_FILE = "classic.json"
FEATURE_KINDS = ("classic", "concat")
PIXEL_RESAMPLE = "bicubic"  # Pillow's default filter for resizing a grey image, which pixel_features uses
# TfidfVectorizer settings `transferkit.runtime.classic.TfidfRows` replays as scikit-learn applies them (lowercase,
# token_pattern, ngram_range and sublinear_tf are recorded); a vectorizer set otherwise is not bundled
TFIDF_REPLAYED = {
    "input": "content",
    "analyzer": "word",
    "strip_accents": None,
    "stop_words": None,
    "preprocessor": None,
    "tokenizer": None,
    "binary": False,
    "use_idf": True,
    "norm": "l2",
}


@dataclass
class BundleResult:
    """The bundle folder and its parity check (and the int8 graph's measured change, when quantised)."""

    path: Path
    max_abs_diff: float
    tolerance: float
    checked_inputs: int
    quantised: dict[str, Any] | None = field(default=None)


def text_preprocessing(backbone: Any, staging: Path) -> dict[str, Any]:
    """The tokenizer as tokenizer.json (the `tokenizers` library's own format) and its limit / padding."""
    tokenizer = getattr(backbone, "tokenizer", None)
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None or getattr(backbone, "pooling", None) == "last":
        raise ArtifactError(
            f"'{backbone.spec}' has no fast (tokenizers) tokenizer for an encoder; a bundle needs one. "
            "Use predict --runtime onnx with the model folder instead."
        )
    backend.save(str(staging / TOKENIZER))
    return {
        "tokenizer": TOKENIZER,
        "max_length": int(backbone.max_length),
        "pad_id": int(tokenizer.pad_token_id),
        "pad_token": str(tokenizer.pad_token),
    }


def image_preprocessing(backbone: Any) -> dict[str, Any]:
    """Resize (shorter side) / centre crop / normalisation from the weights' record (timm or torchvision)."""
    pre = backbone.weights_cfg.preprocessing
    if "input_size" in pre:  # timm: Resize(floor(size / crop_pct)) then CenterCrop(size), on PIL images
        if pre.get("crop_mode", "center") != "center" or pre["input_size"][1] != pre["input_size"][2]:
            raise ArtifactError(f"'{backbone.spec}' crops with mode {pre.get('crop_mode')}; bundles support center.")
        crop = [int(pre["input_size"][1]), int(pre["input_size"][2])]
        resize = math.floor(crop[0] / float(pre["crop_pct"]))
    elif "resize" in pre and "crop" in pre:  # torchvision weights' transforms
        resize = int(np.ravel(pre["resize"])[0])
        crop = [int(v) for v in np.resize(np.ravel(pre["crop"]), 2)]
    else:
        raise ArtifactError(f"'{backbone.spec}' records no resize / crop; a bundle cannot preprocess its images.")
    return {
        "resize": resize,
        "crop": crop,
        "interpolation": str(pre["interpolation"]),
        "mean": [float(v) for v in pre["mean"]],
        "std": [float(v) for v in pre["std"]],
        "decoding": getattr(backbone, "input_decoding", None),
    }


def preprocessing_record(model: Predictor, staging: Path, input_names: list[str]) -> dict[str, Any]:
    """The bundle's preprocessing record for `model`'s modality (files it needs are written into `staging`)."""
    kind = getattr(model, "kind", "transfer")
    if kind in FEATURE_KINDS:
        return feature_preprocessing(model, staging, input_names)
    if kind == "ensemble":
        return ensemble_preprocessing(model, staging, input_names)
    if kind != "transfer" or model.backbone is None:
        raise ArtifactError(
            f"This is a {kind} model; bundles hold backbone + head, classic and concat models. Predict through the "
            "model folder (transferkit predict), or refit with --strategy probe."
        )
    return backbone_preprocessing(model, staging, input_names)


def backbone_preprocessing(model: Predictor, staging: Path, input_names: list[str]) -> dict[str, Any]:
    """What turns raw inputs into the backbone's tensors: tokenizer, image transform or table preprocessing."""
    backbone, modality = model.backbone, model.modality
    if modality == "text":
        return text_preprocessing(backbone, staging)
    if modality == "image":
        return image_preprocessing(backbone) | {"input": input_names[0]}
    if modality == "tabular":
        return {
            "preprocessor": backbone.preprocessor.params_,
            "column_map": backbone.column_map,
            "input": input_names[0],
        }
    raise ArtifactError(f"Bundles support text, image and table models; this one reads {modality}.")


def feature_preprocessing(model: Any, staging: Path, input_names: list[str]) -> dict[str, Any]:
    """A classic / concat model's record: the backbone's preprocessing (concat) and the classic transform as data
    under "classic" (`transferkit.runtime.classic` replays it)."""
    record = {} if model.backbone is None else backbone_preprocessing(model, staging, input_names)
    classic = classic_record(model.classic, staging)
    return record | {"classic": classic | {"embeddings": model.backbone is not None, "input": CLASSIC_INPUT}}


def ensemble_preprocessing(model: Any, staging: Path, input_names: list[str]) -> dict[str, Any]:
    """An ensemble (strategy auto's) reads the backbone's tensors and one classic feature input, as a concat model
    does, when at most one member is a classic / concat model; two such members each read their own classic
    features, which the runtime does not replay yet: refused in one line."""
    record = {} if model.backbone is None else backbone_preprocessing(model, staging, input_names)
    classic = classic_record(bundled_feature_member(model).classic, staging)
    return record | {"classic": classic | {"embeddings": model.backbone is not None, "input": CLASSIC_INPUT}}


def bundled_feature_member(model: Any) -> Any:
    """The one classic / concat member of an ensemble whose classic features a bundle replays; ArtifactError (before
    any export work) when two members read their own."""
    features = [member for member in model.members if getattr(member, "kind", "") in FEATURE_KINDS]
    if len(features) > 1:
        line = model.describe()
        raise ArtifactError(
            f"{line[0].upper()}{line[1:]} cannot be bundled yet: {len(features)} of its members read their own "
            "classic features and the bundle runtime replays one. Export its ONNX graph without --bundle (predict "
            "--runtime onnx runs it), or refit with --strategy probe to bundle."
        )
    return features[0]


def classic_record(features: Any, staging: Path) -> dict[str, Any]:
    """TF-IDF: the vocabulary and idf in classic.json, the vectorizer's settings in the record; pixels: their size
    and Pillow's filter. A TF-IDF set up in a way the runtime does not replay (accents, stop words) is refused."""
    config = features.config()
    if config["kind"] == "pixels":
        return {"kind": "pixels", "size": int(config["size"]), "resample": PIXEL_RESAMPLE}
    if config["kind"] != "tfidf":
        raise ArtifactError(f"Bundles replay TF-IDF and pixel features; this model's are {config['kind']!r}.")
    params = features.vectorizer().get_params()
    unsupported = sorted(key for key, value in TFIDF_REPLAYED.items() if params.get(key) != value)
    if unsupported:
        raise ArtifactError(
            f"This model's TF-IDF sets {', '.join(unsupported)}, which the bundle runtime does not replay; predict "
            "through the model folder (transferkit predict)."
        )
    vocabulary = {"terms": list(features.terms), "idf": [float(v) for v in features.idf]}
    write_atomic(staging / CLASSIC_FILE, json.dumps(vocabulary, ensure_ascii=False, separators=(",", ":")))
    return {
        "kind": "tfidf",
        "file": CLASSIC_FILE,
        "lowercase": bool(params["lowercase"]),
        "token_pattern": str(params["token_pattern"]),
        "ngram_range": [int(n) for n in params["ngram_range"]],
        "sublinear_tf": bool(params["sublinear_tf"]),
    }


def quantise(staging: Path) -> dict[str, Any]:
    """Write the int8 dynamic-quantised graph (int8 weights of MatMul / Gemm / Conv, activations quantised on
    the fly) beside the fp32 one; its change is measured by the caller on the parity inputs."""
    quantization = require("onnxruntime.quantization", extra="export", purpose="--quantize int8")
    quantization.quantize_dynamic(
        str(staging / GRAPH), str(staging / INT8_GRAPH), weight_type=quantization.QuantType.QInt8
    )
    return {
        "graph": INT8_GRAPH,
        "method": "onnxruntime.quantization.quantize_dynamic, int8 weights",
        "size_ratio": round((staging / INT8_GRAPH).stat().st_size / (staging / GRAPH).stat().st_size, 4),
    }


def compare_graphs(a: np.ndarray, b: np.ndarray, task: dict[str, Any]) -> dict[str, Any]:
    """How far two graphs' outputs are apart on the same inputs: max abs difference and decisions that change."""
    from transferkit.runtime import decisions

    same = [x == y for x, y in zip(_decided(decisions(a, task)), _decided(decisions(b, task)), strict=True)]
    return {"max_abs_diff": float(np.abs(a - b).max()), "agreement": float(np.mean(same)), "inputs": len(same)}


def _decided(rows: list[dict[str, Any]]) -> list[Any]:
    return [row.get("label", row.get("labels", round(row.get("value", 0.0), 6))) for row in rows]


def parity_inputs(folder: Path | None, check_inputs: list[str] | None, scratch: Path) -> list[str]:
    """The held-out examples kept with the model, then the user's own check inputs; at least one."""
    inputs = (saved_examples(folder, into=scratch) if folder is not None else []) + list(check_inputs or [])
    if not inputs:
        raise ConfigError(
            "This model folder keeps no held-out examples (saved before transferkit kept them); pass real inputs "
            "for the parity check with --check FILES."
        )
    return inputs


def export_bundle(
    model: str | Path,
    output: str | Path,
    *,
    check_inputs: list[str] | None = None,
    quantize: str = "none",
    tolerance: float = PARITY_TOLERANCE,
    allow_download: bool = False,
) -> BundleResult:
    """Write the self-contained bundle of the model folder `model` into the folder `output`.

    Args:
        model: A model folder (runs/NAME/model).
        output: The bundle folder to write (replaced only when the new bundle passes its parity check).
        check_inputs: Your own inputs (texts, image paths, JSON rows) checked besides the kept examples.
        quantize: ``none``, or ``int8``: add an int8 dynamic-quantised graph and make it the default.
        tolerance: Largest allowed absolute difference between the runtime's and PyTorch's outputs.
        allow_download: Let the model folder's backbone fetch its weights from their hub.

    Raises:
        ArtifactError: when the runtime's outputs differ from PyTorch's by more than `tolerance`.
    """
    if quantize not in QUANTIZE_CHOICES:
        raise ConfigError(f"The 'quantize' option must be one of {', '.join(QUANTIZE_CHOICES)}. Got {quantize!r}.")
    folder, output = Path(model), Path(output)
    if output.exists() and not (output / BUNDLE_MANIFEST).is_file():
        raise ConfigError(
            f"--bundle {output} exists and is not a bundle; pass a new folder (an old bundle is replaced)."
        )
    output.parent.mkdir(parents=True, exist_ok=True)
    loaded = load_model(folder, allow_download=allow_download)
    with built_aside(output) as staging, tempfile.TemporaryDirectory(prefix="transferkit-parity-") as scratch:
        inputs = parity_inputs(folder, check_inputs, Path(scratch))
        result = _write_bundle(loaded, folder, staging, inputs, quantize=quantize, tolerance=tolerance)
    result.path = output
    return result


def _write_bundle(
    loaded: Predictor, folder: Path, staging: Path, inputs: list[str], *, quantize: str, tolerance: float
) -> BundleResult:
    if getattr(loaded, "kind", "") == "ensemble":  # refused before the export's work when it cannot be bundled
        bundled_feature_member(loaded)
    exported = export_model(loaded, format="onnx", output=staging / GRAPH, check_inputs=inputs, tolerance=tolerance)
    metadata_path_for(exported.path).unlink(missing_ok=True)  # bundle.json holds what it said
    task = task_record(load_task(folder))
    names = _graph_inputs(staging / GRAPH)
    manifest: dict[str, Any] = {
        "format": BUNDLE_FORMAT,
        "transferkit_version": __version__,
        "source": str(folder),
        "modality": loaded.modality,
        "kind": getattr(loaded, "kind", "transfer"),
        "task": task,
        "inputs": names,
        "preprocessing": preprocessing_record(loaded, staging, names),
        "backbone": None
        if loaded.backbone is None
        else {"spec": loaded.backbone.spec, "weights": loaded.backbone.weights_cfg.to_dict()},
        "graphs": {"fp32": GRAPH},
        "default_graph": "fp32",
    }
    if (folder / CARD).is_file():
        shutil.copyfile(folder / CARD, staging / CARD)
    expected = loaded.predict_proba(inputs)
    write_manifest(staging, manifest)
    got = load_bundle(staging, precision="fp32").predict_proba(inputs)
    difference = float(np.abs(got - expected).max())
    if difference > tolerance:
        raise ArtifactError(
            f"The bundle's runtime differs from PyTorch by {difference:.2e} (> {tolerance:.0e}) on {len(inputs)} "
            "input(s) (its preprocessing does not reproduce the backbone's); nothing was written."
        )
    manifest["parity"] = {"max_abs_diff": difference, "tolerance": tolerance, "inputs": len(inputs)}
    if quantize == "int8":
        manifest["quantised"] = quantise(staging)
        manifest["graphs"]["int8"] = INT8_GRAPH
        manifest["default_graph"] = "int8"
        write_manifest(staging, manifest)
        int8 = load_bundle(staging, precision="int8").predict_proba(inputs)
        manifest["quantised"] |= {"vs_fp32": compare_graphs(got, int8, task)}
    write_manifest(staging, manifest)
    return BundleResult(staging, difference, tolerance, len(inputs), manifest.get("quantised"))


def _graph_inputs(path: Path) -> list[str]:
    onnxruntime = require("onnxruntime", extra="export", purpose="A bundle's parity check")
    return [i.name for i in onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"]).get_inputs()]


def write_manifest(staging: Path, manifest: dict[str, Any]) -> None:
    """bundle.json in `staging`, listing the SHA-256 of every other file there."""
    files = sorted(p.name for p in staging.iterdir() if p.is_file() and p.name != BUNDLE_MANIFEST)
    manifest["files"] = {name: file_sha256(staging / name) for name in files}
    write_json(staging / BUNDLE_MANIFEST, manifest)
