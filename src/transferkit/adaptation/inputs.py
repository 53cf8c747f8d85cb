"""One domain's data, labelled or not, as embeddings: images / texts through a backbone, tables as numbers.

Images: a folder with one sub-folder per class (labelled) or a folder of images (unlabelled).
Texts: a CSV / JSONL / Parquet file; the label column is optional. Tables: a CSV with the numeric
columns named by `numeric_columns` (the minimal tabular path: the columns are the features).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from transferkit.backbones.base import Backbone
from transferkit.data import load_labeled
from transferkit.data.images import load_image_inputs
from transferkit.data.text_tables import load_text_table, read_table
from transferkit.data.validation import describe_bad_items
from transferkit.embedding_cache import default_cache_dir, extract_features, input_hash
from transferkit.errors import DataError


@dataclass
class Domain:
    """The examples of one domain: `inputs` (paths or texts) or a numeric `matrix`, with optional labels."""

    modality: str
    source: str
    inputs: list[str]
    labels: list[str] | None = None
    matrix: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.inputs) if self.matrix is None else len(self.matrix)


def _numeric_domain(path: Path, columns: list[str], label_column: str) -> Domain:
    frame, bad = read_table(path)
    if bad:
        raise DataError(f"Unusable rows in {path}: {describe_bad_items(bad)}.")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(
            f"{path} lacks the column(s) {', '.join(missing)} named by --numeric-columns; it has "
            f"{', '.join(map(str, frame.columns))}."
        )
    values = frame[columns].apply(pd.to_numeric, errors="coerce")
    keep = values.notna().all(axis=1).to_numpy()
    if not keep.any():
        raise DataError(f"{path} has no row with numbers in all of {', '.join(columns)}.")
    labels = frame.loc[keep, label_column].astype(str).tolist() if label_column in frame.columns else None
    return Domain(
        modality="tabular",
        source=str(path),
        inputs=[],
        labels=labels,
        matrix=values[keep].to_numpy(np.float32, copy=True),
    )


def load_domain(
    path: str | Path,
    *,
    text_column: str = "text",
    label_column: str = "label",
    numeric_columns: list[str] | None = None,
) -> Domain:
    """Read one domain; labels are kept when the data has them (class folders or a label column)."""
    if numeric_columns:
        return _numeric_domain(Path(path), numeric_columns, label_column)
    where = Path(str(path))
    if where.is_dir() and not any(p.is_dir() and not p.name.startswith(".") for p in where.iterdir()):
        inputs, bad = load_image_inputs([where])  # a flat folder of images: unlabelled
        if bad:
            raise DataError(f"{len(bad)} unusable image(s) in {where}: {describe_bad_items(bad)}.")
        return Domain(modality="image", source=str(where), inputs=inputs)
    if where.is_file() and label_column not in read_table(where)[0].columns:
        table = load_text_table(where, text_column=text_column, label_column=None)
        return Domain(modality="text", source=str(where), inputs=table.inputs)
    data = load_labeled(path, text_column=text_column, label_column=label_column)
    if data.bad_items:
        raise DataError(
            f"{len(data.bad_items)} unusable item(s) in {data.source}: "
            f"{describe_bad_items(data.bad_items)}. Fix or remove them."
        )
    return Domain(modality=data.modality, source=data.source, inputs=data.inputs, labels=data.labels)


def embed(
    backbone: Backbone | None, domain: Domain, *, batch_size: int = 32, cache_dir: str | None = None
) -> np.ndarray:
    """Embeddings of a domain (cached per input); a numeric table is its own embedding."""
    if domain.matrix is not None:
        return domain.matrix
    if backbone is None:
        raise DataError(f"{domain.source} holds {domain.modality} data; it needs a backbone to be embedded.")
    if backbone.modality != domain.modality:
        raise DataError(
            f"{domain.source} holds {domain.modality} data but the backbone '{backbone.spec}' is a "
            f"{backbone.modality} model; pass a {domain.modality} backbone with --backbone."
        )
    features, _ = extract_features(
        backbone,
        domain.inputs,
        batch_size=batch_size,
        cache_dir=cache_dir,
        description=f"Embedding {Path(domain.source).name}",
    )
    return features


def batch_norm_layers(model: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    return [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


@torch.no_grad()
def reestimate_batch_norm(backbone: Backbone, inputs: list[str], *, batch_size: int = 32) -> Backbone:
    """AdaBN (Li et al. 2016): replace every BatchNorm layer's running statistics with those of `inputs`.

    Statistics are averaged over all batches (cumulative moving average); weights are untouched.
    """
    layers = batch_norm_layers(backbone)
    if not layers:
        raise DataError(
            f"The backbone '{backbone.spec}' has no BatchNorm layers, so AdaBN cannot re-estimate them; "
            "use a BatchNorm backbone such as bundled:efficientnet_lite0."
        )
    saved = [(layer.momentum, layer.training) for layer in layers]
    backbone.eval()
    for layer in layers:
        layer.reset_running_stats()
        layer.momentum = None  # cumulative average over the batches below
        layer.train()
    for start in range(0, len(inputs), batch_size):
        backbone(backbone.load_batch(inputs[start : start + batch_size]))
    for layer, (momentum, _) in zip(layers, saved, strict=True):
        layer.momentum = momentum
        layer.eval()
    return backbone


def embed_with_domain_statistics(
    backbone: Backbone, domain: Domain, *, batch_size: int = 32, cache_dir: str | None = None
) -> np.ndarray:
    """Embed `domain` after re-estimating the backbone's BatchNorm statistics on the domain itself.

    The cache folder is keyed by the set of inputs the statistics came from, so these embeddings never
    mix with ordinary ones.
    """
    reestimate_batch_norm(backbone, domain.inputs, batch_size=batch_size)
    digest = hashlib.sha256("".join(sorted(input_hash(domain.modality, i) for i in domain.inputs)).encode())
    root = Path(cache_dir) if cache_dir else default_cache_dir()
    features, _ = extract_features(
        backbone,
        domain.inputs,
        batch_size=batch_size,
        cache_dir=root / "adabn" / digest.hexdigest()[:24],
        description=f"Embedding {Path(domain.source).name} (AdaBN)",
    )
    return features
