"""The modality registry: modalities register by name; a duplicate raises, an unknown name lists the choices."""

from __future__ import annotations

from transferkit.errors import ConfigError
from transferkit.modalities.base import Modality

_REGISTRY: dict[str, Modality] = {}
ALIASES = {"table": "tabular"}  # older configs and adaptation runs wrote "table"


def register_modality(modality: Modality) -> Modality:
    """Add a modality; its name must be new (re-registering would silently change other runs' behaviour).

    Example:
        >>> from dataclasses import replace
        >>> register_modality(replace(get_modality("text"), name="text"))
        Traceback (most recent call last):
        ...
        ValueError: Modality 'text' is already registered.
    """
    if modality.name in _REGISTRY or modality.name in ALIASES:
        raise ValueError(f"Modality '{modality.name}' is already registered.")
    _REGISTRY[modality.name] = modality
    return modality


def canonical_modality(name: str) -> str:
    """The registered name for `name`, mapping the old alias "table" to "tabular".

    Example:
        >>> canonical_modality("table")
        'tabular'
    """
    return ALIASES.get(name, name)


def get_modality(name: str) -> Modality:
    """The registered modality called `name` (or its alias); ConfigError naming the choices otherwise.

    Example:
        >>> get_modality("text").default_backbone
        'bundled:minilm'
    """
    found = _REGISTRY.get(canonical_modality(name))
    if found is None:
        raise ConfigError(f"Unknown modality '{name}'; choose one of {', '.join(available_modalities())}.")
    return found


def unregister_modality(name: str) -> None:
    """Remove a modality registered under `name` (a plugin, or a test that registered one for a while)."""
    if _REGISTRY.pop(name, None) is None:
        raise ConfigError(f"No modality named '{name}' is registered.")


def available_modalities() -> list[str]:
    """Registered modality names, sorted."""
    return sorted(_REGISTRY)
