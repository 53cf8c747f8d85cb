"""Backbone registry: named backbones (``register_backbone``) and spec sources (``timm:``, ``hf:``, ...)."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, replace

from transferkit.backbones.base import Backbone
from transferkit.backbones.specs import SOURCES, absolute_path_spec, parse_spec, with_weights
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
    generates: bool = False  # a causal LM whose text generation transferkit can adapt (fit --task causal-lm)
    student: bool = False  # only a distillation student (a cut encoder): left out of listings, rank and recommend


@dataclass(frozen=True)
class BackboneSource:
    """A spec prefix such as ``timm`` whose names are resolved on demand rather than listed."""

    prefix: str
    factory: BackboneFactory
    modality: Callable[[str], str]  # spec -> "image" / "text" / "audio"
    description: str


_REGISTRY: dict[str, BackboneEntry] = {}
_SOURCES: dict[str, BackboneSource] = {}


def register_backbone(
    name: str,
    factory: BackboneFactory,
    *,
    modality: str,
    description: str,
    parameters: str,
    input: str,
    offline: bool,
    generates: bool = False,
    student: bool = False,
) -> None:
    """Add a backbone under a spec name such as ``bundled:minilm``; a duplicate name raises.

    Example::

        register_backbone("bundled:mine", my_factory, modality="text", description="...",
                          parameters="22.7M", input="text, 128 tokens", offline=True)
    """
    if name in _REGISTRY:
        raise ConfigError(f"A backbone named '{name}' is already registered; choose another name.")
    _REGISTRY[name] = BackboneEntry(
        name, factory, modality, description, parameters, input, offline, generates, student
    )


def unregister_backbone(name: str) -> None:
    """Remove a backbone registered under `name` (a plugin or a test that registered one for a while)."""
    if _REGISTRY.pop(name, None) is None:
        raise ConfigError(f"No backbone named '{name}' is registered.")


def register_source(prefix: str, factory: BackboneFactory, *, modality: Callable[[str], str], description: str) -> None:
    """Resolve every spec ``PREFIX:...`` with `factory` (called as ``factory(spec=..., **options)``)."""
    if prefix in _SOURCES:
        raise ConfigError(f"A backbone source '{prefix}:' is already registered.")
    _SOURCES[prefix] = BackboneSource(prefix, factory, modality, description)


def list_backbones(*, modality: str | None = None, students: bool = False) -> list[BackboneEntry]:
    """Registered backbones by name; with `modality`, only those that read it. Distillation-only students (cut
    encoders such as bundled:minilm-l2, poor frozen feature extractors) are left out unless `students`."""
    return [
        entry
        for entry in (_REGISTRY[name] for name in sorted(_REGISTRY))
        if modality in (None, entry.modality) and (students or not entry.student)
    ]


def list_sources() -> list[BackboneSource]:
    return [_SOURCES[prefix] for prefix in sorted(_SOURCES)]


def backbone_entry(spec: str) -> BackboneEntry:
    """The registry entry for a spec: a named backbone, or one resolved by its source (``timm:``, ``hf:``, ...)."""
    if spec in _REGISTRY:
        return _REGISTRY[spec]
    prefix = spec.partition(":")[0]
    if prefix in _SOURCES and prefix != "bundled":
        parsed = parse_spec(spec)
        base = _REGISTRY.get(f"{parsed.source}:{parsed.name}")
        if base is not None:
            return replace(base, name=spec, offline=base.offline or parsed.weights is not None)
        source = _SOURCES[prefix]
        return BackboneEntry(
            name=spec,
            factory=source.factory,
            modality=source.modality(spec),
            description=source.description,
            parameters="?",
            input="from the weights' config",
            offline=parsed.weights is not None or prefix == "path",
        )
    close = difflib.get_close_matches(spec, list(_REGISTRY), n=1, cutoff=0.4)
    hint = f"did you mean '{close[0]}'? " if close else ""
    raise BackboneError(
        f"Unknown backbone '{spec}'; {hint}available: {', '.join(sorted(_REGISTRY))}, or any "
        f"{', '.join(p + ':NAME' for p in sorted(_SOURCES) if p != 'bundled')} "
        "(`transferkit backbones` lists them)."
    )


def can_generate(spec: str) -> bool:
    """Whether a backbone generates text: a registered causal LM, or an ``hf:`` / ``path:`` folder or cached hub
    model whose config is a causal LM (read from local files; unknown -> False).

    Example:
        >>> can_generate("bundled:smollm2-135m"), can_generate("bundled:minilm")
        (True, False)
    """
    from transferkit.backbones.hf_hub import model_kind, read_hf_config

    try:  # an hf: entry reads the model's config already (its modality); a folder without one is not a model
        entry = backbone_entry(spec)
        if entry.generates or spec.partition(":")[0] not in ("hf", "path"):
            return entry.generates
        return model_kind(read_hf_config(parse_spec(spec).name, spec)) == "decoder"
    except (BackboneError, OSError, ValueError):
        return False


def create_backbone(spec: str, *, weights: str | None = None, **options: object) -> Backbone:
    """Build the backbone a spec names, with its pretrained weights and preprocessing.

    Args:
        spec: ``bundled:NAME``, ``timm:NAME``, ``torchvision:NAME``, ``hf:ID_OR_DIR`` or ``path:DIR``;
            ``@FILE`` after the name loads a local weights file instead of downloading.
        weights: A local weights file, same as ``@FILE`` in the spec.
        **options: Passed to the factory (``max_length=`` for text; image backbones ignore it).

    Example::

        backbone = create_backbone("bundled:minilm", max_length=128)
        backbone.num_features  # 384
    """
    if spec.partition(":")[0] in SOURCES:
        spec = absolute_path_spec(with_weights(spec, weights))
    entry = backbone_entry(spec)
    return entry.factory(spec=spec, **options)
