"""Backbone registry: `register_backbone(name, factory)` and `create_backbone(spec)`."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass

from transferkit.backbones.base import Backbone
from transferkit.errors import BackboneError, ConfigError

BackboneFactory = Callable[..., Backbone]


@dataclass(frozen=True)
class BackboneEntry:
    name: str
    factory: BackboneFactory
    modality: str
    description: str
    parameters: str
    input: str
    offline: bool


_REGISTRY: dict[str, BackboneEntry] = {}


def register_backbone(
    name: str,
    factory: BackboneFactory,
    *,
    modality: str,
    description: str,
    parameters: str,
    input: str,
    offline: bool,
) -> None:
    """Add a backbone under a spec name such as ``bundled:minilm``; a duplicate name raises.

    Example:
        >>> register_backbone("bundled:mine", my_factory, modality="text", description="...",
        ...                   parameters="22.7M", input="text, 128 tokens", offline=True)  # doctest: +SKIP
    """
    if name in _REGISTRY:
        raise ConfigError(f"A backbone named '{name}' is already registered; choose another name.")
    _REGISTRY[name] = BackboneEntry(name, factory, modality, description, parameters, input, offline)


def list_backbones() -> list[BackboneEntry]:
    return [_REGISTRY[name] for name in sorted(_REGISTRY)]


def backbone_entry(spec: str) -> BackboneEntry:
    if spec in _REGISTRY:
        return _REGISTRY[spec]
    close = difflib.get_close_matches(spec, list(_REGISTRY), n=1, cutoff=0.4)
    hint = f"did you mean '{close[0]}'? " if close else ""
    raise BackboneError(
        f"Unknown backbone '{spec}'; {hint}available: {', '.join(sorted(_REGISTRY))} "
        "(`transferkit backbones` lists them)."
    )


def create_backbone(spec: str, **options: object) -> Backbone:
    """Build the backbone a spec names, with its pretrained weights and preprocessing.

    Example:
        >>> backbone = create_backbone("bundled:minilm", max_length=128)  # doctest: +SKIP
        >>> backbone.num_features
        384
    """
    entry = backbone_entry(spec)
    return entry.factory(spec=spec, **options)
