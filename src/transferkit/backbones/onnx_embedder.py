"""The frozen stage on ONNX Runtime: a backbone's embedding graph exported once, then run by onnxruntime.

`OnnxEmbedder(backbone, folder)` takes the same batches as the backbone (`backbone.load_batch`) and returns the
same pooled embeddings as numpy. On first use it exports the backbone (forward + pooling) to
``folder/embed.onnx``, checks the graph against PyTorch on that first batch (cosine >= 0.9999 and max abs
difference <= 1e-3, else ArtifactError and nothing is kept), and reuses the file afterwards.

Why it is faster on CPU (measured in benchmarks/embed_throughput.py):
- transformer encoders (BERT family: MiniLM, BERT, RoBERTa, DistilBERT) are exported with eager attention so
  onnxruntime's transformer optimizer can fuse each layer into Attention / SkipLayerNormalization / BiasGelu
  kernels (the SDPA graph matches none of its patterns);
- convolutional image backbones get onnxruntime's own NCHWc layout and fusions (level ALL);
- no spin-waiting between operators: on a machine shared with other work, spinning threads steal the cores the
  other thread needs (the same reason transferkit recommends OMP_WAIT_POLICY=PASSIVE for torch).
"""

from __future__ import annotations

import os
import uuid
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from transferkit.backbones.base import Backbone, Batch
from transferkit.errors import ArtifactError, ConfigError, require

EMBED_RUNTIMES = ("auto", "torch", "onnx", "bf16")  # bf16: backbones/bf16_embedder.py; auto: embedding_cache
GRAPH_NAME = "embed.onnx"
MIN_COSINE = 0.9999
MAX_ABS_DIFF = 1e-3
TOKEN_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
# transformers model types whose encoder layers onnxruntime's optimizer fuses (model_type "bert" covers them).
FUSABLE_ENCODERS = {"bert", "roberta", "xlm-roberta", "distilbert", "camembert", "mpnet", "electra"}


def check_embed_runtime(runtime: str) -> str:
    """`runtime` when it is one of EMBED_RUNTIMES, else a ConfigError naming the option."""
    if runtime not in EMBED_RUNTIMES:
        raise ConfigError(f"The 'embed_runtime' option must be one of {', '.join(EMBED_RUNTIMES)}. Got {runtime!r}.")
    return runtime


class _Embedding(nn.Module):
    """Positional tensors in, pooled embeddings out: the graph that is exported."""

    def __init__(self, backbone: Backbone, names: list[str]) -> None:
        super().__init__()
        self.backbone = backbone
        self.names = names

    def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
        if self.names == ["pixels"]:
            return self.backbone(tensors[0])
        return self.backbone(dict(zip(self.names, tensors, strict=True)))


def _named(batch: Batch) -> tuple[list[str], list[torch.Tensor]]:
    if isinstance(batch, dict):
        names = [name for name in TOKEN_INPUTS if name in batch]
        return names, [batch[name] for name in names]
    return ["pixels"], [batch]


def supports_onnx(backbone: Backbone) -> bool:
    """Whether the backbone's frozen stage can run on ONNX Runtime: image backbones and transformers text models."""
    return backbone.modality in ("image", "text") and getattr(backbone, "trainable", True)


class OnnxEmbedder:
    """Embeds backbone batches with onnxruntime; exports the graph into `folder` on first use."""

    def __init__(self, backbone: Backbone, folder: str | Path, *, threads: int | None = None) -> None:
        if not supports_onnx(backbone):
            raise ConfigError(
                f"The ONNX embedding runtime supports image and text backbones; {backbone.spec} "
                f"({backbone.modality}) runs on torch. Drop --embed-runtime onnx."
            )
        self.backbone = backbone
        self.folder = Path(folder)
        self.threads = threads or torch.get_num_threads()
        self._session: Any = None

    @property
    def path(self) -> Path:
        return self.folder / GRAPH_NAME

    def __call__(self, batch: Batch) -> np.ndarray:
        names, tensors = _named(batch)
        if self._session is None:
            if not self.path.is_file():
                self._export(*_named(_export_sample(self.backbone, batch)))
            self._session = self._open(self.path)
        return self._session.run(None, _feeds(names, tensors))[0]

    def _open(self, path: Path) -> Any:
        onnxruntime = require(
            "onnxruntime", extra="export", purpose="The ONNX embedding runtime (--embed-runtime onnx)"
        )
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def _export(self, names: list[str], tensors: list[torch.Tensor]) -> None:
        """Export, fuse where onnxruntime can, check against PyTorch, then rename into place (atomic)."""
        require("onnx", extra="export", purpose="The ONNX embedding runtime (--embed-runtime onnx)")
        self.folder.mkdir(parents=True, exist_ok=True)
        temporary = self.folder / f".{uuid.uuid4().hex}.tmp.onnx"
        try:
            with _eager_attention(self.backbone), torch.inference_mode(False), torch.no_grad():
                self.backbone.eval()
                expected = self.backbone(_as_batch(names, tensors)).float().numpy()
                _export_graph(self.backbone, names, tensors, temporary)
            _fuse_encoder(self.backbone, temporary)
            got = self._open(temporary).run(None, _feeds(names, tensors))[0]
            _check_parity(expected, got, self.backbone.spec)
            os.replace(temporary, self.path)
        finally:
            temporary.unlink(missing_ok=True)


def _feeds(names: list[str], tensors: list[torch.Tensor]) -> dict[str, np.ndarray]:
    return {name: np.ascontiguousarray(tensor.numpy()) for name, tensor in zip(names, tensors, strict=True)}


def _export_sample(backbone: Backbone, batch: Batch) -> Batch:
    """Text: two texts of different lengths, so the traced graph keeps the padding mask (a batch without padding
    could let transformers skip the mask while tracing); images: the first real batch."""
    if isinstance(batch, dict):
        return backbone.load_batch(["An example.", "A longer example sentence, so that the batch has padding."])
    return batch


def _as_batch(names: list[str], tensors: list[torch.Tensor]) -> Batch:
    return tensors[0] if names == ["pixels"] else dict(zip(names, tensors, strict=True))


def trace_to_onnx(module: nn.Module, args: tuple, path: str | Path, *, opset: int = 17, **options: Any) -> None:
    """torch.onnx.export by tracing (the TorchScript exporter), without the tracer's warnings: its notes on Python
    branches taken once (transformers' masks, torchvision's shape checks) are not the user's to act on; every caller
    checks the graph's outputs against PyTorch's after, which is what judges it."""
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, args, str(path), dynamo=False, opset_version=opset, **options)


def _export_graph(backbone: Backbone, names: list[str], tensors: list[torch.Tensor], path: Path) -> None:
    dynamic = {name: {0: "batch"} | ({1: "tokens"} if name in TOKEN_INPUTS else {}) for name in names}
    trace_to_onnx(
        _Embedding(backbone, names).eval(),
        tuple(tensor.contiguous() for tensor in tensors),
        path,
        input_names=names,
        output_names=["embedding"],
        dynamic_axes=dynamic | {"embedding": {0: "batch"}},
    )


class _eager_attention:
    """Export a transformers encoder with eager attention (the pattern onnxruntime fuses); restored after."""

    def __init__(self, backbone: Backbone) -> None:
        self.model = getattr(backbone, "model", None)
        config = getattr(self.model, "config", None)
        self.previous = getattr(config, "_attn_implementation", None)

    def __enter__(self) -> None:
        if self.previous not in (None, "eager") and hasattr(self.model, "set_attn_implementation"):
            self.model.set_attn_implementation("eager")

    def __exit__(self, *exc: object) -> None:
        if self.previous not in (None, "eager") and hasattr(self.model, "set_attn_implementation"):
            self.model.set_attn_implementation(self.previous)


def _fuse_encoder(backbone: Backbone, path: Path) -> None:
    """onnxruntime's transformer optimizer on BERT-family encoders (in place); other graphs are left as exported."""
    config = getattr(getattr(backbone, "model", None), "config", None)
    if getattr(config, "model_type", None) not in FUSABLE_ENCODERS:  # text encoders only: ViT is "vit"
        return
    from onnxruntime.transformers.optimizer import optimize_model

    heads = int(getattr(config, "num_attention_heads", 0) or getattr(config, "n_heads", 0))
    hidden = int(getattr(config, "hidden_size", 0) or getattr(config, "dim", 0))
    optimized = optimize_model(str(path), model_type="bert", num_heads=heads, hidden_size=hidden, opt_level=0)
    optimized.save_model_to_file(str(path))


def _check_parity(expected: np.ndarray, got: np.ndarray, spec: str) -> None:
    cosine = (expected * got).sum(1) / np.maximum(np.linalg.norm(expected, axis=1) * np.linalg.norm(got, axis=1), 1e-12)
    difference = float(np.abs(expected - got).max())
    if float(cosine.min()) < MIN_COSINE or difference > MAX_ABS_DIFF:
        raise ArtifactError(
            f"The ONNX export of {spec} disagrees with PyTorch (min cosine {cosine.min():.6f}, max abs difference "
            f"{difference:.2e}); it was not kept. Use --embed-runtime torch for this backbone."
        )
