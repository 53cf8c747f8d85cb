"""A torch-free bundle of an adapted language model: the merged decoder as ONNX, with past key/values.

The graph takes ``input_ids``, ``attention_mask`` (over past + new tokens), ``position_ids`` and one
``past_key_i`` / ``past_value_i`` pair per layer, and returns ``logits`` and the ``present_*`` cache. The first
step feeds the prompt with an empty cache (length 0); each later step feeds one token, so a generated token
costs one token's forward pass, not the whole sequence's. It is traced with PyTorch's TorchScript exporter
(onnxscript, which the dynamo exporter needs, is not a dependency). After writing, the runtime
(`transferkit.runtime.generator`) greedily continues check prompts and must choose the PyTorch model's tokens.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from transferkit.backbones.onnx_embedder import trace_to_onnx
from transferkit.errors import ArtifactError, ConfigError
from transferkit.generation.api import chat_formatted, format_prompt
from transferkit.generation.folder import load_model
from transferkit.generation.lm import LanguageModel
from transferkit.generation.sampling import Sampling, adds_special_tokens, generate_texts
from transferkit.run_folder import built_aside, write_json
from transferkit.runtime.generator import GENERATOR_FORMAT, GENERATOR_KIND, load_generator
from transferkit.runtime.manifest import BUNDLE_MANIFEST, file_sha256
from transferkit.version import __version__

GRAPH = "decoder.onnx"
TOKENIZER = "tokenizer.json"
LOGIT_TOLERANCE = 1e-3  # fp32: ONNX Runtime fuses and reorders the matmuls
CHECK_TOKENS = 16
DEFAULT_CHECK_PROMPTS = ("The coffee was", "My dog likes", "This product is")
SENTINEL = "\u241fPROMPT\u241f"  # stands for the user's prompt while the chat template is rendered


@dataclass(frozen=True)
class GeneratorExport:
    path: Path
    max_abs_diff: float
    tolerance: float
    checked_prompts: int
    tokens_agree: float
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def summary(self) -> str:
        return (
            f"Wrote the language-model bundle {self.path} (decoder with past key/values, tokenizer.json); "
            f"greedy tokens of the runtime vs PyTorch on {self.checked_prompts} prompt(s): {self.tokens_agree:.0%} "
            f"the same; first-step logits max abs difference {self.max_abs_diff:.2e} (limit {self.tolerance:.0e})"
        )


class _DecoderStep(torch.nn.Module):
    """The model with its cache as flat tensors in and out (ONNX graphs take tensors, not Cache objects)."""

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.model = model
        self.layers = int(model.config.num_hidden_layers)

    def forward(self, input_ids, attention_mask, position_ids, *past):
        from transformers import DynamicCache

        cache = DynamicCache(config=self.model.config)
        for index in range(self.layers):
            cache.update(past[2 * index], past[2 * index + 1], index)
        out = self.model(
            input_ids=input_ids,
            attention_mask=attention_mask,
            position_ids=position_ids,
            past_key_values=cache,
            use_cache=True,
        )
        present = [tensor for layer in out.past_key_values.layers for tensor in (layer.keys, layer.values)]
        return (out.logits, *present)


def cache_shape(model: Any) -> dict[str, int]:
    """Layers, key/value heads and head size of the model's attention cache."""
    config = model.config
    heads = int(config.num_attention_heads)
    head_dim = int(getattr(config, "head_dim", None) or config.hidden_size // heads)
    return {
        "layers": int(config.num_hidden_layers),
        "kv_heads": int(getattr(config, "num_key_value_heads", None) or heads),
        "head_dim": head_dim,
    }


def _names(layers: int, prefix: str) -> list[str]:
    return [f"{prefix}_{kind}_{index}" for index in range(layers) for kind in ("key", "value")]


def export_decoder(model: Any, path: Path) -> None:
    """Trace `model` (a plain causal LM, adapters merged) into an ONNX decoder step with past key/values."""
    shape = cache_shape(model)
    layers = shape["layers"]
    batch, new, old = 1, 3, 2
    ids = torch.ones((batch, new), dtype=torch.long)
    mask = torch.ones((batch, old + new), dtype=torch.long)
    positions = torch.arange(old, old + new).unsqueeze(0)
    past = [torch.zeros((batch, shape["kv_heads"], old, shape["head_dim"])) for _ in range(2 * layers)]
    axes: dict[str, dict[int, str]] = {
        "input_ids": {0: "batch", 1: "new"},
        "attention_mask": {0: "batch", 1: "total"},
        "position_ids": {0: "batch", 1: "new"},
        "logits": {0: "batch", 1: "new"},
    }
    axes |= {name: {0: "batch", 2: "past"} for name in _names(layers, "past")}
    axes |= {name: {0: "batch", 2: "total"} for name in _names(layers, "present")}
    trace_to_onnx(
        _DecoderStep(model.eval()),
        (ids, mask, positions, *past),
        path,
        input_names=["input_ids", "attention_mask", "position_ids", *_names(layers, "past")],
        output_names=["logits", *_names(layers, "present")],
        dynamic_axes=axes,
    )


def prompt_format(lm: LanguageModel, manifest: dict[str, Any]) -> dict[str, Any]:
    """How the runtime writes a prompt: the text around it (the chat template rendered around a placeholder)."""
    formatted = format_prompt(lm, manifest, SENTINEL)
    prefix, found, suffix = formatted.partition(SENTINEL)
    if not found:
        raise ArtifactError("The tokenizer's chat template drops the user's message; this model cannot be bundled.")
    special = adds_special_tokens(lm, chat_formatted(manifest))  # as generation in PyTorch adds them
    return {"prefix": prefix, "suffix": suffix, "add_special_tokens": special}


def _settings(lm: LanguageModel, manifest: dict[str, Any]) -> dict[str, Any]:
    pairs = manifest["task"]["name"] == "seq2seq-pairs"
    eos = lm.tokenizer.eos_token_id
    return {
        "kind": GENERATOR_KIND,
        "format": GENERATOR_FORMAT,
        "task": manifest["task"],
        "base": manifest["base"],
        "graph": GRAPH,
        "tokenizer": TOKENIZER,
        "cache": cache_shape(lm.model),
        "eos_token_ids": [int(eos)] if eos is not None else [],
        "pad_token_id": int(lm.tokenizer.pad_token_id),
        "context_window": lm.context_window,
        "prompt_format": prompt_format(lm, manifest),
        "generation": {"max_new_tokens": 64, "stop": ["\n\n"] if pairs and not lm.has_chat_template else []},
        "transferkit_version": __version__,
    }


def _check_prompts(model_dir: Path, prompts: list[str] | None) -> list[str]:
    if prompts:
        return list(prompts)
    metrics = model_dir.parent / "metrics.json"  # the run's held-out sample prompts, when the folder sits in a run
    try:
        found = [row["prompt"] for row in json.loads(metrics.read_text(encoding="utf-8")).get("samples", [])]
    except (OSError, ValueError, KeyError, TypeError):
        found = []
    return [prompt for prompt in found if prompt][:4] or list(DEFAULT_CHECK_PROMPTS)


@torch.no_grad()
def compare(lm: LanguageModel, manifest: dict[str, Any], bundle: Path, prompts: list[str]) -> dict[str, Any]:
    """Greedy tokens of the runtime and of PyTorch (transformers' generate) on the same prompts, and the
    first step's largest logit difference."""
    generator = load_generator(bundle)
    encoded = [generator.encode(prompt) for prompt in prompts]
    ours = generator.generate_ids(encoded, max_new_tokens=CHECK_TOKENS)
    sampling = Sampling(max_new_tokens=CHECK_TOKENS)
    theirs, difference = [], 0.0
    for ids in encoded:
        tensor = torch.tensor([ids])
        out = lm.model.generate(
            input_ids=tensor,
            attention_mask=torch.ones_like(tensor),
            pad_token_id=lm.tokenizer.pad_token_id,
            eos_token_id=lm.tokenizer.eos_token_id,
            **sampling.kwargs(),
        )
        theirs.append(out[0, len(ids) :].tolist())
        logits = lm.model(input_ids=tensor).logits[0, -1].numpy()
        feeds = generator.first_step_logits([ids])[0]
        difference = max(difference, float(abs(logits - feeds).max()))
    same = sum(a == b for a, b in zip(ours, theirs, strict=True))
    formatted = [format_prompt(lm, manifest, p) for p in prompts]
    texts = generate_texts(lm, formatted, sampling=sampling, chat_formatted=chat_formatted(manifest))
    return {
        "prompts": prompts,
        "tokens_agree": same / len(prompts),
        "max_abs_diff": difference,
        "runtime_tokens": ours,
        "torch_tokens": theirs,
        "torch_texts": texts,
        "runtime_texts": generator.generate(prompts, max_new_tokens=CHECK_TOKENS, stop=[]),
    }


def _merged(lm: LanguageModel) -> Any:
    return lm.model.merge_and_unload() if hasattr(lm.model, "peft_config") else lm.model


def export_generator(
    model: str | Path, bundle: str | Path, *, check_prompts: list[str] | None = None
) -> GeneratorExport:
    """Write the torch-free bundle of a language-model folder and check the runtime's greedy tokens against
    PyTorch's on a few prompts (the run's sample prompts by default).
    """
    target = Path(bundle)
    if target.exists() and any(target.iterdir()):
        raise ConfigError(f"{target} exists and is not empty; choose a new folder for the bundle.")
    lm, manifest = load_model(model)
    lm.model = _merged(lm).eval()
    with built_aside(target) as staging:
        export_decoder(lm.model, staging / GRAPH)
        lm.tokenizer.backend_tokenizer.save(str(staging / TOKENIZER))
        record = _settings(lm, manifest)
        record["files"] = {name: file_sha256(staging / name) for name in (GRAPH, TOKENIZER)}
        write_json(staging / BUNDLE_MANIFEST, record)
        checked = compare(lm, manifest, staging, _check_prompts(Path(model), check_prompts))
        if checked["max_abs_diff"] > LOGIT_TOLERANCE:
            raise ArtifactError(
                f"The ONNX decoder's logits differ from PyTorch's by {checked['max_abs_diff']:.2e} "
                f"(> {LOGIT_TOLERANCE}); the export is not trustworthy. Report this with the model's config.json."
            )
        record["parity"] = {k: checked[k] for k in ("prompts", "tokens_agree", "max_abs_diff")}
        write_json(staging / BUNDLE_MANIFEST, record)
    return GeneratorExport(
        target, checked["max_abs_diff"], LOGIT_TOLERANCE, len(checked["prompts"]), checked["tokens_agree"], checked
    )
