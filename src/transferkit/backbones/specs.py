"""Backbone spec syntax: ``SOURCE:NAME[@WEIGHTS]``.

Sources: ``bundled:`` (offline weights in packages), ``timm:``, ``torchvision:``, ``hf:`` (hub id or
folder) and ``path:`` (a folder saved by transferkit, transformers or timm). ``@WEIGHTS`` names a local
weights file (safetensors, or a .pth that torch.load reads with weights_only=True) for the hub sources,
so the spec alone rebuilds the same backbone later.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from transferkit.errors import BackboneError

SOURCES = ("bundled", "timm", "torchvision", "hf", "path")


@dataclass(frozen=True)
class ParsedSpec:
    source: str
    name: str
    weights: str | None = None

    def __str__(self) -> str:
        return f"{self.source}:{self.name}" + (f"@{self.weights}" if self.weights else "")


def parse_spec(spec: str) -> ParsedSpec:
    """Split a backbone spec into source, name and optional weights file.

    Example:
        >>> parse_spec("timm:resnet18@w.safetensors")
        ParsedSpec(source='timm', name='resnet18', weights='w.safetensors')
    """
    source, sep, rest = spec.partition(":")
    if not sep or not rest or source not in SOURCES:
        raise BackboneError(
            f"Backbone spec '{spec}' must look like SOURCE:NAME with SOURCE one of {', '.join(SOURCES)} "
            "(e.g. timm:resnet50, hf:bert-base-uncased, path:./my_model, bundled:minilm)."
        )
    name, at, weights = rest.partition("@")
    if at and not weights:
        raise BackboneError(f"Backbone spec '{spec}' ends with '@'; write NAME@path/to/weights.safetensors.")
    return ParsedSpec(source, name, weights or None)


def with_weights(spec: str, weights: str | Path | None) -> str:
    """The spec with a local weights file attached (absolute path, so a saved model finds it again)."""
    if weights is None:
        return spec
    parsed = parse_spec(spec)
    if parsed.source not in ("timm", "torchvision", "hf"):
        raise BackboneError(f"A weights file can only be given for timm:, torchvision: or hf: backbones, not '{spec}'.")
    return str(ParsedSpec(parsed.source, parsed.name, str(Path(weights).expanduser().resolve())))


def absolute_path_spec(spec: str) -> str:
    """``path:DIR`` with DIR made absolute (other specs unchanged), so the spec works from any folder."""
    parsed = parse_spec(spec)
    if parsed.source != "path":
        return spec
    return f"path:{Path(parsed.name).expanduser().resolve()}"
