"""Export of an adapted language model: ``--format onnx`` (the default) writes a torch-free bundle (the merged
decoder as ONNX with past key/values, see `transferkit.generation.onnx_export`); ``--format transformers`` writes
the adapter merged into the base weights as a plain transformers folder (safetensors + config + tokenizer) that
any transformers user, or ``hf:DIR`` here, loads without peft.

The merge is checked: the merged model's logits on a held-in prompt must match the adapter-on-base model's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from transferkit.errors import ArtifactError, ConfigError
from transferkit.generation.folder import load_model
from transferkit.run_folder import built_aside

PARITY_TOLERANCE = 1e-3  # fp32 logits; merging reorders the additions (W x + B A x vs (W + B A) x)


FORMATS = ("onnx", "transformers")


@dataclass(frozen=True)
class MergedExport:
    path: Path
    max_abs_diff: float
    tolerance: float

    @property
    def summary(self) -> str:
        return (
            f"Wrote {self.path} (a transformers folder, safetensors: the adapter merged into the base); its logits "
            f"match the adapter-on-base model's within {self.max_abs_diff:.1e} (limit {self.tolerance:.0e})"
        )


def export_language_model(
    model: str | Path,
    *,
    format: str = "onnx",
    bundle: str | Path | None = None,
    output: str | Path | None = None,
    check_prompts: list[str] | None = None,
    **_: Any,
) -> Any:
    """`transferkit export` on a language-model folder: an ONNX bundle (onnx) or a merged transformers folder."""
    if format not in FORMATS:
        raise ConfigError(
            f"A language model exports as --format onnx (a torch-free bundle) or transformers; not {format}."
        )
    if format == "transformers":
        return export_merged(model, bundle=bundle, output=output)
    target = bundle or output
    if target is None:
        raise ConfigError("Exporting a language model to ONNX needs --bundle DIR: the bundle folder to write.")
    from transferkit.generation.onnx_export import export_generator

    return export_generator(model, target, check_prompts=check_prompts)


def export_merged(
    model: str | Path, *, bundle: str | Path | None = None, output: str | Path | None = None, **_: Any
) -> MergedExport:
    """Write the merged model of a language-model folder to `bundle` (or `output`) and check its logits."""
    target = bundle or output
    if target is None:
        raise ConfigError("Exporting a language model needs --bundle DIR: the merged transformers folder to write.")
    target = Path(target)
    if target.exists() and any(target.iterdir()):
        raise ConfigError(f"{target} exists and is not empty; choose a new folder for the export.")
    lm, _ = load_model(model)
    probe = lm.tokenizer(["The quick brown fox"], return_tensors="pt")
    with torch.no_grad():
        before = lm.model(**probe).logits
    merged = lm.model.merge_and_unload() if hasattr(lm.model, "peft_config") else lm.model
    with torch.no_grad():
        after = merged(**probe).logits
    difference = float((before - after).abs().max())
    if difference > PARITY_TOLERANCE:
        raise ArtifactError(f"Merging the adapter changed the logits by {difference:.2e} (> {PARITY_TOLERANCE}).")
    with built_aside(target) as staging:
        merged.save_pretrained(staging, safe_serialization=True)
        lm.tokenizer.save_pretrained(staging)
    return MergedExport(target, difference, PARITY_TOLERANCE)
